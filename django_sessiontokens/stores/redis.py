"""Redis store: one string per session, a per-user index, atomic Lua writes.

Keys (``P`` = ``SESSIONTOKENS_REDIS_KEY_PREFIX``, ``T`` = the public id's
first 8 characters, its routing tag)::

    P:{T}:s:<public id>   string: ``m`` the record without data (JSON), a
                          newline, the data (``redis_base``); TTL = time
                          left before expiry
    P:{T}:u:<user id>     sorted set: that user's public ids (with tag T),
                          scored by expiry (microseconds since the epoch)
    P:{all}:activity      sorted set: signed-in public ids by last activity
    P:{all}:expiry        sorted set: every session by expiry; members are
                          "<public id>" or "<public id> <user id>"

A session and its user's index share the hash tag ``{T}``, so each write is
one Lua script (one round trip) that is atomic on Redis Cluster too. The two
``{all}`` sets live in another slot: on a single Redis the same script keeps
them, on Cluster one pipelined command follows; neither is the authority.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django_sessiontokens.core import tokens
from django_sessiontokens.exceptions import CreateError, UpdateError
from django_sessiontokens.stores.base import UPDATABLE, BaseStore, SessionRecord
from django_sessiontokens.stores.redis_base import (
    IMPORTED_TAG,
    LUA_FIELDS,
    RedisBase,
    call,
    escape_glob,
    is_cluster,
    micros,
    pack_changes,
    pack_record,
    run_script,
    text,
    ttl_ms,
    unpack,
)

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs

# Lua ---------------------------------------------------------------------
# A session key is P:{T}:s:<pid>; its user's index is P:{T}:u:<uid>.
_INDEX = "string.sub({key}, 1, #{key} - #{pid} - 2) .. 'u:'"
# KEYS: session [, activity, expiry]
# ARGV: ttl ms, value, public id, user id, expiry score, activity score
_CREATE = f"""
if not redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1], 'NX') then return 0 end
local pid, uid = ARGV[3], ARGV[4]
local member = pid
if uid ~= '' then
  local index = {_INDEX.format(key="KEYS[1]", pid="pid")} .. uid
  redis.call('ZADD', index, ARGV[5], pid)
  if redis.call('PTTL', index) < tonumber(ARGV[1]) then
    redis.call('PEXPIRE', index, ARGV[1])
  end
  member = pid .. ' ' .. uid
  if KEYS[2] then redis.call('ZADD', KEYS[2], ARGV[6], pid) end
end
if KEYS[3] then redis.call('ZADD', KEYS[3], ARGV[5], member) end
return 1
"""
# Update, or compare-and-set of the secret when ARGV[1] is not empty; never
# creates. The index and the {{all}} sets change only when their score does.
# KEYS: session [, activity, expiry]
# ARGV: expected hash, ttl ms ('' = keep), '1' if data follows else '', data,
# then position, value pairs of the fields that change.
# Returns 1 done, 0 gone, -1 lost the CAS; on Cluster (no KEYS[2]) a done
# write returns {1, old user, user, old expiry, expiry, old activity, activity}.
_WRITE = (
    LUA_FIELDS
    + f"""
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local f, data = fields(raw)
if ARGV[1] ~= '' and f[F.secret_hash] ~= ARGV[1] then return -1 end
local old, oldexp, oldact = f[F.user_id], f[F.expires_at], f[F.last_activity]
for i = 5, #ARGV, 2 do f[tonumber(ARGV[i])] = ARGV[i + 1] end
if ARGV[3] == '1' then data = ARGV[4] end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], join(f, data), 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], join(f, data), 'KEEPTTL')
end
local pid, uid = f[F.public_id], f[F.user_id]
local exp, act = f[F.expires_at], f[F.last_activity]
local base = {_INDEX.format(key="KEYS[1]", pid="pid")}
if old ~= uid and old ~= '' then redis.call('ZREM', base .. old, pid) end
if uid ~= '' and (uid ~= old or exp ~= oldexp) then
  local index = base .. uid
  redis.call('ZADD', index, exp, pid)
  local ttl = tonumber(ARGV[2]) or redis.call('PTTL', KEYS[1])
  if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
end
if not KEYS[2] then return {{1, old, uid, oldexp, exp, oldact, act}} end
if uid ~= old then
  redis.call('ZREM', KEYS[3], old == '' and pid or pid .. ' ' .. old)
end
if uid ~= old or exp ~= oldexp then
  redis.call('ZADD', KEYS[3], exp, uid == '' and pid or pid .. ' ' .. uid)
end
if uid == '' then
  if old ~= '' then redis.call('ZREM', KEYS[2], pid) end
elseif uid ~= old or act ~= oldact then
  redis.call('ZADD', KEYS[2], act, pid)
end
return 1
"""
)
# New data, the fields unchanged (a write inside the touch interval).
# KEYS: session. ARGV: data. Returns 1 done, 0 gone.
_DATA = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local cut = string.find(raw, '\\n', 1, true)
redis.call('SET', KEYS[1], string.sub(raw, 1, cut) .. ARGV[1], 'KEEPTTL')
return 1
"""
# Delete sessions (of one tag on Cluster). KEYS: a session key (routing)
# [, activity, expiry]. ARGV: key prefix, expired-before bound ('' =
# unconditional), limit, quiet ('1': no records back), members ("<pid>" or
# "<pid> <uid>")... With a limit (single Redis), the members are the expiry
# set's first ones up to the bound. Returns {deleted records' fields, live
# records' fields (kept: they expire after the bound), how many members were
# looked at, how many sessions were deleted}.
_DELETE = (
    LUA_FIELDS
    + f"""
local prefix, bound = ARGV[1], tonumber(ARGV[2])
local members = {{}}
if ARGV[3] ~= '' then
  members = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
else
  for i = 5, #ARGV do members[#members + 1] = ARGV[i] end
end
local out, live, keys, pids, names = {{}}, {{}}, {{}}, {{}}, {{}}
for _, member in ipairs(members) do
  local space = string.find(member, ' ', 1, true)
  local pid = space and string.sub(member, 1, space - 1) or member
  local tag = string.sub(pid, 1, {tokens.TAG_LENGTH})
  local key = prefix .. ':{{' .. tag .. '}}:s:' .. pid
  local raw = redis.call('GET', key)
  local uid = space and string.sub(member, space + 1) or ''
  local expires, meta = nil, nil
  if raw then
    uid, expires = field(raw, F.user_id), tonumber(field(raw, F.expires_at))
    meta = string.sub(raw, 1, string.find(raw, '\\n', 1, true) - 1)
  end
  local named = uid == '' and pid or pid .. ' ' .. uid
  if raw and bound and expires > bound then
    live[#live + 1] = meta
    if KEYS[3] then
      if named ~= member then redis.call('ZREM', KEYS[3], member) end
      redis.call('ZADD', KEYS[3], expires, named)
    end
  else
    if raw then
      keys[#keys + 1] = key
      out[#out + 1] = meta
    end
    if uid ~= '' then
      redis.call('ZREM', {_INDEX.format(key="key", pid="pid")} .. uid, pid)
    end
    if uid ~= '' or not raw then pids[#pids + 1] = pid end
    names[#names + 1] = named
    if named ~= member then names[#names + 1] = member end
  end
end
-- Many keys per command: far fewer calls than one per session.
local function each(list, call)
  for i = 1, #list, 500 do call(unpack(list, i, math.min(i + 499, #list))) end
end
each(keys, function(...) redis.call('DEL', ...) end)
if KEYS[3] then
  each(pids, function(...) redis.call('ZREM', KEYS[2], ...) end)
  each(names, function(...) redis.call('ZREM', KEYS[3], ...) end)
end
if ARGV[4] == '1' then return {{{{}}, {{}}, #members, #out}} end
return {{out, live, #members, #out}}
"""
)


def member(public_id: str, user_id: str | None) -> str:
    """A session's member of the expiry set."""
    return f"{public_id} {user_id}" if user_id else public_id


class RedisStore(RedisBase, BaseStore):
    name = "redis"

    # Keys -------------------------------------------------------------------
    def key(self, public_id: str) -> str:
        return f"{self.prefix()}:{{{public_id[: tokens.TAG_LENGTH]}}}:s:{public_id}"

    def index_base(self, tag: str) -> str:
        return f"{self.prefix()}:{{{tag}}}:u:"

    def activity_key(self) -> str:
        return f"{self.prefix()}:{{all}}:activity"

    def expiry_key(self) -> str:
        return f"{self.prefix()}:{{all}}:expiry"

    def _globals(self, client: Any) -> list[str]:
        """The ``{all}`` keys, when scripts may touch them (not on Cluster)."""
        return [] if is_cluster(client) else [self.activity_key(), self.expiry_key()]

    # Reads ------------------------------------------------------------------
    def get(self, public_id: str) -> SessionRecord | None:
        with self.guard():
            raw = call(self.client(), "GET", self.key(public_id))
        return unpack(raw) if raw else None

    def _light(
        self, client: Any, public_ids: Sequence[str]
    ) -> list[SessionRecord | None]:
        """Records without data, one pipelined round trip."""
        if not public_ids:
            return []
        pipe = client.pipeline(transaction=False)
        for public_id in public_ids:
            pipe.get(self.key(public_id))
        return [unpack(raw, data=False) if raw else None for raw in pipe.execute()]

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
        cutoffs: Cutoffs,
        *,
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
            and (state == "all" or (state == "active") != cutoffs.expired(rec))
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
                raw = client.get(key)
                if raw:
                    yield unpack(raw)

    def _scan(self, kind: str, count: int = 1000) -> Iterator[str]:
        pattern = f"{escape_glob(self.prefix())}:{{*}}:{kind}:*"
        for key in self.client().scan_iter(match=pattern, count=count):
            yield text(key)

    # Writes -----------------------------------------------------------------
    def create(self, record: SessionRecord) -> None:
        expiry = micros(record.expires_at)
        activity = micros(record.last_activity)
        with self.guard():
            client = self.client()
            done = self.script(client, _CREATE)(
                keys=[self.key(record.public_id), *self._globals(client)],
                args=[
                    ttl_ms(record.expires_at),
                    pack_record(record),
                    record.public_id,
                    record.user_id or "",
                    expiry,
                    activity,
                ],
            )
            if not done:
                raise CreateError
            if is_cluster(client):
                pipe = client.pipeline(transaction=False)
                name = member(record.public_id, record.user_id)
                pipe.zadd(self.expiry_key(), {name: expiry})
                if record.user_id is not None:
                    pipe.zadd(self.activity_key(), {record.public_id: activity})
                pipe.execute()

    def _write(self, public_id: str, expected: str, changes: dict[str, Any]) -> int:
        if not expected and changes.keys() == {"data"}:
            with self.guard():
                return int(self.run(_DATA, [self.key(public_id)], [changes["data"]]))
        expires_at = changes.get("expires_at")
        args = [expected, ttl_ms(expires_at) if expires_at else ""]
        if "data" in changes:
            args += ["1", changes["data"]]
        else:
            args += ["", ""]
        args += pack_changes(changes)
        with self.guard():
            client = self.client()
            result = run_script(
                client,
                self.script(client, _WRITE),
                [self.key(public_id), *self._globals(client)],
                args,
            )
            if isinstance(result, int):
                return result
            self._follow_write(client, public_id, [text(v) for v in result[1:]])
        return 1

    def _follow_write(self, client: Any, public_id: str, values: list[str]) -> None:
        """On Cluster: bring the ``{all}`` sets in line after a write."""
        old, uid, old_expiry, expiry, old_activity, activity = values
        pipe = client.pipeline(transaction=False)
        if uid != old:
            pipe.zrem(self.expiry_key(), member(public_id, old))
        if uid != old or expiry != old_expiry:
            pipe.zadd(self.expiry_key(), {member(public_id, uid): int(expiry)})
        if not uid:
            if old:
                pipe.zrem(self.activity_key(), public_id)
        elif uid != old or activity != old_activity:
            pipe.zadd(self.activity_key(), {public_id: int(activity)})
        if len(pipe):
            pipe.execute()

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

    def delete(self, public_ids: Sequence[str]) -> list[SessionRecord]:
        with self.guard():
            return self._delete(self.client(), public_ids, bound="")[0]

    def _delete(
        self, client: Any, members: Iterable[str], *, bound: str
    ) -> tuple[list[SessionRecord], list[SessionRecord]]:
        """Delete by expiry-set member (or public id): ``(removed, live)``,
        ``live`` being the records kept because they expire after ``bound``."""
        members = list(dict.fromkeys(members))
        if not members:
            return [], []
        script = self.script(client, _DELETE)
        cluster = is_cluster(client)
        groups: dict[str, list[str]] = {"": members}
        if cluster:
            # redis-py runs no script in a Cluster pipeline: one call per tag.
            groups = {}
            for name in members:
                groups.setdefault(name[: tokens.TAG_LENGTH], []).append(name)
        prefix, extra = self.prefix(), self._globals(client)
        removed: list[SessionRecord] = []
        live: list[SessionRecord] = []
        for group in groups.values():
            reply = script(
                keys=[self.key(group[0].split(" ", 1)[0]), *extra],
                args=[prefix, bound, "", "", *group],
            )
            removed += [unpack(fields, data=False) for fields in reply[0]]
            live += [unpack(fields, data=False) for fields in reply[1]]
        if cluster:
            self._follow_delete(client, members, removed, live)
        return removed, live

    def _follow_delete(
        self,
        client: Any,
        members: list[str],
        removed: list[SessionRecord],
        live: list[SessionRecord],
    ) -> None:
        """On Cluster: drop deleted sessions from the ``{all}`` sets and give
        live ones their real expiry."""
        kept = {member(r.public_id, r.user_id): r for r in live}
        drop = [name for name in members if name not in kept]
        drop += [member(r.public_id, r.user_id) for r in removed]
        pipe = client.pipeline(transaction=False)
        pipe.zrem(self.expiry_key(), *dict.fromkeys(drop))
        pipe.zrem(self.activity_key(), *{name.split(" ", 1)[0] for name in drop})
        if kept:
            pipe.zadd(
                self.expiry_key(),
                {name: micros(r.expires_at) for name, r in kept.items()},
            )
        pipe.execute()

    def purge_batch_size(self) -> int:
        # Each batch is one script, and Redis serves nobody else while it
        # runs: about 10 ms per 1,000 sessions on the benchmark machine.
        return 1000

    def purge_expired(
        self, cutoffs: Cutoffs, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        """Walk the expiry set up to ``now``, one batch at a time: one script
        per batch on a single Redis, a read and a script per tag on Cluster."""
        bound = micros(cutoffs.now)
        with self.guard():
            client = self.client()
            if dry_run:
                yield from self._count_expired(client, bound, batch_size)
            elif is_cluster(client):
                yield from self._purge_cluster(client, bound, batch_size)
            else:
                for reply in self._purge_batches(client, bound, batch_size, ""):
                    removed = [unpack(fields, data=False) for fields in reply[0]]
                    if removed:
                        yield removed

    def purge_expired_quietly(
        self, cutoffs: Cutoffs, *, batch_size: int
    ) -> Iterator[int]:
        bound = micros(cutoffs.now)
        with self.guard():
            client = self.client()
            if is_cluster(client):
                for batch in self._purge_cluster(client, bound, batch_size):
                    yield len(batch)
                return
            for reply in self._purge_batches(client, bound, batch_size, "1"):
                if reply[3]:
                    yield int(reply[3])

    def _purge_batches(
        self, client: Any, bound: int, batch_size: int, quiet: str
    ) -> Iterator[Any]:
        """Single Redis: each batch is one script that reads the expiry set up
        to the bound and deletes what it names; its replies."""
        script = self.script(client, _DELETE)
        keys = [self.expiry_key(), *self._globals(client)]
        while True:
            reply = script(keys=keys, args=[self.prefix(), bound, batch_size, quiet])
            if not reply[2]:
                return
            yield reply

    def _purge_cluster(
        self, client: Any, bound: int, batch_size: int
    ) -> Iterator[list[SessionRecord]]:
        while True:
            members = client.zrangebyscore(
                self.expiry_key(), "-inf", bound, start=0, num=batch_size
            )
            if not members:
                return
            removed, _live = self._delete(
                client, [text(m) for m in members], bound=str(bound)
            )
            if removed:
                yield removed

    def _count_expired(
        self, client: Any, bound: int, batch_size: int
    ) -> Iterator[list[SessionRecord]]:
        """What the purge would remove, without removing anything."""
        low, skip = "-inf", 0
        while True:
            rows = client.zrangebyscore(
                self.expiry_key(), low, bound, skip, batch_size, withscores=True
            )
            if not rows:
                return
            public_ids = [text(name).split(" ", 1)[0] for name, _score in rows]
            found = [
                rec
                for rec in self._light(client, public_ids)
                if rec is not None and micros(rec.expires_at) <= bound
            ]
            if found:
                yield found
            last = int(rows[-1][1])
            same = sum(1 for _name, score in rows if int(score) == last)
            skip = skip + len(rows) if low == str(last) else same
            low = str(last)
