-- Update, or compare-and-set of the secret when ARGV[1] is not empty;
-- never creates. The indexes and {all} sets change only where a score does.
-- KEYS: the session; the index of the user the caller believes owns it (the
-- session key when none); the index of the user the changes sign in (the
-- session key when none); then on a single Redis the six {all} sets.
-- ARGV: expected secret hash or '', believed user id or '', TTL in ms or ''
-- (keep), '1' if data follows else '', data, then position, value pairs.
-- Returns 1 done, 0 gone, -1 lost the compare-and-set, {-2, user id} when
-- the session belongs to another user than believed (nothing written: the
-- caller retries with that user's index); on Cluster a done write returns
-- {1, fields before, fields after} for the caller to keep the {all} sets.
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local f, data = fields(raw)
local old = f[F.user_id]
if old ~= '' and old ~= ARGV[2] then return {-2, old} end
if ARGV[1] ~= '' and f[F.secret_hash] ~= ARGV[1] then return -1 end
local before = table.concat(f, SEP)
local oldexp, oldact, oldauth = f[F.expires_at], f[F.last_activity], started(f)
local oldkind = remembered(f)
for i = 6, #ARGV, 2 do f[tonumber(ARGV[i])] = ARGV[i + 1] end
if ARGV[4] == '1' then data = ARGV[5] end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], join(f, data), 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], join(f, data), 'KEEPTTL')
end
local pid, uid, exp = f[F.public_id], f[F.user_id], f[F.expires_at]
if old ~= uid and old ~= '' then redis.call('ZREM', KEYS[2], pid) end
if uid ~= '' and (uid ~= old or exp ~= oldexp) then
  local ttl = tonumber(ARGV[3]) or redis.call('PTTL', KEYS[1])
  index_add(uid == old and KEYS[2] or KEYS[3], pid, exp, ttl)
end
local S = sets_at(4)
if not S then return {1, before, table.concat(f, SEP)} end
if uid ~= old or remembered(f) ~= oldkind then
  sets_remove(S, pid, old)
  sets_add(S, f)
  return 1
end
if exp ~= oldexp then
  redis.call('ZADD', S.expiry, exp, uid == '' and pid or pid .. ' ' .. uid)
end
local actset, authset = kind_sets(S, f)
local act = f[F.last_activity]
if act ~= oldact then
  redis.call('ZADD', actset, act, pid)
end
if authset and started(f) ~= oldauth then
  redis.call('ZADD', authset, started(f), pid)
end
return 1
