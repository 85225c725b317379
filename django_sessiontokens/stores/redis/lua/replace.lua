-- Rotation to a new public id (single Redis): remove the old session (a
-- moving tombstone) and insert the new one, only if the old one is still
-- stored.
-- KEYS: the old session, the index of the user believed to own it (the old
-- key when none), the new session, its user's index (the new key when
-- anonymous), then the six {all} sets.
-- ARGV: the believed old user id or '', the new TTL in ms, the new value.
-- Returns 1 replaced, 0 the old one is gone (nothing written), -3 the new
-- public id is taken, {-2, user id} when the old session belongs to another
-- user than believed (nothing written).
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local f = split(meta(raw))
local old = f[F.user_id]
if old ~= '' and old ~= ARGV[1] then return {-2, old} end
if redis.call('EXISTS', KEYS[3]) == 1 then return -3 end
local S = sets_at(5)
redis.call('DEL', KEYS[1])
if old ~= '' then redis.call('ZREM', KEYS[2], f[F.public_id]) end
sets_remove(S, f[F.public_id], old)
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
local g = split(meta(ARGV[3]))
if g[F.user_id] ~= '' then
  index_add(KEYS[4], g[F.public_id], g[F.expires_at], ARGV[2])
end
sets_add(S, g)
return 1
