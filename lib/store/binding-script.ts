/**
 * The Lua scripts behind BindingStore. Everything an AoR's bindings and its legacy mirror go through
 * happens inside one script call, so two sidecars refreshing two devices of one AoR at the same moment
 * cannot leave `user:<aor>` pointing at a binding the hash no longer holds (or the reverse).
 *
 * KEYS (both scripts): 1 `bindings:<aor>` (hash), 2 `user:<aor>`, 3 `active-user`, 4 `active-user:<realm>`.
 * ARGV (both scripts): 1 now (ms), 2 max bindings, 3 overflow policy ('evict-oldest' | 'reject'),
 *       4 zset member (`user:<aor>`), 5 reply form ('full' | 'summary'), then the script's own arguments.
 *
 * A value is the binding's JSON built by the caller; the script only splices `"seq":N` in front so the
 * order of refreshes is Redis's own serial order, not a client clock that may differ between sidecars.
 * The legacy record travels inside the value as a JSON *string* and is written back byte for byte:
 * re-encoding it with cjson would round large numbers and reorder fields other components read.
 *
 * Live bindings come back most recently updated first, either as their stored values ('full') or as flat
 * triples key, Contact URI, expiresAt ('summary'): all a 200 OK needs, without shipping and parsing
 * every binding's JSON on each REGISTER.
 *
 * Only Redis 6 commands are used: the hash's expiry is set to the computed maximum instead of relying on
 * EXPIRE ... GT. Expiries are relative (SET EX, PEXPIRE), so a sidecar clock a little off the Redis
 * server's clock shifts nothing but the zset scores, which are the caller's clock in jambonz too.
 */
import { RESERVE_ATTEMPT_LUA } from './attempt-script';

const SHARED = `
local now = tonumber(ARGV[1])
local maxBindings = tonumber(ARGV[2])
local overflow = ARGV[3]
local member = ARGV[4]
local replyForm = ARGV[5]

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
      live[flat[i]] = { callId = b.callId, cseq = tonumber(b.cseq) or 0, expiresAt = expiresAt, seq = seq,
        contact = b.contact, source = b.source, legacy = b.legacy, raw = flat[i + 1] }
      if seq > topSeq then topSeq = seq end
    else
      pruned = pruned + 1
    end
  end
  return live, fields, pruned, topSeq
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

-- The live bindings as the caller asked for them, most recently updated first.
local function replyList(live)
  local list = {}
  for _, key in ipairs(newestFirst(live)) do
    local b = live[key]
    if replyForm == 'summary' then
      list[#list + 1] = key
      list[#list + 1] = b.contact
      list[#list + 1] = int(b.expiresAt)
    else
      list[#list + 1] = b.raw
    end
  end
  return list
end
`;

/**
 * BindingStore.apply/list. Own ARGV: 6 remove-all flag ('1'/'0'), 7 its Call-ID, 8 its CSeq,
 * 9 number of upserts, then six per upsert: key, Call-ID, CSeq, expiresAt (ms, 0 = remove), Contact URI, value.
 *
 * Replies: {'ok', {evicted keys}, {live bindings}} | {'out-of-order', key} | {'too-many'}. Nothing is
 * written unless the reply is 'ok', and a call that neither changes nor prunes anything writes nothing
 * (list stays a read).
 */
export const BINDING_SCRIPT = `${SHARED}
local removeAll = ARGV[6] == '1'

local function readUpserts()
  local list = {}
  for i = 0, tonumber(ARGV[9]) - 1 do
    local at = 10 + i * 6
    list[#list + 1] = { key = ARGV[at], callId = ARGV[at + 1], cseq = tonumber(ARGV[at + 2]),
      expiresAt = tonumber(ARGV[at + 3]), contact = ARGV[at + 4], value = ARGV[at + 5] }
  end
  return list
end

-- RFC 3261 10.3 steps 6 and 7: the same Call-ID with a CSeq not above the stored one aborts the request.
local function staleKey(live, upserts)
  if removeAll then
    local callId, cseq = ARGV[7], tonumber(ARGV[8])
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
      live[u.key] = { callId = u.callId, cseq = u.cseq, expiresAt = u.expiresAt, seq = seq, contact = u.contact,
        raw = '{"seq":' .. int(seq) .. ',' .. string.sub(u.value, 2) }
      touched[u.key] = true
    else
      live[u.key] = nil
      touched[u.key] = nil
    end
  end
  return added, touched
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
return { 'ok', evicted, replyList(live) }
`;

/**
 * BindingStore.refresh: the REGISTER fast path in one call, the ban check of the source included. It
 * answers 'banned' when KEYS[5] (`banned-source:<ip>`) exists. Otherwise it extends a binding only when the
 * request comes from the binding's source with the binding's Contact URI and the binding has more than the
 * given time left; with the stored Call-ID the CSeq must also be higher. Anything else is left to full
 * authentication. The stored value is rewritten in place (CSeq, expiry, updatedAt, seq and the legacy
 * record's expiryTime) so every other byte, the legacy record's included, stays as the last full
 * registration wrote it.
 *
 * A request with another Call-ID (a rebooted phone) is the same device when source and Contact match: the
 * binding and its legacy record take the new Call-ID with the request's CSeq (RFC 3261 10.3 step 7: a
 * binding updated from another Call-ID takes it), so the device's next refresh matches, and the
 * out-of-order check of a later REGISTER compares against the Call-ID the device now uses.
 *
 * Own ARGV: 6 binding key, 7 Call-ID, 8 CSeq, 9 source 'ip:port', 10 Contact URI, 11 minimum time left (ms),
 * 12 lifetime to grant when the binding has no grantedExpires, 13 the most to grant (seconds).
 *
 * Replies: {'ok', {evicted keys}, {live bindings}} | {'no', why} | {'banned'}; nothing is written unless 'ok'.
 */
export const REFRESH_SCRIPT = `${SHARED}
${RESERVE_ATTEMPT_LUA}
local BS, DQ = string.char(92), string.char(34)
local key, callId, cseq = ARGV[6], ARGV[7], tonumber(ARGV[8])

local function grantFor(b)
  local ok, legacy = pcall(cjson.decode, b.legacy)
  local granted = ok and type(legacy) == 'table' and tonumber(legacy.grantedExpires) or tonumber(ARGV[12])
  return math.floor(math.min(granted, tonumber(ARGV[13])))
end

-- Replaces the one number after prefix; nil when it is not there exactly once.
local function setNumber(text, prefix, value)
  local pattern = string.gsub(prefix, '%p', '%%%0') .. '%-?%d+'
  local _, count = string.gsub(text, pattern, '')
  if count ~= 1 then return nil end
  return (string.gsub(text, pattern, prefix .. int(value)))
end

local function rewritten(raw, seq, expiresAt)
  local body = string.match(raw, '^{"seq":%d+,(.*)$')
  if not body then return nil end
  body = setNumber(body, '"cseq":', cseq)
  body = body and setNumber(body, '"expiresAt":', expiresAt)
  body = body and setNumber(body, '"updatedAt":', now)
  body = body and setNumber(body, BS .. '"expiryTime' .. BS .. '":', expiresAt)
  return body and ('{"seq":' .. int(seq) .. ',' .. body)
end

-- A string as JSON.stringify writes it (it wrote the stored values): quote, backslash and C0 escaped.
local SHORT_ESCAPES = { [DQ] = DQ, [BS] = BS, [string.char(8)] = 'b', [string.char(9)] = 't', [string.char(10)] = 'n',
  [string.char(12)] = 'f', [string.char(13)] = 'r' }
local NEEDS_ESCAPE = '[%z' .. string.char(1) .. '-' .. string.char(31) .. DQ .. BS .. ']'
local function jsonString(s)
  return DQ .. (string.gsub(s, NEEDS_ESCAPE, function(c)
    local short = SHORT_ESCAPES[c]
    return short and (BS .. short) or string.format(BS .. 'u%04x', string.byte(c))
  end)) .. DQ
end

-- Replaces the one plain occurrence of old; nil when it is not there exactly once.
local function replaceOnce(text, old, new)
  local at = string.find(text, old, 1, true)
  if not at or string.find(text, old, at + 1, true) then return nil end
  return string.sub(text, 1, at - 1) .. new .. string.sub(text, at + #old)
end

-- The binding's Call-ID and its legacy record's (a JSON text inside the value, hence encoded twice).
local function withCallId(raw, old, new)
  local field = function(id) return '"callId":' .. jsonString(id) end
  local inLegacy = function(id) return string.sub(jsonString(field(id)), 2, -2) end
  local value = replaceOnce(raw, field(old), field(new))
  return value and replaceOnce(value, inLegacy(old), inLegacy(new))
end

local function refresh()
  local live, fields, _, topSeq = load()
  local b = live[key]
  if not b then return { 'no', 'no such binding' } end
  if b.source ~= ARGV[9] or b.contact ~= ARGV[10] then return { 'no', 'another device' } end
  local sameCall = b.callId == callId
  if sameCall and not (cseq > b.cseq) then return { 'no', 'CSeq not above the stored one' } end
  if b.expiresAt - now <= tonumber(ARGV[11]) then return { 'no', 'expiring' } end
  local granted = grantFor(b)
  if granted <= 0 then return { 'no', 'nothing to grant' } end
  local expiresAt = now + granted * 1000
  local raw = rewritten(b.raw, topSeq + 1, expiresAt)
  if raw and not sameCall then raw = type(b.callId) == 'string' and withCallId(raw, b.callId, callId) or nil end
  if not raw then return { 'no', 'unexpected stored value' } end
  live[key] = { callId = callId, cseq = cseq, expiresAt = expiresAt, seq = topSeq + 1, contact = b.contact, raw = raw }
  local touched = { [key] = true }
  local evicted = enforceLimit(live, touched, false)
  persist(live, fields, touched)
  mirror(live)
  return { 'ok', evicted, replyList(live) }
end

if redis.call('EXISTS', KEYS[5]) == 1 then return { 'banned' } end
local reply = refresh()
-- A request with credentials that is not a refresh goes on to authentication: its place among the source's
-- failures (KEYS[6]; ARGV 14-16: window ms, threshold, member) is taken here, in the same round trip.
if reply[1] == 'no' and KEYS[6] then
  reply[3] = reserveAttempt(KEYS[6], now, tonumber(ARGV[14]), tonumber(ARGV[15]), ARGV[16]) and 'reserved' or 'full'
end
return reply
`;
