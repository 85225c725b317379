-- Shared helpers, after `local F = {...}` (each field's position in a
-- stored record, codec.STORED) and before each script's own code.
-- A stored record: its fields joined by SEP, a newline, its data.
local SEP = '\031'
local function meta(raw)
  return string.sub(raw, 1, string.find(raw, '\n', 1, true) - 1)
end
local function split(m)
  local out, start = {}, 1
  while true do
    local i = string.find(m, SEP, start, true)
    if not i then
      out[#out + 1] = string.sub(m, start)
      return out
    end
    out[#out + 1] = string.sub(m, start, i - 1)
    start = i + 1
  end
end
local function fields(raw)
  local cut = string.find(raw, '\n', 1, true)
  return split(string.sub(raw, 1, cut - 1)), string.sub(raw, cut + 1)
end
local function join(f, data)
  return table.concat(f, SEP) .. '\n' .. data
end
-- When a session signed in (or was created): the absolute limit's start.
local function started(f)
  if f[F.authenticated_at] ~= '' then return f[F.authenticated_at] end
  return f[F.created_at]
end
-- "Keep me signed in" (a record stored before the field has none).
local function remembered(f)
  return f[F.remembered] == '1'
end
-- The {all} sets at KEYS[first..first+5] (expiry, activity, auth, anon,
-- ractivity, rauth), or nil when the caller passed none (Cluster: it keeps
-- them itself).
local function sets_at(first)
  if not KEYS[first] then return nil end
  return {expiry = KEYS[first], activity = KEYS[first + 1],
          auth = KEYS[first + 2], anon = KEYS[first + 3],
          ractivity = KEYS[first + 4], rauth = KEYS[first + 5]}
end
-- The sets of a session's kind: by activity, by sign-in (nil: anonymous).
local function kind_sets(S, f)
  if f[F.user_id] == '' then return S.anon, nil end
  if remembered(f) then return S.ractivity, S.rauth end
  return S.activity, S.auth
end
local function sets_add(S, f)
  local pid, uid = f[F.public_id], f[F.user_id]
  local act, auth = kind_sets(S, f)
  redis.call('ZADD', S.expiry, f[F.expires_at], uid == '' and pid or pid .. ' ' .. uid)
  redis.call('ZADD', act, f[F.last_activity], pid)
  if auth then redis.call('ZADD', auth, started(f), pid) end
end
local function sets_remove(S, pid, uid)
  redis.call('ZREM', S.expiry, pid)
  if uid ~= '' then redis.call('ZREM', S.expiry, pid .. ' ' .. uid) end
  for _, set in ipairs({S.activity, S.auth, S.anon, S.ractivity, S.rauth}) do
    redis.call('ZREM', set, pid)
  end
end
-- A user index holds its public ids scored by expiry and lives as long as
-- its longest session.
local function index_add(index, pid, score, ttl)
  redis.call('ZADD', index, score, pid)
  if redis.call('PTTL', index) < tonumber(ttl) then
    redis.call('PEXPIRE', index, ttl)
  end
end
