-- Apply one batch of votes to the tallies read model, atomically.
-- KEYS: bands albums total checkpoint counted seconds meta rate lag
-- ARGV: expected_instance new_instance now_ms write_rate rate_maxlen n_lag
--       then n_lag pairs (partition, lag), then the batch packed as MessagePack:
--       [names, messages]: names is a flat list of (band, album, second) triples, each
--       distinct one of the batch once; messages a flat list of 4 values per message:
--       partition offset vote_id k, k the 1-based triple in names (vote_id "" and k 0 =
--       undecodable: position only). One packed argument instead of six per message.
-- Returns {1, instance, counted} or {0, actual_instance_or_empty} when the model is not the
-- one the worker resumed from (wiped, or swapped by a rebuild): the worker must re-seek.
local bands, albums, total, checkpoint, counted, seconds, meta, rate, lag =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local expected, new_instance = ARGV[1], ARGV[2]
local instance = redis.call('HGET', meta, 'instance')
if not instance then
  if expected ~= '' then return {0, ''} end
  instance = new_instance
  redis.call('HSET', meta, 'instance', instance, 'created_ms', ARGV[3])
elseif instance ~= expected then
  return {0, instance}
end

local n_lag = tonumber(ARGV[6])
local packed = cmsgpack.unpack(ARGV[7 + 2 * n_lag])
local names, messages = packed[1], packed[2]
local before, moved = {}, {}
local counts = {}
local n = 0
for i = 1, #messages, 4 do
  local p, off, vid = tostring(messages[i]), messages[i + 1], messages[i + 2]
  local cp = before[p]
  if cp == nil then
    cp = tonumber(redis.call('HGET', checkpoint, p) or '-1')
    before[p] = cp
  end
  if off > cp then
    if moved[p] == nil or off > moved[p] then moved[p] = off end
    if vid ~= '' and redis.call('SADD', counted, vid) == 1 then
      local k = messages[i + 3]
      counts[k] = (counts[k] or 0) + 1
      n = n + 1
    end
  end
end
local band_n, album_n, second_n = {}, {}, {}
for k, c in pairs(counts) do
  local band, album, second = names[3 * k - 2], names[3 * k - 1], names[3 * k]
  band_n[band] = (band_n[band] or 0) + c
  album_n[album] = (album_n[album] or 0) + c
  second_n[second] = (second_n[second] or 0) + c
end
for k, v in pairs(band_n) do redis.call('HINCRBY', bands, k, v) end
for k, v in pairs(album_n) do redis.call('HINCRBY', albums, k, v) end
for k, v in pairs(second_n) do redis.call('HINCRBY', seconds, k, v) end
local new_total = redis.call('INCRBY', total, n)
for p, off in pairs(moved) do redis.call('HSET', checkpoint, p, string.format('%d', off)) end

local behind = 0
for j = 0, n_lag - 1 do
  local p, l = ARGV[7 + 2 * j], ARGV[8 + 2 * j]
  redis.call('HSET', lag, p, l)
  behind = behind + tonumber(l)
end
if ARGV[4] == '1' then
  redis.call('XADD', rate, 'MAXLEN', '~', ARGV[5], '*', 'votes', n, 'total', new_total, 'lag', behind)
end
return {1, instance, n}
