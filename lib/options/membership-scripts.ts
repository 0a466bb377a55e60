/**
 * Lua run inside Redis so that each membership change is atomic: the drained check, the set and its
 * last-seen hash, and the count returned in X-Members all see the same state, whatever other sidecars do.
 *
 * The last-seen record is the hash jambonz's sidecar keeps since 0.9.7 (`<set>:lastseen`, member → epoch
 * ms), written and read the way it does: stamped on every `open`, deleted on `closed`, and a member leaves
 * its set when its stamp is older than EXPIRES_INTERVAL. So in a cluster mixing both kinds of sidecar,
 * each sees the check-ins the other received and neither expires a member the other still hears from.
 */

/**
 * KEYS: set, last-seen hash[, drained set[, service-url set, service-url last-seen hash]]
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
    redis.call('HSET', seen, member, ARGV[4])
    return redis.call('SADD', set, member)
  end
  redis.call('HDEL', seen, member)
  return redis.call('SREM', set, member)
end
local changed = apply(KEYS[1], KEYS[2], ARGV[1])
if #KEYS >= 5 and ARGV[5] ~= '' then apply(KEYS[4], KEYS[5], ARGV[5]) end
return { status, redis.call('SCARD', KEYS[1]), changed }
`;

/**
 * KEYS: set, last-seen hash.  ARGV: now (ms), expires interval (ms).
 * Members present in the set without a stamp (left by a crashed peer, or added by a sidecar that keeps no
 * shared record) are stamped now, so they get one full interval to check in; an unreadable stamp is
 * treated the same way. Members whose stamp is older than the interval leave the set and the hash.
 * Returns the members removed.
 */
export const SWEEP_SCRIPT = `
local cutoff = tonumber(ARGV[1]) - tonumber(ARGV[2])
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('HSETNX', KEYS[2], member, ARGV[1])
end
local stale = {}
local stamps = redis.call('HGETALL', KEYS[2])
for i = 1, #stamps, 2 do
  local member, seen = stamps[i], tonumber(stamps[i + 1])
  if seen == nil then
    redis.call('HSET', KEYS[2], member, ARGV[1])
  elseif seen < cutoff then
    redis.call('HDEL', KEYS[2], member)
    redis.call('SREM', KEYS[1], member)
    stale[#stale + 1] = member
  end
end
return stale
`;
