-- Delete sessions, unconditionally or only those still expired.
-- KEYS: for each session its key, then the index of the user the caller
-- believes owns it (the session key when none); then on a single Redis the
-- six {all} sets.
-- ARGV: n (how many sessions), quiet ('1': no records back), spare ('1':
-- sessions with an impersonator are left alone and reported as kept), the
-- cutoffs now, idle, absolute, anonymous, remembered idle, remembered
-- absolute (microseconds, '' = no such bound; now '' deletes
-- unconditionally), then for each session its public id and the believed
-- user id ('' = none or unknown).
-- A session owned by another user than believed is left alone and named
-- in the reply, so the caller retries it with the right index. A session
-- alive under the cutoffs is kept (its set members are written again, so
-- it leaves the ranges that named it).
-- Returns {removed records' fields, kept records' fields, "<pid> <uid>" of
-- the misattributed ones, how many were removed}.
local n, quiet, spare = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local now, idle = tonumber(ARGV[4]), tonumber(ARGV[5])
local absolute, anon = tonumber(ARGV[6]), tonumber(ARGV[7])
local ridle, rabsolute = tonumber(ARGV[8]), tonumber(ARGV[9])
local S = sets_at(2 * n + 1)
local function expired(f)
  if tonumber(f[F.expires_at]) <= now then return true end
  if f[F.user_id] == '' then
    return anon ~= nil and tonumber(f[F.last_activity]) <= anon
  end
  local i, a = idle, absolute
  if remembered(f) then i, a = ridle, rabsolute end
  if i and tonumber(f[F.last_activity]) <= i then return true end
  return a ~= nil and tonumber(started(f)) <= a
end
local out, live, retry, dead, count = {}, {}, {}, {}, 0
-- What leaves the {all} sets, removed many members per command at the end.
local names, pids = {}, {}
for i = 1, n do
  local key, index = KEYS[2 * i - 1], KEYS[2 * i]
  local pid, believed = ARGV[8 + 2 * i], ARGV[9 + 2 * i]
  local raw = redis.call('GET', key)
  local m = raw and meta(raw)
  local f = m and split(m)
  local uid = f and f[F.user_id] or believed
  if uid ~= believed and uid ~= '' then
    retry[#retry + 1] = pid .. ' ' .. uid
  elseif f and spare == '1' and f[F.impersonator_id] ~= '' then
    live[#live + 1] = m
  elseif f and now and not expired(f) then
    live[#live + 1] = m
    if S then
      sets_remove(S, pid, uid)
      sets_add(S, f)
    end
  else
    if raw then
      dead[#dead + 1] = key
      count = count + 1
      if quiet ~= '1' then out[#out + 1] = m end
    end
    if uid ~= '' then redis.call('ZREM', index, pid) end
    pids[#pids + 1] = pid
    names[#names + 1] = pid
    if uid ~= '' then names[#names + 1] = pid .. ' ' .. uid end
    if believed ~= '' and believed ~= uid then
      names[#names + 1] = pid .. ' ' .. believed
    end
  end
end
-- Many keys per command: far fewer calls than one per session.
local function each(list, call)
  for i = 1, #list, 500 do call(unpack(list, i, math.min(i + 499, #list))) end
end
each(dead, function(...) redis.call('DEL', ...) end)
if S then
  each(names, function(...) redis.call('ZREM', S.expiry, ...) end)
  for _, set in ipairs({S.activity, S.auth, S.anon, S.ractivity, S.rauth}) do
    each(pids, function(...) redis.call('ZREM', set, ...) end)
  end
end
return {out, live, retry, count}
