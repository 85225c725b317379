"""Database store with Redis in front for reads.

The database is the source of truth; Redis holds a copy of each record read
recently (``keys.copy``: ``P:{T}:c:<generation>:<public id>``, the redis
engine's stored value, ``codec``; TTL = ``SESSIONTOKENS_CACHE_TIMEOUT`` or
the time left, whichever is shorter). Every write goes to the database
first. Two markers in place of a copy keep stale copies out:

* ``gone``: the session was ended (or is being rotated away), or a read
  found no such session (the negative answer is cached for a minute, so an
  unknown public id is answered as fast as a live one). Written after the
  database change; readers treat it as gone. A reader that read the row just
  before cannot put it back: filling the cache is "only if absent". Creating
  a session overwrites it.
* ``nocache``: a write found no copy to refresh. Readers go to the database
  and do not fill the cache until it expires, so a slower reader cannot cache
  the row as it was before the write.

**The generation** (``models.CacheEpoch``) makes the cache safe when Redis
cannot be told about a change. A process that fails to refresh or mark a
copy after a database write or delete moves the generation on, in the
database, in the same code path (no marker waits in process memory). Every
process re-reads the generation at most once per
``SESSIONTOKENS_CACHE_CHECK_INTERVAL`` (2 s by default) and, in the same
check, Redis's ``run_id``: a Redis restarted (with old data from RDB/AOF, or
empty) moves the generation on too. Copies are keyed by the generation they
were made under, so older copies are never used. Hence no process serves an
ended session, or a copy older than an acknowledged write, for longer than
the check interval (plus the request's own duration), and a warm read adds
no SQL (the check runs at most once per interval, not per request).

**Write-through guard**: a write whose base record came from a copy is
applied only if the row still has the copy's version or was written after
the copy was read (``DatabaseStore.update(unless_newer_than=...)``), so a
stale copy served inside that bound is never written over newer database
state: ``StaleCopy`` (the request fails, nothing acknowledged is lost) and
the copy is dropped.

When Redis does not answer, everything falls back to the database with a
(rate-limited) warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.db import transaction
from django.utils import timezone

from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import StaleCopy, StoreUnavailable
from django_sessiontokens.stores.base import BaseStore, Selection, SessionRecord
from django_sessiontokens.stores.db import DatabaseStore
from django_sessiontokens.stores.redis import codec, generation, keys, scripts
from django_sessiontokens.stores.redis.connection import RedisAccess, call

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs
    from django_sessiontokens.types import EndedEvent

logger = logging.getLogger("django_sessiontokens")

#: How long markers live (milliseconds).
GONE_TTL = 60_000
NOCACHE_TTL = 10_000
#: How long an unknown public id is remembered as absent (milliseconds).
ABSENT_TTL = 60_000
#: At most one "Redis is down" warning per this many seconds.
WARNING_INTERVAL = 60.0
#: Copies remembered per thread for the write-through guard.
SEEN = 100

GONE = b"gone"
NOCACHE = b"nocache"


class CachedDatabaseStore(RedisAccess, BaseStore):
    name = "cached_db"

    def __init__(
        self,
        db: DatabaseStore | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db or DatabaseStore()
        self.epoch = generation.Generation(self, clock=clock)
        self._warned_at = 0.0
        #: Redis failed since the generation was last read (see ``_warn``).
        self._suspect = False
        #: This thread's copies read: public id -> (version, when read).
        self._local = threading.local()
        setting_changed.connect(self._setting_changed)

    def _setting_changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting == "CACHES" or setting.startswith(
            ("SESSIONTOKENS_REDIS_", "SESSIONTOKENS_CACHE_")
        ):
            self.epoch.expire()

    def key(self, public_id: str) -> str:
        """The copy's key under the current generation."""
        return keys.copy(self.prefix(), self.epoch.current(), public_id)

    # Redis plumbing ---------------------------------------------------------
    def _warn(self, exc: StoreUnavailable) -> None:
        # Redis failed us: other processes may be moving the generation on
        # meanwhile (their writes missed Redis), so read it again as soon as
        # Redis answers, not up to an interval later (``get``).
        self._suspect = True
        now = time.monotonic()
        if now - self._warned_at < WARNING_INTERVAL:
            return
        self._warned_at = now
        logger.warning(
            "Session cache unavailable (cache %s at %s); using the database "
            "alone until it answers: %s",
            exc.alias,
            exc.address,
            exc,
        )

    def _failed(self, exc: StoreUnavailable) -> None:
        """Redis missed a change: no copy made before it may be used."""
        self._warn(exc)
        self.epoch.move_on()

    def _seen(self) -> dict[str, tuple[int, datetime]]:
        found: dict[str, tuple[int, datetime]] | None = getattr(
            self._local, "seen", None
        )
        if found is None or len(found) > SEEN:
            found = self._local.seen = {}
        return found

    def _mark(self, public_ids: Sequence[str], marker: bytes, ttl: int) -> None:
        try:
            with self.guard():
                pipe = self.client().pipeline(transaction=False)
                for public_id in dict.fromkeys(public_ids):
                    pipe.set(self.key(public_id), marker, px=ttl)
                if len(pipe):
                    pipe.execute()
        except StoreUnavailable as exc:
            self._failed(exc)

    def _ttl(self, expires_at: datetime) -> int:
        return codec.ttl_ms(expires_at, conf.CACHE_TIMEOUT)

    # Reads ------------------------------------------------------------------
    def get(self, public_id: str) -> SessionRecord | None:
        seen = self._seen()
        seen.pop(public_id, None)
        try:
            key = self.key(public_id)
            with self.guard():
                raw = call(self.client(), "GET", key)
        except StoreUnavailable as exc:
            self._warn(exc)
            return self.db.get(public_id)
        if self._suspect:
            # The first answer since Redis failed: check the generation now,
            # then read the copy of the generation in force.
            self._suspect = False
            self.epoch.expire()
            return self.get(public_id)
        if raw:
            if isinstance(raw, str):
                raw = raw.encode()
            if raw == GONE:
                return None
            if raw != NOCACHE:
                copy = codec.unpack(raw)
                if copy.moving:  # never stored, but never served either
                    return None
                seen[public_id] = (copy.version, timezone.now())
                return copy
        record = self.db.get(public_id)
        if raw:  # "nocache"
            return record
        try:
            with self.guard():
                if record is None:
                    # The negative answer is cached too: an unknown public id
                    # costs what a live one does, so timing does not tell
                    # whether a session id exists.
                    self.client().set(key, GONE, px=ABSENT_TTL, nx=True)
                else:
                    self.client().set(
                        key,
                        codec.pack_record(record),
                        px=self._ttl(record.expires_at),
                        nx=True,  # never over a marker written meanwhile
                    )
        except StoreUnavailable as exc:
            self._warn(exc)
        return record

    def peek(self, public_id: str) -> SessionRecord | None:
        """From the database: the cache never holds a moving tombstone."""
        return self.db.peek(public_id)

    def for_user(self, user_id: str) -> list[SessionRecord]:
        return self.db.for_user(user_id)

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
        return self.db.search(
            cutoffs, user_ids=user_ids, ip=ip, state=state, offset=offset, limit=limit
        )

    def count(self) -> int:
        return self.db.count()

    def purge_batch_size(self) -> int:
        return self.db.purge_batch_size()

    def count_expired(self, cutoffs: Cutoffs) -> int:
        return self.db.count_expired(cutoffs)

    def all(self) -> Iterator[SessionRecord]:
        return self.db.all()

    # Writes: database first -------------------------------------------------
    def _cache(self, record: SessionRecord) -> None:
        """A copy of a row just written (no stale copy of a new id exists,
        so failing here needs no new generation)."""
        try:
            with self.guard():
                self.client().set(
                    self.key(record.public_id),
                    codec.pack_record(record),
                    px=self._ttl(record.expires_at),
                )
        except StoreUnavailable as exc:
            self._warn(exc)

    def create(self, record: SessionRecord) -> None:
        self.db.create(record)
        self._cache(record)

    def create_many(self, records: Sequence[SessionRecord]) -> list[str]:
        """Bulk insert (imports); the cache fills on first read (an "absent"
        answer cached for one of these ids is dropped)."""
        created = self.db.create_many(records)
        try:
            with self.guard():
                client = self.client()
                for start in range(0, len(created), 1000):
                    chunk = created[start : start + 1000]
                    if chunk:
                        client.delete(*(self.key(pid) for pid in chunk))
        except StoreUnavailable as exc:
            self._failed(exc)
        return created

    def _refresh(self, public_id: str, changes: dict[str, Any]) -> None:
        expires_at = changes.get("expires_at")
        args: list[Any] = [self._ttl(expires_at) if expires_at else "", NOCACHE_TTL]
        if "data" in changes:
            args += ["1", changes["data"]]
        else:
            args += ["", ""]
        args += codec.pack_changes(changes)
        try:
            key = self.key(public_id)
            with self.guard():
                scripts.run(self.client(), "refresh", [key], args)
        except StoreUnavailable as exc:
            self._failed(exc)

    def _drop(self, public_id: str) -> None:
        """Delete a copy found stale: the next read fills it afresh."""
        try:
            key = self.key(public_id)
            with self.guard():
                self.client().delete(key)
        except StoreUnavailable as exc:
            self._failed(exc)

    def update(
        self,
        public_id: str,
        changes: dict[str, Any],
        *,
        base: SessionRecord | None = None,
    ) -> None:
        seen = self._seen().get(public_id)
        # A touch (last activity, client details) loses nothing if its copy
        # was stale; refusing it would sign a reader out: only data writes
        # are guarded.
        guard = seen if "data" in changes else None
        try:
            if guard is None:
                self.db.update(public_id, changes)
            else:
                self.db.update(public_id, changes, unless_newer_than=guard)
        except StaleCopy:
            self._seen().pop(public_id, None)
            self._drop(public_id)
            raise
        if seen is not None:  # a second save of the request builds on this one
            self._seen()[public_id] = (seen[0] + 1, seen[1])
        self._refresh(public_id, changes)

    def rotate(
        self, public_id: str, expected_hash: str, changes: dict[str, Any]
    ) -> bool:
        if self.db.rotate(public_id, expected_hash, changes):
            seen = self._seen().get(public_id)
            if seen is not None:
                self._seen()[public_id] = (seen[0] + 1, seen[1])
            self._refresh(public_id, changes)
            return True
        self._refresh(public_id, {})  # another request won: drop our copy
        return False

    def mark_moving(self, public_id: str, expected_hash: str) -> bool:
        moved = self.db.mark_moving(public_id, expected_hash)
        if moved:
            self._mark([public_id], GONE, GONE_TTL)  # its token stops now
        else:
            self._refresh(public_id, {})
        return moved

    def replace(self, old_public_id: str, record: SessionRecord) -> bool:
        replaced = self.db.replace(old_public_id, record)
        self._gone([old_public_id])
        if replaced:
            self._cache(record)
        return replaced

    def _gone(self, public_ids: Sequence[str]) -> None:
        ids = list(public_ids)
        if not ids:
            return
        self._mark(ids, GONE, GONE_TTL)
        if transaction.get_connection(self.db.using).in_atomic_block:
            # The change is not visible to other readers before the commit:
            # mark again then, however long the transaction ran.
            transaction.on_commit(
                lambda: self._mark(ids, GONE, GONE_TTL), using=self.db.using
            )

    def database_alias(self) -> str:
        return self.db.database_alias()

    def delete(self, public_ids: Sequence[str]) -> list[SessionRecord]:
        removed = self.db.delete(public_ids)
        self._gone(public_ids)
        return removed

    def end(
        self, selection: Selection, event: EndedEvent | None = None
    ) -> tuple[list[SessionRecord], list[SessionRecord]]:
        removed, unrecorded = self.db.end(selection, event)
        self._gone(list(selection.ids) or [record.public_id for record in removed])
        return removed, unrecorded

    def purge_expired(
        self, cutoffs: Cutoffs, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        for batch in self.db.purge_expired(
            cutoffs, batch_size=batch_size, dry_run=dry_run
        ):
            if not dry_run:
                self._gone([record.public_id for record in batch])
            yield batch
