"""Redis store: one string per session, per-user indexes, six ``{all}``
sets, every write one Lua script. The layout is ``keys``; the stored value
``codec``; the scripts ``lua/*.lua`` (``scripts``).

A script may only touch the keys it is given, but a caller naming a session
by its public id does not know the session's user, whose index a write or a
delete must change. The store remembers the owner of each session it saw
(``_owners``, a bounded map, a guess only); a script that finds another
owner writes nothing and names the real one, and the store calls it again
with that user's index (one more round trip, only then).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django_sessiontokens.exceptions import CreateError, UpdateError
from django_sessiontokens.stores.base import (
    UPDATABLE,
    BaseStore,
    Selection,
    SessionRecord,
)
from django_sessiontokens.stores.redis import codec, keys, scripts
from django_sessiontokens.stores.redis.bindings import RedisBindingStore
from django_sessiontokens.stores.redis.bulk import Bulk
from django_sessiontokens.stores.redis.codec import micros, text, ttl_ms, unpack
from django_sessiontokens.stores.redis.connection import (
    RedisAccess,
    call,
    call_reads,
    is_cluster,
)
from django_sessiontokens.stores.redis.follow import ClusterSets
from django_sessiontokens.stores.redis.purge import Purge
from django_sessiontokens.stores.redis.search import Search
from django_sessiontokens.types import MOVING

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs
    from django_sessiontokens.types import EndedEvent

#: Remembered owners (public id -> user id or ""), at most this many.
OWNERS = 10_000
_UNCONDITIONAL = ["", "", "", "", "", ""]


class RedisStore(Search, Purge, Bulk, ClusterSets, RedisAccess, BaseStore):
    name = "redis"

    def __init__(self) -> None:
        self._owners: dict[str, str] = {}

    # Keys -------------------------------------------------------------------
    def key(self, public_id: str) -> str:
        return keys.session(self.prefix(), public_id)

    def index_base(self, tag: str) -> str:
        return keys.index_base(self.prefix(), tag)

    def expiry_key(self) -> str:
        return keys.all_set(self.prefix(), "expiry")

    def activity_key(self) -> str:
        return keys.all_set(self.prefix(), "activity")

    def auth_key(self) -> str:
        return keys.all_set(self.prefix(), "auth")

    def anon_key(self) -> str:
        return keys.all_set(self.prefix(), "anon")

    def ractivity_key(self) -> str:
        return keys.all_set(self.prefix(), "ractivity")

    def rauth_key(self) -> str:
        return keys.all_set(self.prefix(), "rauth")

    def _sets(self, client: Any) -> list[str]:
        """The ``{all}`` sets, when scripts may touch them (not on Cluster)."""
        return [] if is_cluster(client) else keys.all_sets(self.prefix())

    def _index(self, public_id: str, user_id: str | None) -> str:
        """The user's index holding ``public_id``; the session key if none."""
        if not user_id:
            return self.key(public_id)
        return keys.user_index(self.prefix(), public_id, user_id)

    def _saw(self, public_id: str, user_id: str | None) -> None:
        if len(self._owners) >= OWNERS:
            self._owners.clear()
        self._owners[public_id] = user_id or ""

    # Reads ------------------------------------------------------------------
    def get(self, public_id: str) -> SessionRecord | None:
        record = self.peek(public_id)
        return None if record is None or record.moving else record

    def peek(self, public_id: str) -> SessionRecord | None:
        with self.guard():
            raw = call(self.client(), "GET", self.key(public_id))
        if not raw:
            return None
        record = unpack(raw)
        self._saw(public_id, record.user_id)
        return record

    def get_with_binding(
        self, public_id: str, bindings: Any
    ) -> tuple[SessionRecord | None, Any]:
        """One ``MGET`` of the session and its binding (same hash tag)."""
        if not isinstance(bindings, RedisBindingStore):
            return super().get_with_binding(public_id, bindings)
        with self.guard():
            raw, bound = call(
                self.client(), "MGET", self.key(public_id), bindings.key(public_id)
            )
        record = unpack(raw) if raw else None
        if record is not None:
            self._saw(public_id, record.user_id)
        if record is None or record.moving:
            return None, None
        return record, bindings.unpack(bound) if bound else None

    def _light(
        self, client: Any, public_ids: Sequence[str]
    ) -> list[SessionRecord | None]:
        """Records without data, one pipelined round trip."""
        names = [self.key(pid) for pid in public_ids]
        if is_cluster(client):  # the records of one user may lie in other slots
            replies = call_reads(client, [("GET", name) for name in names])
        else:
            replies = call(client, "MGET", *names) if names else []
        return [unpack(raw, data=False) if raw else None for raw in replies]

    def _members(self, client: Any, user_id: str) -> tuple[list[str], list[list[str]]]:
        """The user's indexes and their members: one pipelined round trip."""
        indexes = keys.user_indexes(self.prefix(), user_id)
        replies = call_reads(client, [("ZRANGE", index, 0, -1) for index in indexes])
        return indexes, [[text(m) for m in found] for found in replies]

    def end(
        self, selection: Selection, event: EndedEvent | None = None
    ) -> tuple[list[SessionRecord], list[SessionRecord]]:
        """One user's: their indexes, then the delete script (which leaves
        sessions with an impersonator alone unless ``impersonated``), two
        round trips in all. The audit rows are the caller's."""
        if selection.user_id is None:
            return super().end(selection, event)
        user_id = str(selection.user_id)
        with self.guard():
            client = self.client()
            _indexes, members = self._members(client, user_id)
            targets = {
                pid: user_id
                for found in members
                for pid in found
                if pid != selection.keep
            }
            removed, _kept, _count = self._delete(
                client, targets, _UNCONDITIONAL, spare=not selection.impersonated
            )
        for record in removed:
            self._owners.pop(record.public_id, None)
        return removed, removed

    def for_user(self, user_id: str) -> list[SessionRecord]:
        user_id = str(user_id)
        with self.guard():
            client = self.client()
            indexes, members = self._members(client, user_id)
            public_ids = [pid for found in members for pid in found]
            records = self._light(client, public_ids)
            dead = {
                pid
                for pid, rec in zip(public_ids, records, strict=True)
                if rec is None or rec.user_id != user_id
            }
            if dead:
                pipe = client.pipeline(transaction=False)
                for index, found in zip(indexes, members, strict=True):
                    gone = [pid for pid in found if pid in dead]
                    if gone:
                        pipe.zrem(index, *gone)
                pipe.execute()
        alive = [rec for rec in records if rec is not None and rec.user_id == user_id]
        for rec in alive:
            self._saw(rec.public_id, user_id)
        alive.sort(key=lambda rec: rec.last_activity, reverse=True)
        return alive

    def count(self) -> int:
        with self.guard():
            return sum(1 for _ in self._scan())

    def all(self) -> Iterator[SessionRecord]:
        with self.guard():
            client = self.client()
            for key in self._scan():
                raw = client.get(key)
                if raw:
                    yield unpack(raw)

    def _scan(self, count: int = 1000) -> Iterator[str]:
        pattern = keys.session_pattern(self.prefix())
        for key in self.client().scan_iter(match=pattern, count=count):
            yield text(key)

    # Writes -----------------------------------------------------------------
    def create(self, record: SessionRecord) -> None:
        with self.guard():
            client = self.client()
            done = scripts.run(
                client,
                "create",
                [
                    self.key(record.public_id),
                    self._index(record.public_id, record.user_id),
                    *self._sets(client),
                ],
                [ttl_ms(record.expires_at), codec.pack_record(record)],
            )
            if not done:
                raise CreateError
            self._saw(record.public_id, record.user_id)
            if is_cluster(client):
                self._follow(client, None, record)

    def _write(self, public_id: str, expected: str, changes: dict[str, Any]) -> int:
        """1 done, 0 gone, -1 lost the compare-and-set."""
        if not expected and changes.keys() == {"data"}:
            with self.guard():
                return int(
                    scripts.run(
                        self.client(), "data", [self.key(public_id)], [changes["data"]]
                    )
                )
        expires_at = changes.get("expires_at")
        tail = ["1", changes["data"]] if "data" in changes else ["", ""]
        tail += codec.pack_changes(changes)
        ttl = ttl_ms(expires_at) if expires_at else ""
        owner = self._owners.get(public_id, "")
        with self.guard():
            client = self.client()
            for _attempt in range(3):
                result = scripts.run(
                    client,
                    "write",
                    [
                        self.key(public_id),
                        self._index(public_id, owner),
                        self._index(public_id, changes.get("user_id")),
                        *self._sets(client),
                    ],
                    [expected, owner, ttl, *tail],
                )
                if isinstance(result, int):
                    return result
                if int(result[0]) == -2:  # another owner than believed
                    owner = text(result[1])
                    self._saw(public_id, owner)
                    continue
                before, after = (unpack(text(v)) for v in result[1:])
                self._saw(public_id, after.user_id)
                self._follow(client, before, after)
                return 1
        raise UpdateError("the session's owner kept changing")

    def update(
        self,
        public_id: str,
        changes: dict[str, Any],
        *,
        base: SessionRecord | None = None,
    ) -> None:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if self._write(public_id, "", changes) == 0:
            raise UpdateError

    def rotate(
        self, public_id: str, expected_hash: str, changes: dict[str, Any]
    ) -> bool:
        return self._write(public_id, expected_hash, changes) == 1

    def mark_moving(self, public_id: str, expected_hash: str) -> bool:
        if expected_hash.startswith(MOVING):
            return False
        changes = {"secret_hash": MOVING + expected_hash}
        return self._write(public_id, expected_hash, changes) == 1

    def replace(self, old_public_id: str, record: SessionRecord) -> bool:
        """One script on a single Redis; on Cluster the two ids may live in
        different slots, so ``BaseStore.replace`` (insert, remove the old,
        take the insert back if the old one was gone)."""
        with self.guard():
            client = self.client()
            if is_cluster(client):
                return super().replace(old_public_id, record)
            owner = self._owners.get(old_public_id, "")
            new_key = self.key(record.public_id)
            for _attempt in range(3):
                result = scripts.run(
                    client,
                    "replace",
                    [
                        self.key(old_public_id),
                        self._index(old_public_id, owner),
                        new_key,
                        self._index(record.public_id, record.user_id),
                        *self._sets(client),
                    ],
                    [owner, ttl_ms(record.expires_at), codec.pack_record(record)],
                )
                if isinstance(result, list):  # another owner than believed
                    owner = text(result[1])
                    continue
                if result == -3:
                    raise CreateError
                if result == 1:
                    self._owners.pop(old_public_id, None)
                    self._saw(record.public_id, record.user_id)
                return bool(result == 1)
        raise UpdateError("the session's owner kept changing")

    def delete(self, public_ids: Sequence[str]) -> list[SessionRecord]:
        targets = {pid: self._owners.get(pid, "") for pid in public_ids}
        with self.guard():
            removed, _live, _count = self._delete(
                self.client(), targets, _UNCONDITIONAL
            )
        for record in removed:
            self._owners.pop(record.public_id, None)
        return removed

    @staticmethod
    def _bounds(cutoffs: Cutoffs) -> list[str]:
        """The cutoffs as the delete script's arguments."""
        return [
            "" if bound is None else str(micros(bound))
            for bound in (
                cutoffs.now,
                cutoffs.idle,
                cutoffs.absolute,
                cutoffs.anonymous,
                cutoffs.remembered_idle,
                cutoffs.remembered_absolute,
            )
        ]
