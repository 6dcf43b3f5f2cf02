-- Stable numeric ids for names (campaigns, configuration sets, recipient domains), handed out once, atomically.
-- KEYS[1] ids hash (name -> id), KEYS[2] names hash (id -> name), KEYS[3] sequence, KEYS[4] epoch (one slot).
-- ARGV[1] the epoch token the caller's cached ids belong to; ARGV[2..] names.
-- Returns the ids in ARGV[2..] order (existing ones as they are), or false without assigning anything when the
-- epoch is not the caller's: Redis lost its data, so a fresh sequence could hand out ids the caller still caches
-- for other names; the caller writes its cached ids back first (adopt_ids.lua) and asks again.
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return false end
local out = {}
for i = 2, #ARGV do
  local name = ARGV[i]
  local id = redis.call('HGET', KEYS[1], name)
  if not id then
    id = redis.call('INCR', KEYS[3])
    redis.call('HSET', KEYS[1], name, id)
    redis.call('HSET', KEYS[2], id, name)
  end
  out[i - 1] = tonumber(id)
end
return out
