/**
 * The sink's Lua scripts. Each call is atomic on the server, so a window's hash and its versions
 * change together or not at all; ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT (a
 * restarted or flushed server), and pipelines the calls. Versions are decimal integer texts, kept
 * as texts (Lua numbers print with 14 digits) and compared as numbers (exact below 2^53).
 */

/** HSET and HMGET of long lists in chunks: unpack() is bounded by Lua's C stack (~8000 values). */
const CHUNKED = `
local function hset_all(key, list, first)
  local i = first
  while i <= #list do
    local j = math.min(i + 999, #list)
    redis.call('HSET', key, unpack(list, i, j))
    i = j + 1
  end
end
local function hmget_all(key, names)
  local values = {}
  for i = 1, #names, 1000 do
    local chunk = redis.call('HMGET', key, unpack(names, i, math.min(i + 999, #names)))
    for j = 1, #chunk do values[#values + 1] = chunk[j] end
  end
  return values
end
`;

/**
 * KEYS[1] figures hash, KEYS[2] its version hash (schemas/redis-keys.ts `versions`).
 * ARGV[1] version, ARGV[2] TTL seconds, ARGV[3] op: replace | upsert (ARGV[4..] field, value
 * pairs) or remove (ARGV[4..] fields).
 * replace: applied only if newer than every version the key has seen; the hash becomes exactly
 * the given fields (none: the key is deleted) and the versions restart from this one.
 * upsert / remove: each field applied only if newer than the last replace and that field's last write.
 * The TTL of both keys is set whenever something is applied.
 * Returns {records applied (0 or 1), fields applied, fields stale}.
 */
export const WRITE_HASH = `${CHUNKED}
local version, ttl, op = ARGV[1], ARGV[2], ARGV[3]
local v = tonumber(version)
if op == 'replace' then
  local fields = (#ARGV - 3) / 2
  if v <= tonumber(redis.call('HGET', KEYS[2], 'max') or '-1') then return {0, 0, fields} end
  redis.call('DEL', KEYS[1], KEYS[2])
  hset_all(KEYS[1], ARGV, 4)
  redis.call('HSET', KEYS[2], 'max', version, 'replaced', version)
  if fields > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
  redis.call('EXPIRE', KEYS[2], ttl)
  return {1, fields, 0}
end
local step = (op == 'upsert') and 2 or 1
-- One read of every version involved: max, replaced, then f:<field> for each field.
local names = {'max', 'replaced'}
for i = 4, #ARGV, step do names[#names + 1] = 'f:' .. ARGV[i] end
local seen = hmget_all(KEYS[2], names)
local newest, replaced = tonumber(seen[1] or '-1'), tonumber(seen[2] or '-1')
local data, versions = {}, {}
local applied, stale = 0, 0
local n = 2
for i = 4, #ARGV, step do
  n = n + 1
  local field = ARGV[i]
  if v > replaced and v > tonumber(seen[n] or '-1') then
    if op == 'upsert' then
      data[#data + 1] = field
      data[#data + 1] = ARGV[i + 1]
    else
      redis.call('HDEL', KEYS[1], field)
    end
    versions[#versions + 1] = names[n]
    versions[#versions + 1] = version
    applied = applied + 1
  else
    stale = stale + 1
  end
end
if applied == 0 then return {0, 0, stale} end
hset_all(KEYS[1], data, 1)
if v > newest then
  versions[#versions + 1] = 'max'
  versions[#versions + 1] = version
end
hset_all(KEYS[2], versions, 1)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return {1, applied, stale}
`;

/**
 * KEYS[1] a hash whose fields only move forward (latest, watermark); ARGV field, value, order
 * triples, order 'number' (epoch ms) or 'text' (days YYYY-MM-DD). Returns the fields moved.
 */
export const ADVANCE_FIELDS = `
local moved = 0
for i = 1, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local newer
  if not current then
    newer = true
  elseif ARGV[i + 2] == 'number' then
    newer = tonumber(current) == nil or tonumber(ARGV[i + 1]) > tonumber(current)
  else
    newer = ARGV[i + 1] > current
  end
  if newer then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    moved = moved + 1
  end
end
return moved
`;

/**
 * KEYS[1] the alerts list, newest first; ARGV[1] cap, ARGV[2] the alert's time (ms), ARGV[3] the
 * alert (canonical JSON). An alert already in the list is not added again, nor one older than the
 * oldest kept when the list is full (a replay of alerts already trimmed away). Returns 1 if added.
 */
export const PUSH_ALERT = `
if redis.call('LPOS', KEYS[1], ARGV[3]) then return 0 end
local cap = tonumber(ARGV[1])
if redis.call('LLEN', KEYS[1]) >= cap then
  local ok, oldest = pcall(cjson.decode, redis.call('LINDEX', KEYS[1], -1))
  if ok and type(oldest) == 'table' and tonumber(oldest.time) and tonumber(ARGV[2]) < tonumber(oldest.time) then return 0 end
end
redis.call('LPUSH', KEYS[1], ARGV[3])
redis.call('LTRIM', KEYS[1], 0, cap - 1)
return 1
`;
