-- New data, the fields unchanged (a write inside the touch interval).
-- KEYS: the session. ARGV: the data. Returns 1 done, 0 gone.
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local cut = string.find(raw, '\n', 1, true)
redis.call('SET', KEYS[1], string.sub(raw, 1, cut) .. ARGV[1], 'KEEPTTL')
return 1
