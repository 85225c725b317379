"""Database store with Redis in front for reads.

The database is the source of truth; Redis holds a copy of each record read
recently (``P:{T}:c:<public id>``, a hash laid out as the redis engine's:
``m`` and ``d``; TTL = ``SESSIONTOKENS_CACHE_TIMEOUT`` or the time left,
whichever is shorter). Every write goes to the database
first. Two markers (a hash with one ``state`` field) keep stale copies out:

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
from typing import Any

from django.db import transaction

from django_sessiontokens import tokens
from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import StoreUnavailable
from django_sessiontokens.stores import redis_base as r
from django_sessiontokens.stores.base import BaseStore, SessionRecord
from django_sessiontokens.stores.db import DatabaseStore

logger = logging.getLogger("django_sessiontokens")

#: How long markers live (milliseconds).
GONE_TTL = 60_000
NOCACHE_TTL = 10_000
#: At most one "Redis is down" warning per this many seconds.
WARNING_INTERVAL = 60.0

# KEYS: copy. ARGV: ttl ms, field, value, ... Fill only if absent.
_FILL = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
# KEYS: copy. ARGV: ttl ms, field, value, ... Replace whatever is there.
_PUT = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
# KEYS: copy. ARGV: ttl ms ('' = keep), nocache ttl ms, changes of ``m``
# (JSON; '' = none) [, data]. Apply changes to a live copy; with no copy (or
# no changes), mark nocache. Never overwrites "gone".
_REFRESH = """
local f = redis.call('HMGET', KEYS[1], 'state', 'm')
if f[1] == 'gone' then return 0 end
if not f[1] and f[2] and ARGV[3] ~= '' then
  local m = cjson.decode(f[2])
  for k, v in pairs(cjson.decode(ARGV[3])) do m[k] = v end
  if ARGV[4] then
    redis.call('HSET', KEYS[1], 'm', cjson.encode(m), 'd', ARGV[4])
  else
    redis.call('HSET', KEYS[1], 'm', cjson.encode(m))
  end
  if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
  return 1
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'nocache')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 2
"""
# KEYS: copies of one tag. ARGV: ttl ms. Mark each "gone".
_GONE = """
for i = 1, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('HSET', KEYS[i], 'state', 'gone')
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return #KEYS
"""


class CachedDatabaseStore(r.RedisBase, BaseStore):
    name = "cached_db"

    def __init__(self, db: DatabaseStore | None = None) -> None:
        self.db = db or DatabaseStore()
        self._scripts: dict[tuple[int, str], Any] = {}
        #: Markers that could not be written: public id -> "gone"/"nocache".
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        self._warned_at = 0.0

    def key(self, public_id: str) -> str:
        return f"{self.prefix()}:{{{public_id[: tokens.TAG_LENGTH]}}}:c:{public_id}"

    # Redis plumbing ---------------------------------------------------------
    def _run(self, source: str, keys: list[str], args: list[Any]) -> Any:
        client = self.client()
        script = self._scripts.get((id(client), source))
        if script is None:
            script = client.register_script(source)
            self._scripts[(id(client), source)] = script
        return script(keys=keys, args=args)

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
                        self._run(_REFRESH, [key], ["", NOCACHE_TTL, ""])
        except StoreUnavailable:
            for state in ("nocache", "gone"):
                self._remember([p for p, s in pending.items() if s == state], state)
            raise

    def _mark_gone(self, public_ids: Iterable[str]) -> None:
        with self.guard():
            for group in self.by_tag(public_ids).values():
                self._run(_GONE, [self.key(pid) for pid in group], [GONE_TTL])

    def _ttl(self, expires_at: datetime) -> int:
        return r.ttl_ms(expires_at, conf.CACHE_TIMEOUT)

    def _fields(self, record: SessionRecord) -> list[str]:
        meta, data = r.pack_record(record)
        return ["m", meta, "d", data]

    # Reads ------------------------------------------------------------------
    def get(self, public_id: str) -> SessionRecord | None:
        try:
            self._flush_pending()
            with self.guard():
                raw = self.client().hgetall(self.key(public_id))
        except StoreUnavailable as exc:
            self._warn(exc)
            return self.db.get(public_id)
        state = r.field(raw, "state")
        if state is not None:
            state = r.text(state)
        if state == "gone":
            return None
        if raw and state is None:
            return r.unpack(r.field(raw, "m"), r.field(raw, "d"))
        record = self.db.get(public_id)
        if record is None or state == "nocache":
            return record
        try:
            with self.guard():
                self._run(
                    _FILL,
                    [self.key(public_id)],
                    [self._ttl(record.expires_at), *self._fields(record)],
                )
        except StoreUnavailable as exc:
            self._warn(exc)
        return record

    def for_user(self, user_id: str) -> list[SessionRecord]:
        return self.db.for_user(user_id)

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
        return self.db.search(
            now=now, user_ids=user_ids, ip=ip, state=state, offset=offset, limit=limit
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
                self._run(
                    _PUT,
                    [self.key(record.public_id)],
                    [self._ttl(record.expires_at), *self._fields(record)],
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
            rest = dict(changes)
            data = rest.pop("data")
            args += [r.pack(rest), data]
        else:
            args.append(r.pack(changes) if changes else "")
        try:
            self._flush_pending()
            with self.guard():
                self._run(_REFRESH, [self.key(public_id)], args)
        except StoreUnavailable as exc:
            # Without the marker a stale copy could outlive this write.
            self._remember([public_id], "nocache")
            self._warn(exc)

    def update(self, public_id: str, changes: dict[str, Any]) -> None:
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

    def purge_expired(
        self, now: datetime, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        for batch in self.db.purge_expired(now, batch_size=batch_size, dry_run=dry_run):
            if not dry_run:
                self._gone([record.public_id for record in batch])
            yield batch
