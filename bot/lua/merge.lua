-- Merge a batch of normalized events into the records of one campaign shard (one hash slot).
--
-- KEYS[1] aggregates hash, KEYS[2] domain hash, KEYS[3] minute hash, KEYS[4..] record buckets.
-- ARGV[1] msgpack array of events:
--   {bucket_key_index, field, message_id, send_ms, config_set_id, recipient, domain, type_key, type_name,
--    offset_ms, detail, flags, expires_ms, outgoing_ip, from_domain}
-- ARGV[2] TTL in milliseconds.
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

-- What one recipient adds to the counters, as {key, field} pairs; the change of a merge is after minus before.
local function contributions(rc, send_ms, domain)
  local out = {}
  local state = state_of(rc[1], rc[2])
  out[#out + 1] = {AGG, 's|' .. state}
  out[#out + 1] = {DOM, domain .. '|' .. state}
  if state == 'send_only' then
    out[#out + 1] = {MIN, 'so|' .. minute(send_ms)}
  elseif state == 'delayed' then
    local _, _, expires = parts(rc[2][DELAY])
    out[#out + 1] = {MIN, 'dl|' .. minute(expires > 0 and expires or send_ms)}
  end
  return out
end

local function apply(list, n)
  for _, kf in ipairs(list) do add(kf[1], kf[2], n) end
end

local changed, unchanged = 0, 0
for _, ev in ipairs(events) do
  local ki, field = ev[1], ev[2]
  local slot_key = ki .. '\0' .. field
  local slot = records[slot_key]
  if slot == nil then
    local raw = redis.call('HGET', KEYS[ki], field)
    local rec
    if raw then rec = cmsgpack.unpack(raw) else rec = {ev[3], ev[4], ev[5], {}} end
    slot = {key = KEYS[ki], field = field, rec = rec, dirty = raw == false}
    records[slot_key] = slot
  end
  local rec = slot.rec
  if rec[3] == 0 and ev[5] ~= 0 then rec[3] = ev[5]; slot.dirty = true end
  local send_ms = rec[2]
  local rcpt, domain = ev[6], ev[7]
  local rc = rec[4][rcpt]
  local before = nil
  if rc == nil then
    rc = {0, {}}
    rec[4][rcpt] = rc
  else
    before = contributions(rc, send_ms, domain)
  end

  local tkey, tname, offset, detail, flags, expires = ev[8], ev[9], ev[10], ev[11], ev[12], ev[13]
  local entry = offset
  if detail ~= '' or expires ~= 0 then entry = {offset, detail, expires} end
  local cur = rc[2][tkey]
  local moved = false
  if cur == nil then
    rc[2][tkey] = entry
    moved = true
    add(AGG, 't|' .. tname, 1)
    add(AGG, 'ct|' .. rec[3] .. '|' .. tname, 1)
    add(MIN, 'e|' .. tname .. '|' .. minute(send_ms + offset), 1)
  else
    local co, cd = parts(cur)
    if offset > co or (offset == co and detail > cd) then
      rc[2][tkey] = entry
      moved = true
      if minute(send_ms + co) ~= minute(send_ms + offset) then
        add(MIN, 'e|' .. tname .. '|' .. minute(send_ms + co), -1)
        add(MIN, 'e|' .. tname .. '|' .. minute(send_ms + offset), 1)
      end
    end
  end
  local new_flags = bit.bor(rc[1], flags)
  if new_flags ~= rc[1] then rc[1] = new_flags; moved = true end

  if moved then
    changed = changed + 1
    slot.dirty = true
    if before then apply(before, -1) end
    apply(contributions(rc, send_ms, domain), 1)
    raise_to('lt|' .. tname, send_ms + offset)
    if ev[14] ~= '' then raise_to('ip|' .. ev[14], send_ms + offset) end
    if tkey == SEND then
      raise_to('last_send', send_ms)
      raise_to('first_send_neg', -send_ms)
      if ev[15] ~= '' then raise_to('fd|' .. ev[15], send_ms) end
      if rec[3] ~= 0 then raise_to('cs|' .. rec[3], send_ms) end
    end
  else
    unchanged = unchanged + 1
  end
end

for _, slot in pairs(records) do
  if slot.dirty then redis.call('HSET', slot.key, slot.field, cmsgpack.pack(slot.rec)) end
end
local touched = {}
for _, slot in pairs(records) do
  if slot.dirty and not touched[slot.key] then
    touched[slot.key] = true
    redis.call('PEXPIRE', slot.key, ttl)
  end
end
for key, fields in pairs(incr) do
  for f, n in pairs(fields) do
    if n ~= 0 then
      if redis.call('HINCRBY', key, f, n) == 0 then redis.call('HDEL', key, f) end
    end
  end
  redis.call('PEXPIRE', key, ttl)
end
for f, v in pairs(maxima) do
  local cur = redis.call('HGET', AGG, f)
  if not cur or tonumber(cur) < v then redis.call('HSET', AGG, f, string.format('%d', v)) end
end
return {changed, unchanged}
