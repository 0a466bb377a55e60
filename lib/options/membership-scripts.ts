/**
 * Lua run inside Redis so that each membership change is atomic: the drained check, the set and its
 * last-seen zset, and the count returned in X-Members all see the same state, whatever other sidecars do.
 */

/**
 * KEYS: set, last-seen zset[, drained set[, service-url set, service-url last-seen zset]]
 * ARGV: member, source ip, 'open'|'closed', now (ms), service url ('' for none)
 * Returns { effective status, SCARD of the set after the change, 1 if the set changed else 0 }.
 */
export const CHECK_IN_SCRIPT = `
local status = ARGV[3]
if status == 'open' and #KEYS >= 3 and redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1 then
  status = 'drained'
end
local function apply(set, seen, member)
  if status == 'open' then
    redis.call('ZADD', seen, ARGV[4], member)
    return redis.call('SADD', set, member)
  end
  redis.call('ZREM', seen, member)
  return redis.call('SREM', set, member)
end
local changed = apply(KEYS[1], KEYS[2], ARGV[1])
if #KEYS >= 5 and ARGV[5] ~= '' then apply(KEYS[4], KEYS[5], ARGV[5]) end
return { status, redis.call('SCARD', KEYS[1]), changed }
`;

/**
 * KEYS: set, last-seen zset.  ARGV: now (ms), expires interval (ms).
 * Members present in the set but never seen (set before this sidecar started, or by a sidecar that keeps
 * last-seen in memory) are stamped now, so they get one full interval to check in. Members not seen for
 * longer than the interval leave both. Returns the members removed.
 */
export const SWEEP_SCRIPT = `
local now = tonumber(ARGV[1])
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('ZADD', KEYS[2], 'NX', now, member)
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[2])))
for _, member in ipairs(stale) do
  redis.call('SREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
return stale
`;
