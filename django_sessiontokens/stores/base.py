"""The storage interface every engine implements, and the record it stores.

A store knows nothing of Django's session API; it persists ``SessionRecord``
objects by public id and indexes them by user. Expiry rules live in
``policy``; ending sessions (with signals) lives in ``services``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

#: Columns a plain update may change. Secrets change only through ``rotate``.
UPDATABLE = frozenset(
    {
        "data",
        "user_id",
        "authenticated_at",
        "last_activity",
        "expires_at",
        "ip",
        "user_agent",
    }
)


@dataclass
class SessionRecord:
    """One session as stored. ``user_id`` is the user's pk as a string."""

    public_id: str
    secret_hash: str
    created_at: datetime
    last_activity: datetime
    expires_at: datetime
    data: str = ""
    user_id: str | None = None
    authenticated_at: datetime | None = None
    ip: str | None = None
    user_agent: str = ""
    #: Periodic rotation: hashes of earlier secrets, newest first, separated by
    #: spaces (the first is the immediate predecessor, honoured for the grace
    #: window; older ones mean theft), when the last rotation happened, and
    #: the current secret sealed under its predecessor (``tokens.seal``).
    retired_hashes: str = ""
    rotated_at: datetime | None = None
    sealed_secret: str = ""

    def __repr__(self) -> str:
        return f"<SessionRecord {self.public_id} user={self.user_id}>"

    def replace(self, **changes: Any) -> SessionRecord:
        """A copy with these fields changed."""
        unknown = changes.keys() - _FIELD_NAMES
        if unknown:
            raise TypeError(f"SessionRecord has no field {sorted(unknown)}")
        copy = object.__new__(SessionRecord)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


_FIELD_NAMES = frozenset(SessionRecord.__dataclass_fields__)


class BaseStore(abc.ABC):
    """Persistence of session records. All methods are synchronous; the
    Django adapter offers the async twins."""

    #: Name used in logs and benchmarks.
    name: ClassVar[str] = "base"

    @abc.abstractmethod
    def get(self, public_id: str) -> SessionRecord | None:
        """The record, or ``None``. Exactly one storage round trip."""

    @abc.abstractmethod
    def create(self, record: SessionRecord) -> None:
        """Insert; ``CreateError`` if the public id exists."""

    @abc.abstractmethod
    def update(self, public_id: str, changes: dict[str, Any]) -> None:
        """Change ``UPDATABLE`` fields; ``UpdateError`` if the session is gone.
        Never creates."""

    @abc.abstractmethod
    def rotate(
        self, public_id: str, expected_hash: str, changes: dict[str, Any]
    ) -> bool:
        """Compare-and-set the secret: apply ``changes`` (which may include
        the secret and rotation fields) only if the current secret hash is
        still ``expected_hash``. ``False`` when another request won."""

    @abc.abstractmethod
    def delete(self, public_ids: Sequence[str]) -> list[SessionRecord]:
        """Remove these sessions; return the records that existed."""

    @abc.abstractmethod
    def for_user(self, user_id: str) -> list[SessionRecord]:
        """The user's sessions (expired ones included), newest activity first.
        Costs time in proportion to that user's sessions."""

    @abc.abstractmethod
    def purge_expired(
        self, now: datetime, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        """Remove sessions whose ``expires_at`` has passed, batch by batch,
        yielding each batch's records (without data) as it goes."""

    def purge_batch_size(self) -> int:
        """Default rows per purge batch on this store."""
        return 5000

    def purge_expired_quietly(self, now: datetime, *, batch_size: int) -> Iterator[int]:
        """``purge_expired`` when nobody needs the records (no signals, no
        dry run): yields each batch's count. Stores override it with
        something cheaper."""
        for batch in self.purge_expired(now, batch_size=batch_size):
            yield len(batch)

    @abc.abstractmethod
    def count(self) -> int:
        """How many sessions are stored (expired ones included)."""

    @abc.abstractmethod
    def search(
        self,
        *,
        now: datetime,
        user_ids: Sequence[str] | None = None,
        ip: str | None = None,
        state: str = "active",
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[SessionRecord]]:
        """Signed-in sessions (those with a user) for listings such as the
        admin, most recently active first: ``(total, page)``. ``user_ids``
        restricts to those users (an empty list matches nothing); ``ip`` is an
        exact match on the recorded address; ``state`` is ``"active"`` (not
        expired at ``now``), ``"expired"`` or ``"all"``. Records come
        without ``data``."""

    def count_expired(self, now: datetime) -> int:
        return sum(
            len(batch)
            for batch in self.purge_expired(now, batch_size=10_000, dry_run=True)
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
