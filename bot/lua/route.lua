-- Message-index operations of one batch in one message slot.
--
-- KEYS: the index buckets and orphan hashes the batch touches.
-- ARGV[1] msgpack array of ops:
--   {"S", index_key_i, field, campaign_id, orphan_key_i, rank}  a message's tagged events (one op per message and
--                         batch): claim the message for the campaign unless the index names one of the same or a
--                         higher rank (2: a Send's campaign, 1: another event's campaign, 0: the untagged
--                         campaign ""), return the orphans waiting for it
--   {"R", index_key_i, field, event_blob, orphan_key_i}   a tagless event: its campaign id, or park it as orphan
-- ARGV[2] TTL in milliseconds: every key gets it back once it has run down by an hour (one PTTL per key and call).
-- ARGV[3] the id of the untagged campaign "" (events with tags but no campaign tag).
-- The index is authoritative (DESIGN §2: the message id joins all events of a message): index values are "<id>"
-- once a Send's campaign claimed the message (final) and "<id>." before (rank 1 or 0, from the id); a claim of a
-- higher rank takes the message over (the caller then moves its record there), so whatever the arrival order a
-- message ends under its Send's campaign, else its first tagged event's, else the untagged one.
-- Returns {resolved, orphans, claimed}: resolved = {op_number, campaign_id} for "R" ops that found their message,
-- orphans = {op_number, packed list of event blobs} for "S" ops whose message had events waiting, claimed =
-- {op_number, campaign_id in the index, id it took the message from or 0, 1 when final} for every "S" op except a
-- Send's claim (rank 2) that left the index naming its campaign and took nothing over: the caller merged those
-- events at once under that campaign, so it counts them confirmed (final) without a reply per message.
-- Both lookups and the parking happen in this one script, so a Send and its tagless outcomes arriving at the
-- same moment from two writers can never miss each other.

local ops = cmsgpack.unpack(ARGV[1])
local ttl = tonumber(ARGV[2])
local untagged = tonumber(ARGV[3])
local resolved, orphans, claimed = {}, {}, {}

for i, op in ipairs(ops) do
  local index_key, field, orphan_key = KEYS[op[2]], op[3], KEYS[op[5]]
  if op[1] == 'S' then
    local raw = redis.call('HGET', index_key, field)
    local current, rank, moved = nil, -1, 0
    if raw then
      current = tonumber((string.gsub(raw, '%.$', '')))
      if string.sub(raw, -1) ~= '.' then rank = 2 elseif current == untagged then rank = 0 else rank = 1 end
    end
    if op[6] > rank then
      if current and current ~= op[4] then moved = current end
      current, rank = op[4], op[6]
      redis.call('HSET', index_key, field, rank == 2 and tostring(current) or (current .. '.'))
    end
    if op[6] ~= 2 or current ~= op[4] or moved ~= 0 then  -- a Send's claim the index confirmed goes unsaid
      claimed[#claimed + 1] = {i, current, moved, rank == 2 and 1 or 0}
    end
    local waiting = redis.call('HGET', orphan_key, field)
    if waiting then orphans[#orphans + 1] = {i, waiting} end
  else
    local campaign_id = redis.call('HGET', index_key, field)
    if campaign_id then
      resolved[#resolved + 1] = {i, tonumber((string.gsub(campaign_id, '%.$', '')))}
    else
      local raw = redis.call('HGET', orphan_key, field)
      local list = raw and cmsgpack.unpack(raw) or {}
      local seen = false
      for _, blob in ipairs(list) do if blob == op[4] then seen = true; break end end
      if not seen then
        list[#list + 1] = op[4]
        redis.call('HSET', orphan_key, field, cmsgpack.pack(list))
      end
    end
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) < ttl - 3600000 then redis.call('PEXPIRE', key, ttl) end
end
return {resolved, orphans, claimed}
