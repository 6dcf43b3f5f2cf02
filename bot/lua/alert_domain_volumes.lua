-- The volume of some recipient domains of one campaign, for the alert tick: the domains whose provider it learnt
-- from the MX cache after alert_summary.lua had read the campaign (bot/alert_summaries.py).
--
-- KEYS: the domain hashes (one per shard, as merge.lua maintains them) of one campaign (several hash slots: a
-- single Redis server only). ARGV: the domains.
-- Returns flat triples, as alert_summary.lua's domains: domain, recipients with a Send (any state but unknown),
-- pending (send_only + delayed); a domain without recipients in the campaign is left out.
local SENT_STATES = {'send_only', 'delayed', 'delivered', 'bounced', 'suppressed', 'complained', 'rejected',
                     'rendering_failed'}
local out = {}
for _, domain in ipairs(ARGV) do
  local fields = {}
  for i, state in ipairs(SENT_STATES) do fields[i] = domain .. '|' .. state end
  local sent, pending, seen = 0, 0, false
  for k = 1, #KEYS do
    local values = redis.call('HMGET', KEYS[k], unpack(fields))
    for i, v in ipairs(values) do
      if v then
        seen = true
        sent = sent + tonumber(v)
        if i <= 2 then pending = pending + tonumber(v) end
      end
    end
  end
  if seen then
    out[#out + 1] = domain; out[#out + 1] = sent; out[#out + 1] = pending
  end
end
return out
