-- Insert a session.
-- KEYS: the session, its user's index (the session key again when
-- anonymous: not touched), then on a single Redis the six {all} sets.
-- ARGV: TTL in ms, the stored value.
-- Returns 1, or 0 when the public id is taken.
if not redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1], 'NX') then return 0 end
local f = split(meta(ARGV[2]))
if f[F.user_id] ~= '' then
  index_add(KEYS[2], f[F.public_id], f[F.expires_at], ARGV[1])
end
local S = sets_at(3)
if S then sets_add(S, f) end
return 1
