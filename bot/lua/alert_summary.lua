-- What the scheduled alert checks read of one campaign, reduced on the server so a check tick over a thousand
-- campaigns neither ships nor parses every per-minute and per-domain counter.
--
-- KEYS: the triples (aggregates hash, domain hash, minute hash) of every shard of one campaign, as merge.lua
-- maintains them. They span several hash slots: a single Redis server only (on Redis Cluster the caller reads
-- Store.campaign_summary instead).
-- ARGV[1] settled cut (a minute): Send counts of the minutes below it are returned summed per hour
-- ARGV[2] the fewest pending recipients a domain (or provider) needs for a domain spike: smaller ones are left out
-- ARGV[3] the providers known by name, one "domain<TAB>provider" per line (one argument, read only when the
-- campaign has enough pending recipients). A provider's domains are counted as one group and, when the group
-- qualifies, each of its domains present in the campaign is reported, so its volume is whole.
--
-- Fields are matched with HSCAN ... MATCH (in C) rather than in Lua: only the few fields wanted reach the script,
-- three scans per shard, and a fourth (the pending domains) only when the campaign has at least ARGV[2] pending
-- recipients in all.
-- Returns {agg, domains, minutes, hours, groups}, summed over the shards given:
--   agg      flat field/value pairs: states (s|, summed), latest event per type (lt|), configuration sets (cs|),
--            last_send, first_send_neg (maxima)
--   domains  flat triples: domain, recipients with a Send (any state but unknown), pending (send_only + delayed)
--   minutes  flat field/value pairs: Send-only by send minute (so|), delayed by expiry minute (dl|)
--   hours    flat pairs: hour, recipients sent in that hour's minutes below the cut (e|Send|)
--   groups   flat pairs: group (a domain, or "\0" .. provider), its pending recipients; empty when the pending
--            domains were not read

local cut = tonumber(ARGV[1])
local min_pending = tonumber(ARGV[2])
local provider_of, domains_of = {}, {}
local function read_providers()
  for domain, provider in string.gmatch(ARGV[3] or '', '([^\t\n]+)\t([^\n]+)') do
    provider_of[domain] = provider
    local list = domains_of[provider]
    if list == nil then list = {}; domains_of[provider] = list end
    list[#list + 1] = domain
  end
end
local SENT_STATES = {'send_only', 'delayed', 'delivered', 'bounced', 'suppressed', 'complained', 'rejected',
                     'rendering_failed'}

local function scan(key, pattern, fn)
  local cursor = '0'
  repeat
    local reply = redis.call('HSCAN', key, cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = reply[1]
    local items = reply[2]
    for i = 1, #items, 2 do fn(items[i], items[i + 1]) end
  until cursor == '0'
end

local sums, maxima, order = {}, {}, {}
local function sum(f, v)
  if sums[f] == nil then order[#order + 1] = f; sums[f] = 0 end
  sums[f] = sums[f] + tonumber(v)
end
local function max(f, v)
  v = tonumber(v)
  if maxima[f] == nil or v > maxima[f] then maxima[f] = v end
end

local minutes, by_hour = {}, {}
local pending_by_domain, domain_order = {}, {}
local sent_by_domain = {}
local group_pending, group_order = {}, {}  -- a provider's domains form one group, any other domain its own
local function pending(f, v)
  local domain = string.match(f, '^(.*)|[^|]*$')
  if domain ~= nil then
    local group = provider_of[domain] and ('\0' .. provider_of[domain]) or domain
    if group_pending[group] == nil then group_pending[group] = 0; group_order[#group_order + 1] = group end
    group_pending[group] = group_pending[group] + tonumber(v)
  end
end

for k = 1, #KEYS, 3 do
  local agg, min = KEYS[k], KEYS[k + 2]
  -- one scan for s|, lt|, cs|, last_send and first_send_neg (it also lets ct| and fd| through: skipped here)
  scan(agg, '[slcf]*', function(f, v)
    local a, b = string.byte(f, 1, 2)
    if a == 115 and b == 124 then sum(f, v)  -- s|
    elseif (a == 108 and b == 116) or (a == 99 and b == 115) then max(f, v)  -- lt|, cs|
    elseif f == 'last_send' or f == 'first_send_neg' then max(f, v)
    end
  end)

  -- so| (Send-only by send minute) and dl| (delayed by expiry minute) in one scan
  scan(min, '[sd][ol]|*', function(f, v) minutes[f] = (minutes[f] or 0) + tonumber(v) end)
  scan(min, 'e|Send|*', function(f, v)
    local m = tonumber(string.sub(f, 8))
    if m ~= nil and m < cut then
      local h = math.floor(m / 60)
      by_hour[h] = (by_hour[h] or 0) + tonumber(v)
    end
  end)
end

-- The pending domains only when the campaign has enough pending recipients for one group to reach min_pending
-- (no group can have more than the whole campaign): most campaigns of a tick are read for other reasons.
if (sums['s|send_only'] or 0) + (sums['s|delayed'] or 0) >= min_pending then
  read_providers()
  for k = 2, #KEYS, 3 do
    scan(KEYS[k], '*|[sd]e[nl][da][_y]*', pending)  -- the states send_only and delayed, no other
  end
end

-- Second pass, once every shard's pending domains are known: each wanted domain's volume over all shards.
local wanted = {}
for _, group in ipairs(group_order) do
  if group_pending[group] >= min_pending then
    local members = string.byte(group, 1) == 0 and domains_of[string.sub(group, 2)] or {group}
    for _, d in ipairs(members) do wanted[#wanted + 1] = d end
  end
end
for k = 1, #KEYS, 3 do
  local dom = KEYS[k + 1]
  for _, domain in ipairs(wanted) do
    local fields = {}
    for i, state in ipairs(SENT_STATES) do fields[i] = domain .. '|' .. state end
    local values = redis.call('HMGET', dom, unpack(fields))
    for i, v in ipairs(values) do
      if v then
        if sent_by_domain[domain] == nil then
          domain_order[#domain_order + 1] = domain; sent_by_domain[domain] = 0; pending_by_domain[domain] = 0
        end
        sent_by_domain[domain] = sent_by_domain[domain] + tonumber(v)
        if i <= 2 then pending_by_domain[domain] = pending_by_domain[domain] + tonumber(v) end
      end
    end
  end
end

local agg_out = {}
for _, f in ipairs(order) do agg_out[#agg_out + 1] = f; agg_out[#agg_out + 1] = sums[f] end
for f, v in pairs(maxima) do agg_out[#agg_out + 1] = f; agg_out[#agg_out + 1] = string.format('%d', v) end
local domains_out = {}
for _, d in ipairs(domain_order) do
  domains_out[#domains_out + 1] = d
  domains_out[#domains_out + 1] = sent_by_domain[d]
  domains_out[#domains_out + 1] = pending_by_domain[d]
end
local minutes_out = {}
for f, n in pairs(minutes) do minutes_out[#minutes_out + 1] = f; minutes_out[#minutes_out + 1] = n end
local hours_out = {}
for h, n in pairs(by_hour) do hours_out[#hours_out + 1] = h; hours_out[#hours_out + 1] = n end
-- Every group's pending recipients (a provider's prefixed "\0"): the caller looks the ungrouped domains' providers
-- up in the MX cache and, when a provider of them reaches min_pending, adds those domains (alert_domain_counts.lua).
local groups_out = {}
for _, group in ipairs(group_order) do
  groups_out[#groups_out + 1] = group
  groups_out[#groups_out + 1] = group_pending[group]
end
return {agg_out, domains_out, minutes_out, hours_out, groups_out}
