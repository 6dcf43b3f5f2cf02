-- The recipient domains of one campaign with pending recipients (Send-only or delayed), for the mx_cache job.
--
-- KEYS: the domain hashes (one per shard, as merge.lua maintains them) of one campaign; on Redis Cluster the caller
-- passes one shard per call (they live in different hash slots).
-- Returns flat pairs: domain, pending recipients summed over the shards given.
local pending, order = {}, {}
for k = 1, #KEYS do
  local cursor = '0'
  repeat
    local reply = redis.call('HSCAN', KEYS[k], cursor, 'MATCH', '*|[sd]e[nl][da][_y]*', 'COUNT', 1000)
    cursor = reply[1]
    local items = reply[2]
    for i = 1, #items, 2 do
      local domain = string.match(items[i], '^(.*)|[^|]*$')
      if domain ~= nil then
        if pending[domain] == nil then pending[domain] = 0; order[#order + 1] = domain end
        pending[domain] = pending[domain] + tonumber(items[i + 1])
      end
    end
  until cursor == '0'
end
local out = {}
for _, domain in ipairs(order) do out[#out + 1] = domain; out[#out + 1] = pending[domain] end
return out
