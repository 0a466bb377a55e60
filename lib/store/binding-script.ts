/**
 * The Lua script behind BindingStore.apply/list. Everything an AoR's bindings and its legacy mirror go
 * through happens inside one script call, so two sidecars refreshing two devices of one AoR at the same
 * moment cannot leave `user:<aor>` pointing at a binding the hash no longer holds (or the reverse).
 *
 * KEYS: 1 `bindings:<aor>` (hash), 2 `user:<aor>`, 3 `active-user`, 4 `active-user:<realm>`.
 * ARGV: 1 now (ms), 2 max bindings, 3 overflow policy ('evict-oldest' | 'reject'),
 *       4 remove-all flag ('1'/'0'), 5 its Call-ID, 6 its CSeq, 7 zset member (`user:<aor>`),
 *       8 number of upserts, then five per upsert: key, Call-ID, CSeq, expiresAt (ms, 0 = remove), value.
 *
 * A value is the binding's JSON built by the caller; the script only splices `"seq":N` in front so the
 * order of refreshes is Redis's own serial order, not a client clock that may differ between sidecars.
 * The legacy record travels inside the value as a JSON *string* and is written back byte for byte:
 * re-encoding it with cjson would round large numbers and reorder fields other components read.
 *
 * Replies: {'ok', {evicted keys}, {values, most recently updated first}} | {'out-of-order', key} |
 * {'too-many'}. Nothing is written unless the reply is 'ok', and a call that neither changes nor prunes
 * anything writes nothing (list stays a read).
 *
 * Only Redis 6 commands are used: the hash's expiry is set to the computed maximum instead of relying on
 * EXPIRE ... GT. Expiries are relative (SET EX, PEXPIRE), so a sidecar clock a little off the Redis
 * server's clock shifts nothing but the zset scores, which are the caller's clock in jambonz too.
 */
export const BINDING_SCRIPT = `
local now = tonumber(ARGV[1])
local maxBindings = tonumber(ARGV[2])
local overflow = ARGV[3]
local removeAll = ARGV[4] == '1'
local member = ARGV[7]

local function int(n) return string.format('%d', n) end

-- Keys of a binding table, in a fixed order so that replies do not depend on Lua's hash order.
local function keysBy(set, before)
  local list = {}
  for key in pairs(set) do list[#list + 1] = key end
  table.sort(list, function(a, b)
    if set[a].seq ~= set[b].seq then return before(set[a].seq, set[b].seq) end
    return a < b
  end)
  return list
end
local function newestFirst(set) return keysBy(set, function(x, y) return x > y end) end
local function oldestFirst(set) return keysBy(set, function(x, y) return x < y end) end

-- Live bindings by key; unreadable or expired values count as pruned so the next write drops them.
local function load()
  local flat = redis.call('HGETALL', KEYS[1])
  local live, fields, pruned, topSeq = {}, {}, 0, 0
  for i = 1, #flat, 2 do
    fields[#fields + 1] = flat[i]
    local ok, b = pcall(cjson.decode, flat[i + 1])
    local expiresAt = ok and type(b) == 'table' and tonumber(b.expiresAt)
    if expiresAt and expiresAt > now and type(b.legacy) == 'string' then
      local seq = tonumber(b.seq) or 0
      live[flat[i]] = { callId = b.callId, cseq = tonumber(b.cseq) or 0, expiresAt = expiresAt, seq = seq, raw = flat[i + 1] }
      if seq > topSeq then topSeq = seq end
    else
      pruned = pruned + 1
    end
  end
  return live, fields, pruned, topSeq
end

local function readUpserts()
  local list = {}
  for i = 0, tonumber(ARGV[8]) - 1 do
    local at = 9 + i * 5
    list[#list + 1] = { key = ARGV[at], callId = ARGV[at + 1], cseq = tonumber(ARGV[at + 2]),
      expiresAt = tonumber(ARGV[at + 3]), value = ARGV[at + 4] }
  end
  return list
end

-- RFC 3261 10.3 steps 6 and 7: the same Call-ID with a CSeq not above the stored one aborts the request.
local function staleKey(live, upserts)
  if removeAll then
    local callId, cseq = ARGV[5], tonumber(ARGV[6])
    for _, key in ipairs(oldestFirst(live)) do
      if live[key].callId == callId and cseq <= live[key].cseq then return key end
    end
  end
  for _, u in ipairs(upserts) do
    local b = live[u.key]
    if b and b.callId == u.callId and u.cseq <= b.cseq then return u.key end
  end
  return nil
end

-- Earlier upserts get higher sequence numbers: the first Contact of a REGISTER is the one mirrored
-- into user:<aor>, as jambonz stores the first Contact.
local function applyChange(live, upserts, topSeq)
  local added, touched = false, {}
  if removeAll then
    for _, key in ipairs(oldestFirst(live)) do live[key] = nil end
  end
  for i, u in ipairs(upserts) do
    if u.expiresAt > now then
      if not live[u.key] then added = true end
      local seq = topSeq + #upserts - i + 1
      live[u.key] = { callId = u.callId, cseq = u.cseq, expiresAt = u.expiresAt, seq = seq,
        raw = '{"seq":' .. int(seq) .. ',' .. string.sub(u.value, 2) }
      touched[u.key] = true
    else
      live[u.key] = nil
      touched[u.key] = nil
    end
  end
  return added, touched
end

-- Returns the evicted keys, or nil when the change must be refused.
local function enforceLimit(live, touched, added)
  local count = 0
  for _ in pairs(live) do count = count + 1 end
  if count <= maxBindings then return {} end
  if overflow == 'reject' then
    if added then return nil end
    return {}
  end
  local evicted = {}
  for _, key in ipairs(oldestFirst(live)) do
    if count <= maxBindings then break end
    if not touched[key] then
      live[key] = nil
      evicted[#evicted + 1] = key
      count = count - 1
    end
  end
  if count > maxBindings and added then return nil end
  return evicted
end

local function persist(live, fields, touched)
  for _, field in ipairs(fields) do
    if not live[field] then redis.call('HDEL', KEYS[1], field) end
  end
  for key in pairs(touched) do redis.call('HSET', KEYS[1], key, live[key].raw) end
end

-- user:<aor> and both zsets follow the most recently updated live binding; the hash lives as long
-- as its longest binding so an abandoned AoR cleans itself up.
local function mirror(live)
  local order = newestFirst(live)
  if #order == 0 then
    redis.call('DEL', KEYS[1])
    redis.call('DEL', KEYS[2])
    redis.call('ZREM', KEYS[3], member)
    redis.call('ZREM', KEYS[4], member)
    return
  end
  local top, longest = live[order[1]], 0
  for _, key in ipairs(order) do
    if live[key].expiresAt > longest then longest = live[key].expiresAt end
  end
  local ttl = math.max(1, math.ceil((top.expiresAt - now) / 1000))
  redis.call('SET', KEYS[2], cjson.decode(top.raw).legacy, 'EX', int(ttl))
  redis.call('ZADD', KEYS[3], int(top.expiresAt), member)
  redis.call('ZADD', KEYS[4], int(top.expiresAt), member)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], int(longest - now))
end

local live, fields, pruned, topSeq = load()
local upserts = readUpserts()
local stale = staleKey(live, upserts)
if stale then return { 'out-of-order', stale } end
local added, touched = applyChange(live, upserts, topSeq)
local evicted = enforceLimit(live, touched, added)
if not evicted then return { 'too-many' } end
if pruned > 0 or removeAll or #upserts > 0 then
  persist(live, fields, touched)
  mirror(live)
end
local values = {}
for _, key in ipairs(newestFirst(live)) do values[#values + 1] = live[key].raw end
return { 'ok', evicted, values }
`;
