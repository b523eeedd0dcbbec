-- Swap a rebuilt tallies model in: rename every next-key over its live key, atomically,
-- but only when the rebuilt model is at or past the live one on every partition (so the
-- live worker, re-seeking to the new checkpoints, never skips a vote).
-- KEYS: live keys..., then next keys... (same order: the model-wide keys, then each
-- contest's keys; KEYS[cp_index] / KEYS[n + cp_index] are the checkpoints,
-- KEYS[contests_index] / KEYS[n + contests_index] the contests hashes).
-- ARGV: n cp_index contests_index, then the contest ids whose keys are given.
-- Returns {1}, {0, partition, live_offset, next_offset}, or {2, contest} when a contest
-- of either model is not among the given ones (read the contests again and retry).
local n, cp_index, contests_index = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local given = {}
for i = 4, #ARGV do given[ARGV[i]] = true end
for _, key in ipairs({KEYS[contests_index], KEYS[n + contests_index]}) do
  for _, contest in ipairs(redis.call('HKEYS', key)) do
    if not given[contest] then return {2, contest} end
  end
end
local live_cp, next_cp = KEYS[cp_index], KEYS[n + cp_index]
local live = redis.call('HGETALL', live_cp)
for i = 1, #live, 2 do
  local theirs = tonumber(redis.call('HGET', next_cp, live[i]) or '-1')
  if theirs < tonumber(live[i + 1]) then return {0, live[i], live[i + 1], theirs} end
end
for i = 1, n do
  if redis.call('EXISTS', KEYS[n + i]) == 1 then
    redis.call('RENAME', KEYS[n + i], KEYS[i])
  else
    redis.call('DEL', KEYS[i])
  end
end
return {1}
