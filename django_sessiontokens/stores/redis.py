"""Redis store: one hash per session, a per-user index, atomic Lua writes.

Keys (``P`` = ``SESSIONTOKENS_REDIS_KEY_PREFIX``, ``T`` = the public id's
first 8 characters, its routing tag)::

    P:{T}:s:<public id>   hash: the record; TTL = time left before expiry
    P:{T}:u:<user id>     sorted set: that user's public ids (with tag T),
                          scored by expiry (microseconds since the epoch)
    P:{all}:activity      sorted set: signed-in public ids by last activity

A session and its user's index share the hash tag ``{T}``, so each write is
one Lua script (one round trip) that is atomic on Redis Cluster too. The
activity set lives in another slot: on a single Redis the same script keeps
it, on Cluster a second command does, and dead members are pruned on read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django_sessiontokens import tokens
from django_sessiontokens.exceptions import CreateError, UpdateError
from django_sessiontokens.stores.base import UPDATABLE, BaseStore, SessionRecord
from django_sessiontokens.stores.redis_base import (
    FIELDS,
    IMPORTED_TAG,
    LIGHT,
    RedisBase,
    decode,
    decode_hash,
    encode,
    escape_glob,
    flat,
    is_cluster,
    micros,
    text,
    ttl_ms,
)

# Lua ---------------------------------------------------------------------
# KEYS: session [, user index [, activity]]
# ARGV: ttl ms, public id, expiry score, activity score, field, value, ...
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if KEYS[2] then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < tonumber(ARGV[1]) then
    redis.call('PEXPIRE', KEYS[2], ARGV[1])
  end
end
if KEYS[3] then redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2]) end
return 1
"""
# Update, or compare-and-set of the secret when ARGV[1] is not empty.
# KEYS: session [, activity]. ARGV: expected hash, ttl ms, user index key
# without the user id (same tag), public id, field, value, ...
# Returns {status, user id, last activity}: 1 done, 0 gone, -1 lost the CAS.
_WRITE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'secret_hash') ~= ARGV[1] then
  return {-1}
end
local old = redis.call('HGET', KEYS[1], 'user_id')
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local f = redis.call('HMGET', KEYS[1], 'user_id', 'expires_at', 'last_activity')
local uid = f[1] or ''
if old and old ~= '' and old ~= uid then redis.call('ZREM', ARGV[3] .. old, ARGV[4]) end
if uid ~= '' then
  local index = ARGV[3] .. uid
  redis.call('ZADD', index, f[2], ARGV[4])
  local ttl = redis.call('PTTL', KEYS[1])
  local ittl = redis.call('PTTL', index)
  if ittl < ttl then redis.call('PEXPIRE', index, ttl) end
  if KEYS[2] then redis.call('ZADD', KEYS[2], f[3], ARGV[4]) end
elseif KEYS[2] then
  redis.call('ZREM', KEYS[2], ARGV[4])
end
return {1, uid, f[3]}
"""
# Delete sessions of one tag. KEYS: sessions [, activity].
# ARGV: user index key without the user id, session count, expired-before
# bound ('' = unconditional), public ids... Returns {public id, fields, ...}.
_DELETE = (
    """
local n = tonumber(ARGV[2])
local out = {}
for i = 1, n do
  local f = redis.call('HMGET', KEYS[i], """
    + ", ".join(f"'{name}'" for name in LIGHT)
    + """)
  local pid = ARGV[3 + i]
  local expires = f["""
    + str(LIGHT.index("expires_at") + 1)
    + """]
  if f[1] and (ARGV[3] == '' or tonumber(expires) <= tonumber(ARGV[3])) then
    redis.call('DEL', KEYS[i])
    local uid = f["""
    + str(LIGHT.index("user_id") + 1)
    + """]
    if uid and uid ~= '' then redis.call('ZREM', ARGV[1] .. uid, pid) end
    if KEYS[n + 1] then redis.call('ZREM', KEYS[n + 1], pid) end
    out[#out + 1] = pid
    out[#out + 1] = f
  end
end
return out
"""
)
assert LIGHT[0] == "public_id"  # HMGET slot 1 tells whether the key exists


class RedisStore(RedisBase, BaseStore):
    name = "redis"

    def __init__(self) -> None:
        self._scripts: dict[tuple[int, str], Any] = {}

    # Keys -------------------------------------------------------------------
    def key(self, public_id: str) -> str:
        return f"{self.prefix()}:{{{public_id[: tokens.TAG_LENGTH]}}}:s:{public_id}"

    def index_base(self, tag: str) -> str:
        return f"{self.prefix()}:{{{tag}}}:u:"

    def activity_key(self) -> str:
        return f"{self.prefix()}:{{all}}:activity"

    def _script(self, client: Any, source: str) -> Any:
        found = self._scripts.get((id(client), source))
        if found is None:
            found = self._scripts[(id(client), source)] = client.register_script(source)
        return found

    def _activity(self, client: Any) -> list[str]:
        """The activity key, when scripts may touch it (not on Cluster)."""
        return [] if is_cluster(client) else [self.activity_key()]

    # Reads ------------------------------------------------------------------
    def get(self, public_id: str) -> SessionRecord | None:
        with self.guard():
            raw = self.client().hgetall(self.key(public_id))
        return decode(decode_hash(raw)) if raw else None

    def _light(
        self, client: Any, public_ids: Sequence[str]
    ) -> list[SessionRecord | None]:
        """Records without data, one pipelined round trip."""
        if not public_ids:
            return []
        pipe = client.pipeline(transaction=False)
        for public_id in public_ids:
            pipe.hmget(self.key(public_id), LIGHT)
        rows = pipe.execute()
        return [
            decode(dict(zip(LIGHT, map(text, row), strict=True))) if row[0] else None
            for row in rows
        ]

    def for_user(self, user_id: str) -> list[SessionRecord]:
        user_id = str(user_id)
        indexes = [
            self.index_base(tag) + user_id
            for tag in [*tokens.routing_tags(user_id), IMPORTED_TAG]
        ]
        with self.guard():
            client = self.client()
            pipe = client.pipeline(transaction=False)
            for index in indexes:
                pipe.zrange(index, 0, -1)
            members = [[text(m) for m in found] for found in pipe.execute()]
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
        alive.sort(key=lambda rec: rec.last_activity, reverse=True)
        return alive

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
        if user_ids is not None:
            found = [r for uid in dict.fromkeys(user_ids) for r in self.for_user(uid)]
        else:
            found = list({r.public_id: r for r in self._walk_activity()}.values())
        matches = [
            rec
            for rec in found
            if rec.user_id is not None
            and (not ip or rec.ip == ip)
            and (state == "all" or (state == "active") == (rec.expires_at > now))
        ]
        matches.sort(key=lambda rec: rec.public_id)
        matches.sort(key=lambda rec: rec.last_activity, reverse=True)
        return len(matches), matches[offset : offset + limit]

    def _walk_activity(self, batch: int = 500) -> Iterator[SessionRecord]:
        """Every signed-in session, pruning members whose key is gone."""
        key = self.activity_key()
        start = 0
        with self.guard():
            client = self.client()
            while True:
                public_ids = [
                    text(m) for m in client.zrevrange(key, start, start + batch - 1)
                ]
                if not public_ids:
                    return
                records = self._light(client, public_ids)
                dead = [p for p, r in zip(public_ids, records, strict=True) if not r]
                if dead:
                    client.zrem(key, *dead)
                start += len(public_ids) - len(dead)
                yield from (rec for rec in records if rec is not None)

    def count(self) -> int:
        with self.guard():
            return sum(1 for _ in self._scan("s"))

    def all(self) -> Iterator[SessionRecord]:
        with self.guard():
            client = self.client()
            for key in self._scan("s"):
                raw = client.hgetall(key)
                if raw:
                    yield decode(decode_hash(raw))

    def _scan(self, kind: str, count: int = 1000) -> Iterator[str]:
        pattern = f"{escape_glob(self.prefix())}:{{*}}:{kind}:*"
        for key in self.client().scan_iter(match=pattern, count=count):
            yield text(key)

    # Writes -----------------------------------------------------------------
    def create(self, record: SessionRecord) -> None:
        values = {name: getattr(record, name) for name in FIELDS}
        keys = [self.key(record.public_id)]
        with self.guard():
            client = self.client()
            if record.user_id is not None:
                tag = record.public_id[: tokens.TAG_LENGTH]
                keys += [self.index_base(tag) + record.user_id, *self._activity(client)]
            args = [
                ttl_ms(record.expires_at),
                record.public_id,
                micros(record.expires_at),
                micros(record.last_activity),
                *flat(encode(values)),
            ]
            if not self._script(client, _CREATE)(keys=keys, args=args):
                raise CreateError
            if record.user_id is not None and is_cluster(client):
                client.zadd(
                    self.activity_key(),
                    {record.public_id: micros(record.last_activity)},
                )

    def _write(self, public_id: str, expected: str, changes: dict[str, Any]) -> int:
        fields = encode(changes)
        if not fields:
            fields = {"public_id": public_id}
        ttl = ttl_ms(changes["expires_at"]) if changes.get("expires_at") else ""
        with self.guard():
            client = self.client()
            result = self._script(client, _WRITE)(
                keys=[self.key(public_id), *self._activity(client)],
                args=[
                    expected,
                    ttl,
                    self.index_base(public_id[: tokens.TAG_LENGTH]),
                    public_id,
                    *flat(fields),
                ],
            )
            status = int(result[0])
            if status == 1 and is_cluster(client):
                if text(result[1]):
                    client.zadd(self.activity_key(), {public_id: int(result[2])})
                else:
                    client.zrem(self.activity_key(), public_id)
        return status

    def update(self, public_id: str, changes: dict[str, Any]) -> None:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if self._write(public_id, "", changes) == 0:
            raise UpdateError

    def rotate(
        self, public_id: str, expected_hash: str, changes: dict[str, Any]
    ) -> bool:
        return self._write(public_id, expected_hash, changes) == 1

    def delete(self, public_ids: Sequence[str]) -> list[SessionRecord]:
        return self._delete(public_ids, before="")

    def _delete(self, public_ids: Iterable[str], *, before: str) -> list[SessionRecord]:
        removed: list[SessionRecord] = []
        with self.guard():
            client = self.client()
            script = self._script(client, _DELETE)
            cluster = is_cluster(client)
            for tag, group in self.by_tag(public_ids).items():
                result = script(
                    keys=[*(self.key(pid) for pid in group), *self._activity(client)],
                    args=[self.index_base(tag), len(group), before, *group],
                )
                for i in range(0, len(result), 2):
                    row = dict(zip(LIGHT, map(text, result[i + 1]), strict=False))
                    removed.append(decode(row))
            if cluster and removed:
                client.zrem(self.activity_key(), *(r.public_id for r in removed))
        return removed

    def purge_expired(
        self, now: datetime, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        bound = micros(now)
        with self.guard():
            client = self.client()
            batch: list[str] = []
            for key in self._scan("s", count=batch_size):
                batch.append(key)
                if len(batch) >= batch_size:
                    found = self._purge_batch(client, batch, bound, dry_run)
                    batch = []
                    if found:
                        yield found
            found = self._purge_batch(client, batch, bound, dry_run)
            if found:
                yield found
            if not dry_run:
                self._prune_indexes(client, bound, batch_size)
                list(self._walk_activity(batch_size))

    def _purge_batch(
        self, client: Any, keys: list[str], bound: int, dry_run: bool
    ) -> list[SessionRecord]:
        if not keys:
            return []
        public_ids = [key.rsplit(":", 1)[1] for key in keys]
        expired = [
            rec
            for rec in self._light(client, public_ids)
            if rec is not None and micros(rec.expires_at) <= bound
        ]
        if dry_run or not expired:
            return expired
        return self._delete([rec.public_id for rec in expired], before=str(bound))

    def _prune_indexes(self, client: Any, bound: int, batch_size: int) -> None:
        """Drop index members whose session is gone (expired or deleted)."""
        for index in self._scan("u", count=batch_size):
            members = [text(m) for m in client.zrangebyscore(index, "-inf", bound)]
            if not members:
                continue
            pipe = client.pipeline(transaction=False)
            for public_id in members:
                pipe.exists(self.key(public_id))
            gone = [p for p, n in zip(members, pipe.execute(), strict=True) if not n]
            if gone:
                client.zrem(index, *gone)
