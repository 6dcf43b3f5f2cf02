-- Take one message record out of a campaign shard (the untagged campaign's record of a message that a tagged
-- campaign claimed in the message index), with its contributions to the shard's counters.
-- KEYS[1] record bucket, KEYS[2] aggregates, KEYS[3] domains, KEYS[4] minutes (one slot).
-- ARGV[1] field, ARGV[2] the record as the caller read it, ARGV[3] msgpack {key_index, counter field, delta}...
-- (the caller computed the record's contributions as merge.lua adds them). Maxima stay (they only ever rise).
-- Returns 1, or 0 without changing anything when the record is no longer what the caller read (read it again).
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
for _, d in ipairs(cmsgpack.unpack(ARGV[3])) do
  local key = KEYS[d[1]]
  if redis.call('HINCRBY', key, d[2], d[3]) == 0 then redis.call('HDEL', key, d[2]) end
end
return 1
