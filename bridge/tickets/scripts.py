"""The two Lua scripts that make ticket writes atomic and one round trip each.

redis-py sends them with EVALSHA and loads them once (again after a Redis restart, on NOSCRIPT).
Lua scripts are atomic but NOT transactional: an error half-way leaves earlier writes in place.
So each script checks everything first and writes only after every check has passed.
The rules themselves (which transitions are legal, deadlines) stay in `routing.tickets`: the
scripts are told the legal source states and only compare.
"""

from __future__ import annotations

# Creates a batch of tickets (one or many concurrent creates share one call; see batching.py).
# Keys travel inside the JSON (the id, and so the ticket's own keys, exist only in here).
# ARGV: 1 ticket key template, 2 history key template, 3 request TTL s, 4 sequence TTL s,
#       5 link TTL s, 6 by-time index, 7 by-status index of `created`, 8 due index (these
#       three are the same for every ticket, so they are not repeated in the JSON),
#       9 JSON array of requests, each
#       [request key, sequence key, day yyyymmdd, fingerprint, created ms, due ms, by, at,
#        [other index keys scored by created ms], [link keys], [hash field, value, ...]]
# Returns one reply per request: {1, id} when created, {0, id, fingerprint, {hash...}} when the
# request id was seen before (an idempotent retry).
CREATE_TICKETS = """
-- Decode before any write: a malformed argument fails with nothing written.
local requests = cjson.decode(ARGV[9])
local replies = {}
for r = 1, #requests do
  local q = requests[r]
  local existing = redis.call('GET', q[1])
  if existing then
    local sep = string.find(existing, ' ', 1, true)
    local id = string.sub(existing, 1, sep - 1)
    local ticket_key = string.gsub(ARGV[1], '<id>', id)
    replies[r] = {0, id, string.sub(existing, sep + 1), redis.call('HGETALL', ticket_key)}
  else
    local n = redis.call('INCR', q[2])
    if n == 1 then redis.call('EXPIRE', q[2], ARGV[4]) end
    local id = 'LK-' .. q[3] .. '-' .. string.format('%06d', n)
    local ticket_key = string.gsub(ARGV[1], '<id>', id)
    local history_key = string.gsub(ARGV[2], '<id>', id)
    redis.call('HSET', ticket_key, 'id', id, unpack(q[11]))
    redis.call('XADD', history_key, '*', 'event', 'created', 'by', q[7], 'at', q[8],
      'from', '', 'to', 'created', 'note', '')
    redis.call('ZADD', ARGV[6], q[5], id)
    redis.call('ZADD', ARGV[7], q[5], id)
    for _, key in ipairs(q[9]) do redis.call('ZADD', key, q[5], id) end
    redis.call('ZADD', ARGV[8], q[6], id)
    for _, key in ipairs(q[10]) do redis.call('SET', key, id, 'EX', ARGV[5]) end
    redis.call('SET', q[1], id .. ' ' .. q[4], 'EX', ARGV[3])
    replies[r] = {1, id}
  end
end
return replies
"""

# KEYS: 1 ticket hash, 2 history stream, 3 due, 4 act-due
# ARGV: 1 target status, 2 legal source states as ' a b c ', 3 by, 4 at, 5 note,
#       6 by-status key template, 7 at ms, 8 '1' if the target counts as handled (leaves due),
#       9 '1' if the target starts the act-on clock (accepted), 10 number of list appends n,
#       then n pairs (JSON-list field, JSON item), then hash field/value pairs to set
# Returns {1, {hash...}}, {0, 'missing'} or {0, 'illegal', current status}.
TRANSITION_TICKET = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {0, 'missing'} end
if not string.find(ARGV[2], ' ' .. current .. ' ', 1, true) then
  return {0, 'illegal', current}
end
local id = redis.call('HGET', KEYS[1], 'id')
local created_ms = redis.call('HGET', KEYS[1], '_created_ms')
redis.call('ZREM', (string.gsub(ARGV[6], '<status>', current)), id)
redis.call('ZADD', (string.gsub(ARGV[6], '<status>', ARGV[1])), created_ms, id)
if ARGV[8] == '1' then
  redis.call('ZREM', KEYS[3], id)
else
  redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], '_due_ms'), id)
end
if ARGV[9] == '1' then
  local act_ms = tonumber(ARGV[7]) + tonumber(redis.call('HGET', KEYS[1], '_act_within_ms'))
  redis.call('ZADD', KEYS[4], act_ms, id)
else
  redis.call('ZREM', KEYS[4], id)
end
local i = 11
for _ = 1, tonumber(ARGV[10]) do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local new
  if (not old) or old == '[]' then
    new = '[' .. ARGV[i + 1] .. ']'
  else
    new = string.sub(old, 1, -2) .. ',' .. ARGV[i + 1] .. ']'
  end
  redis.call('HSET', KEYS[1], ARGV[i], new)
  i = i + 2
end
local fields = {'status', ARGV[1]}
for j = i, #ARGV do fields[#fields + 1] = ARGV[j] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('XADD', KEYS[2], '*', 'event', 'transition', 'by', ARGV[3], 'at', ARGV[4],
  'from', current, 'to', ARGV[1], 'note', ARGV[5])
return {1, redis.call('HGETALL', KEYS[1])}
"""
