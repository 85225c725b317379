-- Compare-and-set of a device binding (stores/redis/bindings.py).
-- KEYS[1] the binding; ARGV[1] the version expected ("-1": none stored),
-- ARGV[2] the new value ("<version>\n<json>"), ARGV[3] its TTL (ms).
local current = redis.call('GET', KEYS[1])
local have = -1
if current then
  have = tonumber(string.match(current, '^(%d+)\n')) or -2
end
if have ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
