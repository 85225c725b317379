-- cached_db: bring a cached copy in line with a database write.
-- KEYS: the copy. ARGV: TTL in ms or '' (keep), nocache TTL in ms, '1' if
-- data follows else '', data, then position, value pairs of the changed
-- fields. Applies the changes to a live copy and counts its version up, as
-- the database's write did; with no copy, or nothing to apply, writes the
-- marker "nocache". Never overwrites "gone".
-- Returns 0 (gone), 1 (refreshed), 2 (marked nocache).
local raw = redis.call('GET', KEYS[1])
if raw == 'gone' then return 0 end
if raw and raw ~= 'nocache' and (ARGV[3] == '1' or #ARGV > 4) then
  local f, data = fields(raw)
  for i = 5, #ARGV, 2 do f[tonumber(ARGV[i])] = ARGV[i + 1] end
  f[F.version] = string.format('%d', (tonumber(f[F.version]) or 0) + 1)
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
