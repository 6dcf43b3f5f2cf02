-- Recipients per state of one campaign, summed over its shards' aggregates hashes: the cheap first look of a
-- check tick, which then reads more (alert_summary.lua) only of the campaigns with enough pending recipients
-- for any alert to fire.
--
-- KEYS: the aggregates hash of every shard of one campaign (several hash slots: a single Redis server only).
-- ARGV: the state names. Returns the sum per state, in ARGV's order.
local fields = {}
for i, state in ipairs(ARGV) do fields[i] = 's|' .. state end
local totals = {}
for i = 1, #ARGV do totals[i] = 0 end
for k = 1, #KEYS do
  local values = redis.call('HMGET', KEYS[k], unpack(fields))
  for i, v in ipairs(values) do
    if v then totals[i] = totals[i] + tonumber(v) end
  end
end
return totals
