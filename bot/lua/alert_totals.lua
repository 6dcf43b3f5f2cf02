-- The cheap first look of a check tick at one campaign: its recipients per state, and whether it sent through
-- the configuration sets whose SNS subscription is unconfirmed, summed over its shards' aggregates hashes. The
-- tick then reads more (alert_summary.lua) only of the campaigns with enough pending recipients for an alert to
-- fire, or that sent through such a configuration set.
--
-- KEYS: the aggregates hash of every shard of one campaign (several hash slots: a single Redis server only).
-- ARGV: the fields to sum: 's|<state>' (recipients in that state), 'cs|<id>' (the configuration set's latest
-- Send: non-zero when the campaign sent through it). Returns the sums, in ARGV's order.
local totals = {}
for i = 1, #ARGV do totals[i] = 0 end
for k = 1, #KEYS do
  local values = redis.call('HMGET', KEYS[k], unpack(ARGV))
  for i, v in ipairs(values) do
    if v then totals[i] = totals[i] + tonumber(v) end
  end
end
return totals
