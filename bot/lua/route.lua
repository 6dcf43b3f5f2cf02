-- Message-index operations of one batch in one message slot.
--
-- KEYS: the index buckets and orphan hashes the batch touches.
-- ARGV[1] msgpack array of ops:
--   {"S", index_key_i, field, campaign_id, orphan_key_i}  a message's tagged events (one op per message and batch):
--                                                         claim the message for the campaign unless the index
--                                                         already names one, return the orphans waiting for it
--   {"R", index_key_i, field, event_blob, orphan_key_i}   a tagless event: its campaign id, or park it as orphan
-- ARGV[2] TTL in milliseconds: every key gets it back once it has run down by an hour (one PTTL per key and call).
-- ARGV[3] the id of the untagged campaign "" (events with tags but no campaign tag).
-- The index is authoritative (DESIGN §2: the message id joins all events of a message): the first campaign to
-- claim a message keeps it, whatever later events are tagged with; only the untagged campaign gives way, once,
-- to the first tagged one (the caller then moves the message's untagged record into that campaign).
-- Returns {resolved, orphans, claimed}: resolved = {op_number, campaign_id} for "R" ops that found their message,
-- orphans = {op_number, packed list of event blobs} for "S" ops whose message had events waiting, claimed =
-- {op_number, campaign_id in the index, 1 when it replaced the untagged campaign else 0} for every "S" op.
-- Both lookups and the parking happen in this one script, so a Send and its tagless outcomes arriving at the
-- same moment from two writers can never miss each other.

local ops = cmsgpack.unpack(ARGV[1])
local ttl = tonumber(ARGV[2])
local untagged = tonumber(ARGV[3])
local resolved, orphans, claimed = {}, {}, {}

for i, op in ipairs(ops) do
  local index_key, field, orphan_key = KEYS[op[2]], op[3], KEYS[op[5]]
  if op[1] == 'S' then
    local current = redis.call('HGET', index_key, field)
    local moved = 0
    if current then current = tonumber(current) end
    if not current or (current == untagged and op[4] ~= untagged) then
      if current then moved = 1 end
      redis.call('HSET', index_key, field, op[4])
      current = op[4]
    end
    claimed[#claimed + 1] = {i, current, moved}
    local waiting = redis.call('HGET', orphan_key, field)
    if waiting then orphans[#orphans + 1] = {i, waiting} end
  else
    local campaign_id = redis.call('HGET', index_key, field)
    if campaign_id then
      resolved[#resolved + 1] = {i, campaign_id}
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
