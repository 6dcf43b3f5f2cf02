-- A writer whose epoch token no longer matches (Redis lost its data, or the epoch key) writes back the ids it
-- cached, so what it already wrote with them (records, index entries) keeps its meaning, then joins the epoch.
-- KEYS: for each kind (campaign, configuration set, domain) its ids hash, names hash and sequence, then the epoch.
-- ARGV[1] a fresh token (kept only when no epoch exists); ARGV[2..4] msgpack flat {name, id, name, id, ...} per
-- kind. A pair is written when neither its name nor its id is taken; the sequence is raised to the largest id.
-- Returns {epoch token now in force, number of cached pairs that conflicted with ids Redis already has}.
local conflicts = 0
for k = 0, 2 do
  local ids, names, seq = KEYS[3 * k + 1], KEYS[3 * k + 2], KEYS[3 * k + 3]
  local pairs_ = cmsgpack.unpack(ARGV[k + 2])
  local top = tonumber(redis.call('GET', seq) or '0')
  for i = 1, #pairs_, 2 do
    local name, id = pairs_[i], pairs_[i + 1]
    local has_id = redis.call('HGET', ids, name)
    local owner = redis.call('HGET', names, id)
    if not has_id and not owner then
      redis.call('HSET', ids, name, id)
      redis.call('HSET', names, id, name)
      if id > top then top = id end
    elseif has_id ~= tostring(id) or owner ~= name then
      conflicts = conflicts + 1
    end
  end
  if top > tonumber(redis.call('GET', seq) or '0') then redis.call('SET', seq, top) end
end
redis.call('SET', KEYS[10], ARGV[1], 'NX')
return {redis.call('GET', KEYS[10]), conflicts}
