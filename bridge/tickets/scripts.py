"""The two Lua scripts that make ticket writes atomic and one round trip each.

redis-py sends them with EVALSHA and loads them once (again after a Redis restart, on NOSCRIPT).
Lua scripts are atomic but NOT transactional: an error half-way leaves earlier writes in place.
So each script checks everything first and writes only after every check has passed.
The rules themselves (which transitions are legal, deadlines) stay in `routing.tickets`: the
scripts are told the legal source states and only compare.
"""

from __future__ import annotations

# KEYS: 1 request (idempotency), 2 day sequence, 3 by-time, 4 by-status:created, 5 by-district,
#       6 by-platform origin, 7 by-platform target, 8 due, 9.. link keys (channel, call)
# ARGV: 1 draft fingerprint, 2 request TTL s, 3 day yyyymmdd, 4 sequence TTL s,
#       5 ticket key template, 6 history key template, 7 created ms, 8 due ms, 9 by, 10 at,
#       11 link TTL s, 12.. hash field/value pairs (without id)
# Returns {1, id} when created, {0, id, fingerprint, {hash...}} for a retried request id.
CREATE_TICKET = """
local existing = redis.call('GET', KEYS[1])
if existing then
  local sep = string.find(existing, ' ', 1, true)
  local id = string.sub(existing, 1, sep - 1)
  local ticket_key = string.gsub(ARGV[5], '<id>', id)
  return {0, id, string.sub(existing, sep + 1), redis.call('HGETALL', ticket_key)}
end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
local id = 'LK-' .. ARGV[3] .. '-' .. string.format('%06d', n)
local ticket_key = string.gsub(ARGV[5], '<id>', id)
local history_key = string.gsub(ARGV[6], '<id>', id)
local fields = {'id', id}
for i = 12, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', ticket_key, unpack(fields))
redis.call('XADD', history_key, '*', 'event', 'created', 'by', ARGV[9], 'at', ARGV[10],
  'from', '', 'to', 'created', 'note', '')
for k = 3, 7 do redis.call('ZADD', KEYS[k], ARGV[7], id) end
redis.call('ZADD', KEYS[8], ARGV[8], id)
for k = 9, #KEYS do redis.call('SET', KEYS[k], id, 'EX', ARGV[11]) end
redis.call('SET', KEYS[1], id .. ' ' .. ARGV[1], 'EX', ARGV[2])
return {1, id}
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
