-- Recipient index entries of one batch in one recipient slot.
-- KEYS: index buckets. ARGV[1] msgpack array of {key_index, field}; ARGV[2] TTL in milliseconds:
-- every key gets it back once it has run down by an hour (one PTTL per key and call).
local entries = cmsgpack.unpack(ARGV[1])
local ttl = tonumber(ARGV[2])
for _, e in ipairs(entries) do
  redis.call('HSET', KEYS[e[1]], e[2], '')
end
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) < ttl - 3600000 then redis.call('PEXPIRE', key, ttl) end
end
return #entries
