-- Stable numeric ids for names (campaigns, configuration sets), handed out once, atomically.
-- KEYS[1] ids hash (name -> id), KEYS[2] names hash (id -> name), KEYS[3] sequence. ARGV: names.
-- Returns the ids in ARGV order.
local out = {}
for i, name in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], name)
  if not id then
    id = redis.call('INCR', KEYS[3])
    redis.call('HSET', KEYS[1], name, id)
    redis.call('HSET', KEYS[2], id, name)
  end
  out[i] = tonumber(id)
end
return out
