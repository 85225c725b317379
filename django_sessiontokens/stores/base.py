"""The storage interface every engine implements, and the record it stores.

A store knows nothing of Django's session API; it persists ``SessionRecord``
objects by public id and indexes them by user. Expiry rules live in
``core.policy`` and reach the store as ``Cutoffs`` (bounds the store looks up
by index or score); ending sessions (with signals) lives in ``services``.

Rotation to a new public id is two steps, so that ending a session is final
even against a request that is rotating it: ``mark_moving`` turns the live
record into a *moving* tombstone (its token stops working at once; ``get``
returns ``None`` for it, ``delete`` and ``for_user`` still see it), and
``replace`` later removes the tombstone and inserts the new record only if
the tombstone is still there. An ending that ran in between deleted the
tombstone, so the rotation creates nothing.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django_sessiontokens.types import MOVING, UPDATABLE, EndedEvent, SessionRecord

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs
    from django_sessiontokens.stores.bindings import BindingStore
    from django_sessiontokens.types import DeviceBinding

__all__ = ["SEARCH_COUNT_LIMIT", "UPDATABLE", "BaseStore", "Selection", "SessionRecord"]

#: ``search`` counts matches up to this many; a larger total is reported as
#: ``SEARCH_COUNT_LIMIT + 1`` ("more than"), so a listing costs in proportion
#: to its page, not to all sessions.
SEARCH_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Selection:
    """Which sessions: these ``ids``; or every one of ``user_id`` but
    ``keep``, and, unless ``impersonated``, but those with an impersonator."""

    ids: Sequence[str] = ()
    user_id: str | None = None
    keep: str | None = None
    impersonated: bool = True

    def wants(self, record: SessionRecord) -> bool:
        return record.public_id != self.keep and (
            self.impersonated or record.impersonator_id is None
        )


class BaseStore(abc.ABC):
    """Persistence of session records. All methods are synchronous; the
    Django adapter offers the async twins."""

    #: Name used in logs and benchmarks.
    name: ClassVar[str] = "base"

    def database_alias(self) -> str | None:
        """The database whose transactions hold this store's deletions, so
        that what records them (the audit trail) commits with them; ``None``
        when the store is not a database."""
        return None

    @abc.abstractmethod
    def get(self, public_id: str) -> SessionRecord | None:
        """The record, or ``None`` (also for a moving tombstone). Exactly one
        storage round trip."""

    def peek(self, public_id: str) -> SessionRecord | None:
        """``get``, but a moving tombstone is returned too (so that ending
        a session by a token that is being rotated away still ends it).
        Stores whose ``get`` filters tombstones override this."""
        return self.get(public_id)

    def get_with_binding(
        self, public_id: str, bindings: BindingStore
    ) -> tuple[SessionRecord | None, DeviceBinding | None]:
        """``get``, and the session's device binding from ``bindings`` (DBSC).
        Stores that can read both in one round trip override this; here the
        binding is read only for a signed-in session."""
        record = self.get(public_id)
        if record is None or record.user_id is None:
            return record, None
        return record, bindings.get(public_id)

    @abc.abstractmethod
    def create(self, record: SessionRecord) -> None:
        """Insert; ``CreateError`` if the public id exists."""

    @abc.abstractmethod
    def update(
        self,
        public_id: str,
        changes: dict[str, Any],
        *,
        base: SessionRecord | None = None,
    ) -> None:
        """Change ``UPDATABLE`` fields; ``UpdateError`` if the session is gone.
        Never creates. ``base`` is the record (as ``get`` returned it) the
        changes were computed from: a store serving copies refuses a write
        computed from a copy older than its source (``StaleCopy``)."""

    @abc.abstractmethod
    def rotate(
        self, public_id: str, expected_hash: str, changes: dict[str, Any]
    ) -> bool:
        """Compare-and-set the secret: apply ``changes`` (which may include
        the secret and rotation fields) only if the current secret hash is
        still ``expected_hash``. ``False`` when another request won."""

    def mark_moving(self, public_id: str, expected_hash: str) -> bool:
        """Turn the live record into a moving tombstone (``secret_hash``
        becomes ``MOVING + secret_hash``) if its secret hash is still
        ``expected_hash``. ``False`` when it is gone or changed meanwhile.
        This default is the compare-and-set of ``rotate``."""
        if expected_hash.startswith(MOVING):
            return False
        return self.rotate(
            public_id, expected_hash, {"secret_hash": MOVING + expected_hash}
        )

    def replace(self, old_public_id: str, record: SessionRecord) -> bool:
        """Remove ``old_public_id`` (a tombstone left by ``mark_moving``) and
        insert ``record``, only if the old one is still stored; ``False``
        (nothing inserted) when it is gone, i.e. the session was ended.
        ``CreateError`` if the new public id is taken.

        This default is correct on any store without atomicity: it inserts
        first, then removes the old record, and takes the insert back when
        the old record was already gone (nobody has the new token yet)."""
        self.create(record)
        if self.delete([old_public_id]):
            return True
        self.delete([record.public_id])
        return False

    @abc.abstractmethod
    def delete(self, public_ids: Sequence[str]) -> list[SessionRecord]:
        """Remove these sessions (tombstones included); return the records
        that existed."""

    def end(
        self, selection: Selection, event: EndedEvent | None = None
    ) -> tuple[list[SessionRecord], list[SessionRecord]]:
        """Remove the selected sessions (tombstones included):
        ``(records removed, those whose audit rows are still to write)``. A
        store that can write ``event``'s rows with the removal, atomically,
        does (and returns fewer, usually none, to write); this default
        removes (``for_user``, ``delete``) and leaves all rows to the
        caller."""
        ids = list(selection.ids)
        if selection.user_id is not None:
            records = self.for_user(selection.user_id)
            ids = [record.public_id for record in records if selection.wants(record)]
        removed = self.delete(ids) if ids else []
        return removed, removed

    @abc.abstractmethod
    def for_user(self, user_id: str) -> list[SessionRecord]:
        """The user's stored records (expired ones and tombstones included:
        callers decide with ``core.policy``), newest activity first. Costs
        time in proportion to that user's sessions."""

    @abc.abstractmethod
    def purge_expired(
        self, cutoffs: Cutoffs, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        """Remove the sessions ``cutoffs`` says are expired, batch by batch,
        yielding each batch's records (without data) as it goes."""

    def purge_batch_size(self) -> int:
        """Default rows per purge batch on this store."""
        return 5000

    def purge_expired_quietly(
        self, cutoffs: Cutoffs, *, batch_size: int
    ) -> Iterator[int]:
        """``purge_expired`` when nobody needs the records (no signals, no
        dry run): yields each batch's count. Stores override it with
        something cheaper."""
        for batch in self.purge_expired(cutoffs, batch_size=batch_size):
            yield len(batch)

    @abc.abstractmethod
    def count(self) -> int:
        """How many sessions are stored (expired ones included)."""

    @abc.abstractmethod
    def search(
        self,
        cutoffs: Cutoffs,
        *,
        user_ids: Sequence[str] | None = None,
        ip: str | None = None,
        state: str = "active",
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[SessionRecord]]:
        """Signed-in sessions (those with a user) for listings such as the
        admin, most recently active first: ``(total, page)``. ``user_ids``
        restricts to those users (an empty list matches nothing); ``ip`` is an
        exact match on the recorded address; ``state`` is ``"active"`` (alive
        under ``cutoffs``), ``"expired"`` or ``"all"``. Records come without
        ``data``. Costs in proportion to the page: the total is exact up to
        ``SEARCH_COUNT_LIMIT``, else ``SEARCH_COUNT_LIMIT + 1``."""

    def count_expired(self, cutoffs: Cutoffs) -> int:
        """How many sessions ``purge_expired`` would remove."""
        return sum(
            len(batch)
            for batch in self.purge_expired(cutoffs, batch_size=10_000, dry_run=True)
        )

    def all(self) -> Iterator[SessionRecord]:
        """Every stored record (for listings and tests); may be slow."""
        raise NotImplementedError

    def create_many(self, records: Sequence[SessionRecord]) -> list[str]:
        """Insert the records whose public id is free (imports); return the
        public ids inserted. Engines may override this with a bulk insert."""
        from django_sessiontokens.exceptions import CreateError

        created: list[str] = []
        for record in records:
            try:
                self.create(record)
            except CreateError:
                continue
            created.append(record.public_id)
        return created
