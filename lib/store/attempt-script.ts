/**
 * The Lua of an authentication attempt's reservation, shared by the scripts that take one: AuthGuardStore's
 * own (RESERVE_ATTEMPT) and the refresh fast path's (REFRESH_SCRIPT), which takes the place in the same round
 * trip when a REGISTER with credentials turns out not to be a refresh.
 *
 * `reserveAttempt(key, now, window, threshold, member)`: takes a place for one authentication in the source's
 * failure window `key` (a zset of failures and places in progress, scored by time), unless the failures and the
 * authentications in progress already fill it. The place is the member a failure later records, so a burst
 * of concurrent guesses cannot all reach the hook before the first of them is counted; it is removed again
 * when the authentication does not fail. True when the place was taken.
 */
export const RESERVE_ATTEMPT_LUA = `
local function reserveAttempt(key, now, window, threshold, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= threshold then return false end
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  return true
end
`;
