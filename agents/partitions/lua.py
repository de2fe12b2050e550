"""The Lua scripts of the state store (:mod:`ccmon.agents.partitions.statestore`).

Every key a call touches is declared in KEYS and shares the partition's hash tag (one Redis
Cluster slot). KEYS start with meta, idx, live, pos and the guard index; the document (one
JSON argument: cjson decodes it in C) refers to the others by their index. The guard's
digests are binary: they follow the document as ARGV[2...] (digest, value, digest, value...),
never inside JSON; so do the closed intervals written whole (compressed), after them. Values of
HSET and HINCRBYFLOAT go in chunks: Lua's unpack() fails beyond a few thousand values.
"""

# One batch step: fence and write sequence checked, then guards, counters, live entries,
# positions and meta written together.
APPLY = """
local d = cjson.decode(ARGV[1])
local m = redis.call('HMGET', KEYS[1], 'gen', 'seq', 'wid')
if not m[1] then return {'nofence'} end
if tonumber(m[1]) > d.gen then return {'fenced', m[1]} end
local wid = m[3] or ''
if wid == d.wid then return {'done'} end
local seq = tonumber(m[2] or '0')
if tonumber(m[1]) < d.gen or seq ~= d.seq or wid ~= d.prev then
  return {'lost', m[1], tostring(seq)}
end
-- A guard bucket must be split as Redis says it is, or a lookup would miss its events.
-- Checked before anything is written: a script that stops half way keeps its first writes.
for _, b in ipairs(d.gmap) do
  local s = redis.call('HGET', KEYS[5], b[1])
  if s and tonumber(s) ~= b[2] then return {'guardmap', b[1], s} end
end
local function hset(key, flat)
  for i = 1, #flat, 1000 do
    redis.call('HSET', key, unpack(flat, i, math.min(i + 999, #flat)))
  end
end
for _, b in ipairs(d.gmap) do
  redis.call('HSET', KEYS[5], b[1], b[2])
  redis.call('HINCRBY', KEYS[5], 'n:' .. b[1], b[3])
end
local a = 2
for _, g in ipairs(d.guards) do
  local flat = {}
  for i = 1, 2 * g[2] do
    flat[i] = ARGV[a]
    a = a + 1
  end
  hset(KEYS[g[1]], flat)
  redis.call('EXPIRE', KEYS[g[1]], d.gttl)
end
for _, g in ipairs(d.gdrop) do
  redis.call('HDEL', KEYS[5], g[1], 'n:' .. g[1])
  for j = 2, #g do redis.call('DEL', KEYS[g[j]]) end
end
-- Before the increments: a closed interval written whole holds the values before this
-- write; the write's own increments to it (a late event) go to its split hashes after.
for _, w in ipairs(d.whole) do
  redis.call('SET', KEYS[w.key], ARGV[w.value], 'EX', w.ttl)
  for _, k in ipairs(w.split) do redis.call('DEL', KEYS[k]) end
  redis.call('SREM', KEYS[2], w.name)
  redis.call('SADD', KEYS[2], w['as'])
end
for _, c in ipairs(d.incr) do
  local k = KEYS[c[1]]
  for i = 2, #c, 2 do redis.call('HINCRBYFLOAT', k, c[i], c[i + 1]) end
end
for _, c in ipairs(d.low) do
  local k = KEYS[c[1]]
  for i = 2, #c, 2 do
    local v = redis.call('HGET', k, c[i])
    if not v or tonumber(v) > tonumber(c[i + 1]) then redis.call('HSET', k, c[i], c[i + 1]) end
  end
end
for _, c in ipairs(d.high) do
  local k = KEYS[c[1]]
  for i = 2, #c, 2 do
    local v = redis.call('HGET', k, c[i])
    if not v or tonumber(v) < tonumber(c[i + 1]) then redis.call('HSET', k, c[i], c[i + 1]) end
  end
end
for _, h in ipairs(d.touch) do redis.call('EXPIRE', KEYS[h[1]], h[2]) end
for _, name in ipairs(d.index) do redis.call('SADD', KEYS[2], name) end
for _, i in ipairs(d.drop) do redis.call('DEL', KEYS[i]) end
for _, name in ipairs(d.unindex) do redis.call('SREM', KEYS[2], name) end
for _, c in ipairs(d.live) do
  for i = 2, #c, 1000 do redis.call('HSET', KEYS[c[1]], unpack(c, i, math.min(i + 999, #c))) end
end
for _, c in ipairs(d.ldel) do
  for i = 2, #c, 1000 do redis.call('HDEL', KEYS[c[1]], unpack(c, i, math.min(i + 999, #c))) end
end
hset(KEYS[4], d.pos)
hset(KEYS[1], d.meta)
redis.call('HSET', KEYS[1], 'seq', d.seq + 1, 'wid', d.wid, unpack(d.gv))
return {'ok'}
"""

# Take a partition: refused when Redis names a newer generation (unless Kafka confirmed
# ours, ARGV[2]); answers the partition's meta as it stands.
OWN = """
local g = redis.call('HGET', KEYS[1], 'gen')
if g and tonumber(g) > tonumber(ARGV[1]) and ARGV[2] ~= '1' then return {'fenced', g} end
redis.call('HSET', KEYS[1], 'gen', ARGV[1])
local meta = redis.call('HGETALL', KEYS[1])
table.insert(meta, 1, 'ok')
return meta
"""

# Replace the partition with the owner's copy: KEYS meta, idx, live, pos, guard index, then
# the keys Redis holds (deleted: d.stale of them, the guard's left alone), then the copy's
# bucket and live keys (written).
REPLACE = """
local d = cjson.decode(ARGV[1])
local g = redis.call('HGET', KEYS[1], 'gen')
if g and tonumber(g) > d.gen then return {'fenced', g} end
for i = 1, 4 do redis.call('DEL', KEYS[i]) end
for i = 6, d.stale do redis.call('DEL', KEYS[i]) end
local function hset(key, flat, from)
  for i = from, #flat, 1000 do
    redis.call('HSET', key, unpack(flat, i, math.min(i + 999, #flat)))
  end
end
for _, c in ipairs(d.seed) do
  hset(KEYS[c[1]], c, 3)
  if c[2] > 0 then redis.call('EXPIRE', KEYS[c[1]], c[2]) end
end
for _, name in ipairs(d.index) do redis.call('SADD', KEYS[2], name) end
for _, c in ipairs(d.live) do hset(KEYS[c[1]], c, 2) end
hset(KEYS[4], d.pos, 1)
hset(KEYS[1], d.meta, 1)
return {'ok'}
"""
