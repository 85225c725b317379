"""Database store with Redis in front for reads.

The database is the source of truth; Redis holds a copy of each record read
recently (``P:{T}:c:<public id>``, a string laid out as the redis engine's:
``m``, a newline, the data; TTL = ``SESSIONTOKENS_CACHE_TIMEOUT`` or the time
left, whichever is shorter). Every write goes to the database
first. Two markers (the strings ``gone`` and ``nocache`` in place of a copy,
which always starts with ``{``) keep stale copies out:

* ``gone``: the session was ended. Written after the database delete; readers
  treat it as gone. A reader that read the row just before the delete cannot
  put it back, because filling the cache is "only if absent".
* ``nocache``: a write found no copy to refresh. Readers go to the database
  and do not fill the cache until it expires, so a slower reader cannot cache
  the row as it was before the write.

When Redis does not answer, everything falls back to the database with a
(rate-limited) warning; markers that could not be written are kept in this
process and written as soon as Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction

from django_sessiontokens.conf import conf
from django_sessiontokens.core import tokens
from django_sessiontokens.exceptions import StoreUnavailable
from django_sessiontokens.stores import redis_base as r
from django_sessiontokens.stores.base import BaseStore, SessionRecord
from django_sessiontokens.stores.db import DatabaseStore

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs

logger = logging.getLogger("django_sessiontokens")

#: How long markers live (milliseconds).
GONE_TTL = 60_000
NOCACHE_TTL = 10_000
#: At most one "Redis is down" warning per this many seconds.
WARNING_INTERVAL = 60.0

GONE = b"gone"
NOCACHE = b"nocache"

# KEYS: copy. ARGV: ttl ms ('' = keep), nocache ttl ms, '1' if data follows
# else '', data, then position, value pairs of the fields that change. Apply
# the changes to a live copy; with no copy, or nothing to apply, mark
# nocache. Never overwrites "gone".
_REFRESH = (
    r.LUA_FIELDS
    + """
local raw = redis.call('GET', KEYS[1])
if raw == 'gone' then return 0 end
if raw and raw ~= 'nocache' and (ARGV[3] == '1' or #ARGV > 4) then
  local f, data = fields(raw)
  for i = 5, #ARGV, 2 do f[tonumber(ARGV[i])] = ARGV[i + 1] end
  if ARGV[3] == '1' then data = ARGV[4] end
  if ARGV[1] ~= '' then
    redis.call('SET', KEYS[1], join(f, data), 'PX', ARGV[1])
  else
    redis.call('SET', KEYS[1], join(f, data), 'KEEPTTL')
  end
  return 1
end
redis.call('SET', KEYS[1], 'nocache', 'PX', ARGV[2])
return 2
"""
)


class CachedDatabaseStore(r.RedisBase, BaseStore):
    name = "cached_db"

    def __init__(self, db: DatabaseStore | None = None) -> None:
        self.db = db or DatabaseStore()
        #: Markers that could not be written: public id -> "gone"/"nocache".
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        self._warned_at = 0.0

    def key(self, public_id: str) -> str:
        return f"{self.prefix()}:{{{public_id[: tokens.TAG_LENGTH]}}}:c:{public_id}"

    # Redis plumbing ---------------------------------------------------------
    def _warn(self, exc: StoreUnavailable) -> None:
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

    def _remember(self, public_ids: Iterable[str], state: str) -> None:
        with self._lock:
            for public_id in public_ids:
                if self._pending.get(public_id) != "gone":
                    self._pending[public_id] = state

    def _flush_pending(self) -> None:
        """Write the markers that failed while Redis was down."""
        if not self._pending:
            return
        with self._lock:
            pending, self._pending = self._pending, {}
        try:
            self._mark_gone([p for p, state in pending.items() if state == "gone"])
            with self.guard():
                for public_id, state in pending.items():
                    if state == "nocache":
                        key = self.key(public_id)
                        self.run(_REFRESH, [key], ["", NOCACHE_TTL, "", ""])
        except StoreUnavailable:
            for state in ("nocache", "gone"):
                self._remember([p for p, s in pending.items() if s == state], state)
            raise

    def _mark_gone(self, public_ids: Iterable[str]) -> None:
        with self.guard():
            pipe = self.client().pipeline(transaction=False)
            for public_id in dict.fromkeys(public_ids):
                pipe.set(self.key(public_id), GONE, px=GONE_TTL)
            if len(pipe):
                pipe.execute()

    def _ttl(self, expires_at: datetime) -> int:
        return r.ttl_ms(expires_at, conf.CACHE_TIMEOUT)

    # Reads ------------------------------------------------------------------
    def get(self, public_id: str) -> SessionRecord | None:
        try:
            self._flush_pending()
            with self.guard():
                raw = r.call(self.client(), "GET", self.key(public_id))
        except StoreUnavailable as exc:
            self._warn(exc)
            return self.db.get(public_id)
        if raw:
            if isinstance(raw, str):
                raw = raw.encode()
            if raw == GONE:
                return None
            if raw != NOCACHE:
                return r.unpack(raw)
        record = self.db.get(public_id)
        if record is None or raw:  # raw: "nocache"
            return record
        try:
            with self.guard():
                self.client().set(
                    self.key(public_id),
                    r.pack_record(record),
                    px=self._ttl(record.expires_at),
                    nx=True,  # never over a marker written meanwhile
                )
        except StoreUnavailable as exc:
            self._warn(exc)
        return record

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

    def all(self) -> Iterator[SessionRecord]:
        return self.db.all()

    # Writes: database first -------------------------------------------------
    def create(self, record: SessionRecord) -> None:
        self.db.create(record)
        try:
            self._flush_pending()
            with self.guard():
                self.client().set(
                    self.key(record.public_id),
                    r.pack_record(record),
                    px=self._ttl(record.expires_at),
                )
        except StoreUnavailable as exc:
            self._warn(exc)

    def create_many(self, records: Sequence[SessionRecord]) -> list[str]:
        """Bulk insert (imports); the cache fills on first read."""
        return self.db.create_many(records)

    def _refresh(self, public_id: str, changes: dict[str, Any]) -> None:
        expires_at = changes.get("expires_at")
        args: list[Any] = [self._ttl(expires_at) if expires_at else "", NOCACHE_TTL]
        if "data" in changes:
            args += ["1", changes["data"]]
        else:
            args += ["", ""]
        args += r.pack_changes(changes)
        try:
            self._flush_pending()
            with self.guard():
                self.run(_REFRESH, [self.key(public_id)], args)
        except StoreUnavailable as exc:
            # Without the marker a stale copy could outlive this write.
            self._remember([public_id], "nocache")
            self._warn(exc)

    def update(
        self,
        public_id: str,
        changes: dict[str, Any],
        *,
        base: SessionRecord | None = None,
    ) -> None:
        self.db.update(public_id, changes)
        self._refresh(public_id, changes)

    def rotate(
        self, public_id: str, expected_hash: str, changes: dict[str, Any]
    ) -> bool:
        if self.db.rotate(public_id, expected_hash, changes):
            self._refresh(public_id, changes)
            return True
        self._refresh(public_id, {})  # another request won: drop our copy
        return False

    def _gone(self, public_ids: Sequence[str]) -> None:
        try:
            self._flush_pending()
            self._mark_gone(public_ids)
        except StoreUnavailable as exc:
            self._remember(public_ids, "gone")
            self._warn(exc)

    def delete(self, public_ids: Sequence[str]) -> list[SessionRecord]:
        removed = self.db.delete(public_ids)
        if public_ids:
            ids = list(public_ids)
            self._gone(ids)
            if transaction.get_connection(self.db.using).in_atomic_block:
                # The delete is not visible to other readers before the
                # commit: mark again then, however long the transaction ran.
                transaction.on_commit(lambda: self._gone(ids), using=self.db.using)
        return removed

    def count_expired(self, cutoffs: Cutoffs) -> int:
        return self.db.count_expired(cutoffs)

    def purge_expired(
        self, cutoffs: Cutoffs, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        for batch in self.db.purge_expired(
            cutoffs, batch_size=batch_size, dry_run=dry_run
        ):
            if not dry_run:
                self._gone([record.public_id for record in batch])
            yield batch
