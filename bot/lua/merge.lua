-- Merge a batch of normalized events into the records of one campaign shard (one hash slot).
--
-- KEYS[1] aggregates hash, KEYS[2] domain hash, KEYS[3] minute hash (one slot).
-- ARGV[1] msgpack array of events:
--   {bucket, field, message_id, send_ms, config_set_id, recipient, domain, type_key, type_name,
--    offset_ms, detail, flags, expires_ms, outgoing_ip, from_domain}
-- ARGV[2] TTL in milliseconds. ARGV[3] the record-bucket key prefix: bucket keys are ARGV[3] .. b, in the same
-- hash slot as KEYS (same hash tag), built here so a batch does not ship thousands of key names.
-- Every key the batch touched gets its TTL back to ARGV[2] once it has run down by REFRESH_MS (an hour), so a key
-- costs one PTTL per batch that touches it and a PEXPIRE an hour, not a PEXPIRE per write.
--
-- A message record is {message_id, send_ms, config_set_id, {recipient = {flags, {type_key = entry}}}} where an
-- entry is offset_ms, or {offset_ms, detail, expires_ms} when it has details; each type keeps its latest event
-- (ties broken by the larger detail) and flags are OR-ed, so the merge is commutative and idempotent. Every
-- aggregate is a function of the records alone (counts of recipients per state, per type, per minute of the
-- latest event), so any order and any number of duplicates give the same aggregates.
-- Returns {changed, unchanged}.

local events = cmsgpack.unpack(ARGV[1])
local ttl = tonumber(ARGV[2])
local AGG, DOM, MIN = KEYS[1], KEYS[2], KEYS[3]
local BUCKET_PREFIX = ARGV[3]
local REFRESH_MS = 3600000

local SEND, DELIVERY, BOUNCE, DELAY, REJECT, RENDERING = 1, 2, 3, 5, 6, 7
local F_SUPPRESSED, F_COMPLAINED = 1, 2

local records = {}
local incr = {[AGG] = {}, [DOM] = {}, [MIN] = {}}
local maxima = {}

local function add(key, field, n)
  local t = incr[key]
  t[field] = (t[field] or 0) + n
end

local function raise_to(field, value)
  local cur = maxima[field]
  if cur == nil or value > cur then maxima[field] = value end
end

local function parts(entry)
  if type(entry) == 'table' then return entry[1], entry[2] or '', entry[3] or 0 end
  return entry, '', 0
end

local function state_of(flags, types)
  if types[SEND] == nil then return 'unknown' end
  if bit.band(flags, F_COMPLAINED) ~= 0 then return 'complained' end
  if bit.band(flags, F_SUPPRESSED) ~= 0 then return 'suppressed' end
  if types[BOUNCE] ~= nil then return 'bounced' end
  if types[REJECT] ~= nil then return 'rejected' end
  if types[RENDERING] ~= nil then return 'rendering_failed' end
  if types[DELIVERY] ~= nil then return 'delivered' end
  if types[DELAY] ~= nil then return 'delayed' end
  return 'send_only'
end

local function minute(ms) return math.floor(ms / 60000) end

local joined = {}
local function join(a, b)  -- a .. '|' .. b, interned once per batch
  local row = joined[a]
  if row == nil then row = {}; joined[a] = row end
  local s = row[b]
  if s == nil then s = a .. '|' .. b; row[b] = s end
  return s
end

-- Add n to the counters one recipient contributes to (its state, its domain's state, the Send-only minute or
-- the delayed expiry minute); a merge subtracts the recipient's contribution before and adds it after.
local function contribute(rc, send_ms, domain, n)
  local state = state_of(rc[1], rc[2])
  add(AGG, join('s', state), n)
  add(DOM, join(domain, state), n)
  if state == 'send_only' then
    add(MIN, 'so|' .. minute(send_ms), n)
  elseif state == 'delayed' then
    local _, _, expires = parts(rc[2][DELAY])
    add(MIN, 'dl|' .. minute(expires > 0 and expires or send_ms), n)
  end
end

local changed, unchanged = 0, 0
local last_send, first_send = -1, math.huge
for _, ev in ipairs(events) do
  local field = ev[2]
  local slot = records[field]
  if slot == nil then
    local key = BUCKET_PREFIX .. ev[1]
    local raw = redis.call('HGET', key, field)
    local rec
    if raw then rec = cmsgpack.unpack(raw) else rec = {ev[3], ev[4], ev[5], {}} end
    slot = {key = key, field = field, rec = rec, dirty = raw == false}
    records[field] = slot
  end
  local rec = slot.rec
  if rec[3] == 0 and ev[5] ~= 0 then rec[3] = ev[5]; slot.dirty = true end
  local send_ms = rec[2]
  local rcpt, domain = ev[6], ev[7]
  local tkey, tname, offset, detail, flags, expires = ev[8], ev[9], ev[10], ev[11], ev[12], ev[13]

  -- maxima over every event seen, older or duplicate included, so they do not depend on arrival order
  raise_to(join('lt', tname), send_ms + offset)
  if ev[14] ~= '' then raise_to(join('ip', ev[14]), send_ms + offset) end

  local rc = rec[4][rcpt]
  local cur = rc and rc[2][tkey]
  local newer, co = true, nil
  if cur ~= nil then
    local cd
    co, cd = parts(cur)
    newer = offset > co or (offset == co and detail > cd)
  end
  if rc ~= nil and not newer and bit.bor(rc[1], flags) == rc[1] then
    unchanged = unchanged + 1
  else
    if rc == nil then
      rc = {0, {}}
      rec[4][rcpt] = rc
    else
      contribute(rc, send_ms, domain, -1)
    end
    if newer then
      local entry = offset
      if detail ~= '' or expires ~= 0 then entry = {offset, detail, expires} end
      rc[2][tkey] = entry
      if cur == nil then
        add(AGG, 't|' .. tname, 1)
        add(AGG, 'ct|' .. rec[3] .. '|' .. tname, 1)
        add(MIN, 'e|' .. tname .. '|' .. minute(send_ms + offset), 1)
      elseif minute(send_ms + co) ~= minute(send_ms + offset) then
        add(MIN, 'e|' .. tname .. '|' .. minute(send_ms + co), -1)
        add(MIN, 'e|' .. tname .. '|' .. minute(send_ms + offset), 1)
      end
    end
    rc[1] = bit.bor(rc[1], flags)
    contribute(rc, send_ms, domain, 1)
    if tkey == SEND then
      if send_ms > last_send then last_send = send_ms end
      if send_ms < first_send then first_send = send_ms end
      if ev[15] ~= '' then raise_to(join('fd', ev[15]), send_ms) end
      if rec[3] ~= 0 then raise_to(join('cs', rec[3]), send_ms) end
    end
    changed = changed + 1
    slot.dirty = true
  end
end

for _, slot in pairs(records) do
  if slot.dirty then redis.call('HSET', slot.key, slot.field, cmsgpack.pack(slot.rec)) end
end
for key, fields in pairs(incr) do
  for f, n in pairs(fields) do
    if n ~= 0 then
      if redis.call('HINCRBY', key, f, n) == 0 then redis.call('HDEL', key, f) end
    end
  end
end
if last_send >= 0 then
  raise_to('last_send', last_send)
  raise_to('first_send_neg', -first_send)
end
for f, v in pairs(maxima) do
  local cur = redis.call('HGET', AGG, f)
  if not cur or tonumber(cur) < v then redis.call('HSET', AGG, f, string.format('%d', v)) end
end
local function keep(key)
  if redis.call('PTTL', key) < ttl - REFRESH_MS then redis.call('PEXPIRE', key, ttl) end
end
keep(AGG); keep(DOM); keep(MIN)
local kept = {}
for _, slot in pairs(records) do
  if not kept[slot.key] then kept[slot.key] = true; keep(slot.key) end
end
return {changed, unchanged}
