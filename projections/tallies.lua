-- Apply one batch of votes to the tallies read model, atomically.
-- KEYS: bands albums total checkpoint counted seconds meta rate lag names named_by
-- ARGV: expected_instance new_instance now_ms write_rate rate_maxlen n_lag
--       then n_lag pairs (partition, lag), then the batch packed as MessagePack:
--       [names, messages, spellings, event_ids]: names is a flat list of (band key,
--       album field, second) triples, each distinct one of the batch once; messages a flat
--       list of 4 values per message: partition offset vote_id k, k the 1-based triple in
--       names (vote_id "" and k 0 = undecodable: position only); spellings the (band,
--       album) as cast, 2 per triple; event_ids one per message. One packed argument
--       instead of six per message.
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
-- One name per band and album (docs/adr/0005-one-name-per-band.md): the spelling shown for
-- a key is the one of its counted vote with the least event_id, whatever the batches.
local shown_names, named_by = KEYS[10], KEYS[11]
local spellings, event_ids = packed[3], packed[4]
local first = {}  -- k -> least event_id of its counted votes in this batch
local function earlier(a, b)  -- a < b bytewise (as Python compares str), whatever the locale
  if a == b then return false end
  for j = 1, math.min(#a, #b) do
    local x, y = string.byte(a, j), string.byte(b, j)
    if x ~= y then return x < y end
  end
  return #a < #b
end
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
      local e = event_ids[(i + 3) / 4]  -- one name per band: see above
      if first[k] == nil or earlier(e, first[k]) then first[k] = e end
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

-- One name per band and album: offer each key's least event_id of the batch, keep the
-- least of all (NAMED_BY holds the event_id of the spelling NAMES shows).
local offered = {}
local function offer(field, e, spelling)
  local cur = offered[field]
  if cur == nil or earlier(e, cur[1]) then offered[field] = {e, spelling} end
end
for k, e in pairs(first) do
  offer(names[3 * k - 2], e, spellings[2 * k - 1])
  offer(names[3 * k - 1], e, spellings[2 * k])
end
for field, c in pairs(offered) do
  local by = redis.call('HGET', named_by, field)
  if not by or earlier(c[1], by) then
    redis.call('HSET', shown_names, field, c[2])
    redis.call('HSET', named_by, field, c[1])
  end
end
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
