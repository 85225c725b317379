"""Where device bindings (DBSC) live: records of their own, keyed by the
session's public id, beside the sessions and never inside their data.

Every change is a compare-and-set on ``version``, so a registration, a
refresh and a page load racing each other never overwrite one another's
work: the loser reads again and decides again. The database store serves
the db and cached_db engines; the Redis store the redis engine
(``registry.binding_store``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from django_sessiontokens.types import DeviceBinding


class BindingStore(abc.ABC):
    @abc.abstractmethod
    def get(self, public_id: str) -> DeviceBinding | None:
        """The session's binding, or ``None``. One round trip."""

    @abc.abstractmethod
    def get_many(self, public_ids: Sequence[str]) -> dict[str, DeviceBinding]:
        """The bindings of these sessions (for listings), one round trip."""

    @abc.abstractmethod
    def save(
        self, binding: DeviceBinding, *, expected: int | None
    ) -> DeviceBinding | None:
        """Compare-and-set: store ``binding`` only if the stored version is
        still ``expected`` (``None``: only if there is none). Returns what
        was stored (its ``version`` moved on), or ``None`` when another
        request changed it first."""

    @abc.abstractmethod
    def delete(self, public_ids: Sequence[str]) -> None:
        """Remove these sessions' bindings (unknown ids are skipped)."""

    def move(self, old_public_id: str, new_public_id: str) -> None:
        """The session got a new public id and keeps its key: the binding
        follows it."""
        found = self.get(old_public_id)
        if found is not None:
            moved = found.replace(public_id=new_public_id, version=0)
            self.save(moved, expected=None)
        self.delete([old_public_id])

    def delete_orphans(self) -> int:
        """Remove bindings whose session is gone (after a purge)."""
        return 0
