-- Apply one batch of votes to the tallies read model, atomically.
-- KEYS: bands albums total checkpoint counted seconds meta rate lag
-- ARGV: expected_instance new_instance now_ms write_rate rate_maxlen n_lag
--       then n_lag pairs (partition, lag), then 6 values per message:
--       partition offset vote_id band album second   (vote_id "" = undecodable: position only)
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
local i = 7 + 2 * n_lag
local before, moved = {}, {}
local band_n, album_n, second_n = {}, {}, {}
local n = 0
while i <= #ARGV do
  local p, off, vid = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local cp = before[p]
  if cp == nil then
    cp = tonumber(redis.call('HGET', checkpoint, p) or '-1')
    before[p] = cp
  end
  if off > cp then
    if moved[p] == nil or off > moved[p] then moved[p] = off end
    if vid ~= '' and redis.call('SADD', counted, vid) == 1 then
      local band, album, second = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
      band_n[band] = (band_n[band] or 0) + 1
      album_n[album] = (album_n[album] or 0) + 1
      second_n[second] = (second_n[second] or 0) + 1
      n = n + 1
    end
  end
  i = i + 6
end
for k, v in pairs(band_n) do redis.call('HINCRBY', bands, k, v) end
for k, v in pairs(album_n) do redis.call('HINCRBY', albums, k, v) end
for k, v in pairs(second_n) do redis.call('HINCRBY', seconds, k, v) end
local new_total = redis.call('INCRBY', total, n)
for p, off in pairs(moved) do redis.call('HSET', checkpoint, p, off) end

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
