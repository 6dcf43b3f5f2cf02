-- Every recipient domain of one campaign with its pending recipients (Send-only or delayed) and its recipients with
-- a Send (any state but unknown): what the mx_cache job resolves, and the domains (and volumes) the alert tick
-- needs when it groups a campaign's domains by their cached MX (bot/alert_summaries.py).
--
-- KEYS: the domain hashes (one per shard, as merge.lua maintains them) of one campaign; on Redis Cluster the caller
-- passes one shard per call (they live in different hash slots).
-- Returns flat triples, as alert_summary.lua's domains: domain, pending, recipients with a Send, summed over
-- the shards given.
local PENDING = {send_only = true, delayed = true}
local SENT = {send_only = true, delayed = true, delivered = true, bounced = true, suppressed = true, complained = true,
              rejected = true, rendering_failed = true}
local pending, total, order = {}, {}, {}
for k = 1, #KEYS do
  local cursor = '0'
  repeat
    local reply = redis.call('HSCAN', KEYS[k], cursor, 'COUNT', 1000)
    cursor = reply[1]
    local items = reply[2]
    for i = 1, #items, 2 do
      local domain, state = string.match(items[i], '^(.*)|([^|]*)$')
      if domain ~= nil then
        if total[domain] == nil then total[domain] = 0; pending[domain] = 0; order[#order + 1] = domain end
        local n = tonumber(items[i + 1])
        if SENT[state] then total[domain] = total[domain] + n end
        if PENDING[state] then pending[domain] = pending[domain] + n end
      end
    end
  until cursor == '0'
end
local out = {}
for _, domain in ipairs(order) do
  out[#out + 1] = domain; out[#out + 1] = pending[domain]; out[#out + 1] = total[domain]
end
return out
