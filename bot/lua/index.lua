-- Recipient index entries of one batch in one recipient slot.
-- KEYS: index buckets. ARGV[1] msgpack array of {key_index, field}; ARGV[2] TTL in milliseconds; ARGV[3] msgpack array of the KEYS indexes whose TTL is due.
local entries = cmsgpack.unpack(ARGV[1])
local ttl = tonumber(ARGV[2])
for _, e in ipairs(entries) do
  redis.call('HSET', KEYS[e[1]], e[2], '')
end
for _, ki in ipairs(cmsgpack.unpack(ARGV[3])) do redis.call('PEXPIRE', KEYS[ki], ttl) end
return #entries
