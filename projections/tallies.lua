-- Apply one batch of votes to the tallies read model (every contest), atomically.
-- KEYS: checkpoint counted meta total contests rate lag, then for each contest of the
--       batch (in the packed order) its bands albums seconds voters names named_by.
-- ARGV: expected_instance new_instance now_ms write_rate rate_maxlen n_lag layout
--       then n_lag pairs (partition, lag), then the batch packed as MessagePack:
--       [contests, names, messages, voters, spellings, event_ids]: contests the distinct
--       contest ids of the batch; names a flat list of (c, band key, album field, second)
--       quadruples, each distinct one of the batch once, c the 1-based contest; messages a
--       flat list of 4 values per message: partition offset vote_id k, k the 1-based
--       quadruple in names (vote_id "" and k 0 = undecodable: position only); voters a flat
--       list of (m, voter_id) pairs, m the 1-based message, for the votes under one vote per
--       voter only (ADR 6); spellings the (band, album) as cast, 2 per quadruple; event_ids
--       one per message; ranks one per message, the rank of its event_id in the batch's
--       (bytewise) order, equal ids equal ranks, so that the batch's least event_id of a
--       name is found by comparing numbers. One packed argument instead of six per
--       message.
-- A vote_id is decided once: at its first message past its partition's checkpoint that the
-- counted set does not hold yet (asked with one SMISMEMBER, and added with one SADD, per
-- 1000 such messages); a vote under one vote per voter counts only if its voter has no
-- counted vote in its contest yet (HSETNX voters, in log order), else it is superseded.
-- One name per band and album (docs/adr/0007-one-name-per-band.md): votes count under
-- their band key and album field; the spelling a key shows in its contest (names) is the
-- one of its counted vote with the least event_id (named_by), whatever the batches.
-- Returns {1, instance, counted} or {0, actual_instance_or_empty} when the model is not the
-- one the worker resumed from (wiped, or swapped by a rebuild): the worker must re-seek.
local checkpoint, counted, meta, total, contests, rate, lag =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local expected, new_instance = ARGV[1], ARGV[2]
local instance = redis.call('HGET', meta, 'instance')
if not instance then
  if expected ~= '' then return {0, ''} end
  instance = new_instance
  redis.call('HSET', meta, 'instance', instance, 'created_ms', ARGV[3], 'layout', ARGV[7])
elseif instance ~= expected then
  return {0, instance}
end

local n_lag = tonumber(ARGV[6])
local packed = cmsgpack.unpack(ARGV[8 + 2 * n_lag])
local contest_ids, names, messages = packed[1], packed[2], packed[3]
local voters = {}
for j = 1, #packed[4], 2 do voters[packed[4][j]] = packed[4][j + 1] end
local spellings, event_ids, ranks = packed[5], packed[6], packed[7]
local first = {}  -- k -> the message with the least event_id of its counted votes here
local function earlier(a, b)  -- a < b bytewise (as Python compares str), whatever the locale
  if a == b then return false end
  for j = 1, math.min(#a, #b) do
    local x, y = string.byte(a, j), string.byte(b, j)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local before, moved = {}, {}
-- Which of the batch's votes are new: each vote_id's first message past its partition's
-- checkpoint, asked of the counted set in one SMISMEMBER per 1000 and the new ones added
-- with one SADD (not one SADD per vote). The candidates are distinct vote_ids, so adding
-- one chunk's does not change the next chunk's answers.
local candidates, at = {}, {}
for i = 1, #messages, 4 do
  local p, off, vid = tostring(messages[i]), messages[i + 1], messages[i + 2]
  local cp = before[p]
  if cp == nil then
    cp = tonumber(redis.call('HGET', checkpoint, p) or '-1')
    before[p] = cp
  end
  if off > cp then
    if moved[p] == nil or off > moved[p] then moved[p] = off end
    if vid ~= '' and at[vid] == nil then
      candidates[#candidates + 1] = vid
      at[vid] = i
    end
  end
end
local new = {}  -- the messages of the new vote_ids, in log order
for from = 1, #candidates, 1000 do
  local upto = math.min(from + 999, #candidates)
  local member = redis.call('SMISMEMBER', counted, unpack(candidates, from, upto))
  local fresh = {}
  for j = from, upto do
    if member[j - from + 1] == 0 then
      fresh[#fresh + 1] = candidates[j]
      new[#new + 1] = at[candidates[j]]
    end
  end
  if #fresh > 0 then redis.call('SADD', counted, unpack(fresh)) end
end
local counts = {}
local n = 0
for _, i in ipairs(new) do
  local k = messages[i + 3]
  local voter = voters[(i + 3) / 4]
  if voter == nil
    or redis.call('HSETNX', KEYS[5 + 6 * names[4 * k - 3]], voter, messages[i + 2]) == 1 then
    counts[k] = (counts[k] or 0) + 1
    n = n + 1
    local m = (i + 3) / 4
    if first[k] == nil or ranks[m] < ranks[first[k]] then first[k] = m end
  end
end
-- Sum per contest and name, then one HINCRBY per distinct field.
local per_contest = {}
for k, c in pairs(counts) do
  local ci = names[4 * k - 3]
  local sums = per_contest[ci]
  if sums == nil then
    sums = {votes = 0, bands = {}, albums = {}, seconds = {}, offered = {}}
    per_contest[ci] = sums
  end
  local band, album, second = names[4 * k - 2], names[4 * k - 1], names[4 * k]
  sums.votes = sums.votes + c
  sums.bands[band] = (sums.bands[band] or 0) + c
  sums.albums[album] = (sums.albums[album] or 0) + c
  sums.seconds[second] = (sums.seconds[second] or 0) + c
end
-- One name per band and album: offer each key's least event_id of the batch, keep the
-- least of all (named_by holds the event_id of the spelling names shows).
local function offer(offered, field, m, spelling)
  local cur = offered[field]
  if cur == nil or ranks[m] < ranks[cur[3]] then
    offered[field] = {event_ids[m], spelling, m}
  end
end
for k, m in pairs(first) do
  local offered = per_contest[names[4 * k - 3]].offered
  offer(offered, names[4 * k - 2], m, spellings[2 * k - 1])
  offer(offered, names[4 * k - 1], m, spellings[2 * k])
end
for ci, sums in pairs(per_contest) do
  local base = 7 + 6 * (ci - 1)
  for k, v in pairs(sums.bands) do redis.call('HINCRBY', KEYS[base + 1], k, v) end
  for k, v in pairs(sums.albums) do redis.call('HINCRBY', KEYS[base + 2], k, v) end
  for k, v in pairs(sums.seconds) do redis.call('HINCRBY', KEYS[base + 3], k, v) end
  local shown, named_by = KEYS[base + 5], KEYS[base + 6]
  local fields = {}
  for field in pairs(sums.offered) do fields[#fields + 1] = field end
  for from = 1, #fields, 1000 do  -- one HMGET per 1000 fields (unpack's stack is bounded)
    local upto = math.min(from + 999, #fields)
    local stored = redis.call('HMGET', named_by, unpack(fields, from, upto))
    for j = from, upto do
      local field = fields[j]
      local c, by = sums.offered[field], stored[j - from + 1]
      if not by or earlier(c[1], by) then
        redis.call('HSET', shown, field, c[2])
        redis.call('HSET', named_by, field, c[1])
      end
    end
  end
  redis.call('HINCRBY', contests, contest_ids[ci], sums.votes)
end
local new_total = redis.call('INCRBY', total, n)
for p, off in pairs(moved) do redis.call('HSET', checkpoint, p, string.format('%d', off)) end

local behind = 0
for j = 0, n_lag - 1 do
  local p, l = ARGV[8 + 2 * j], ARGV[9 + 2 * j]
  redis.call('HSET', lag, p, l)
  behind = behind + tonumber(l)
end
if ARGV[4] == '1' then
  redis.call('XADD', rate, 'MAXLEN', '~', ARGV[5], '*', 'votes', n, 'total', new_total, 'lag', behind)
end
return {1, instance, n}
