import type Redis from 'ioredis';
import { keys } from './keys';

/** Accepts `nc` only when it is higher than every nc seen before for this nonce. */
const RECORD_NONCE_COUNT = `
local seen = redis.call('GET', KEYS[1])
if seen and tonumber(seen) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/**
 * Adds a failure to the source's and the AoR's sliding windows and bans the source when either window
 * is over its threshold. Returns 1 when the source is (now) banned.
 * KEYS: source window, aor window, ban key. ARGV: now, window ms, source threshold, aor threshold, ban ms, member.
 */
const RECORD_FAILURE = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local function count(key)
  redis.call('ZADD', key, now, ARGV[6])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('PEXPIRE', key, window)
  return redis.call('ZCARD', key)
end
local bySource = count(KEYS[1])
local byAor = count(KEYS[2])
local sourceLimit = tonumber(ARGV[3])
local aorLimit = tonumber(ARGV[4])
if (sourceLimit > 0 and bySource >= sourceLimit) or (aorLimit > 0 and byAor >= aorLimit) then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
  return 1
end
return 0`;

/**
 * Takes a place for one authentication in the source's failure window, unless the failures and the
 * authentications already in progress fill it. The place is the member a failure will later record (so a
 * burst of concurrent guesses cannot all reach the hook before the first of them is counted), and is
 * removed again when the authentication does not fail. Returns 1 when the place was taken.
 * KEYS: source window. ARGV: now, window ms, source threshold, member.
 */
const RESERVE_ATTEMPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 1`;

export interface FailurePolicy {
  windowMs: number;
  perSource: number;
  perAor: number;
  banMs: number;
}

type ScriptRedis = Redis & {
  recordNonceCount(key: string, nc: number, ttlMs: number): Promise<number>;
  recordAuthFailure(sourceKey: string, aorKey: string, banKey: string, now: number, windowMs: number,
    perSource: number, perAor: number, banMs: number, member: string): Promise<number>;
  reserveAuthAttempt(sourceKey: string, now: number, windowMs: number, perSource: number, member: string): Promise<number>;
};

/** Replay and brute-force state shared by every sidecar of the cluster. */
export class AuthGuardStore {
  private readonly redis: ScriptRedis;
  private sequence = 0;

  constructor(redis: Redis) {
    redis.defineCommand('recordNonceCount', { numberOfKeys: 1, lua: RECORD_NONCE_COUNT });
    redis.defineCommand('recordAuthFailure', { numberOfKeys: 3, lua: RECORD_FAILURE });
    redis.defineCommand('reserveAuthAttempt', { numberOfKeys: 1, lua: RESERVE_ATTEMPT });
    this.redis = redis as ScriptRedis;
  }

  /** True when `nc` is new for this nonce (and records it); false for a replayed or lower count. */
  async acceptNonceCount(nonce: string, nc: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.recordNonceCount(keys.nonceCount(nonce), nc, ttlMs)) === 1;
  }

  /**
   * Reserves a place for an authentication from `sourceIp` among its failures in the window; resolves the
   * place (to pass to recordFailure or releaseAttempt), or undefined when failures and authentications in
   * progress already reach the source threshold.
   */
  async reserveAttempt(sourceIp: string, policy: FailurePolicy, now = Date.now()): Promise<string | undefined> {
    const member = this.newMember(now);
    const taken = await this.redis.reserveAuthAttempt(keys.authFailuresBySource(sourceIp), now, policy.windowMs, policy.perSource, member);
    return taken === 1 ? member : undefined;
  }

  /** Gives back a place reserved for an authentication that did not fail. */
  async releaseAttempt(sourceIp: string, member: string): Promise<void> {
    await this.redis.zrem(keys.authFailuresBySource(sourceIp), member);
  }

  /**
   * Records a failed authentication (in the place reserved for it, when there is one); resolves true when
   * the source is banned as a result.
   */
  async recordFailure(sourceIp: string, aor: string, policy: FailurePolicy, now = Date.now(), reserved?: string): Promise<boolean> {
    const member = reserved ?? this.newMember(now);
    const banned = await this.redis.recordAuthFailure(keys.authFailuresBySource(sourceIp), keys.authFailuresByAor(aor),
      keys.bannedSource(sourceIp), now, policy.windowMs, policy.perSource, policy.perAor, policy.banMs, member);
    return banned === 1;
  }

  private newMember(now: number): string {
    return `${now}-${process.pid}-${this.sequence++}`;
  }

  async ban(sourceIp: string, ms: number): Promise<void> {
    await this.redis.set(keys.bannedSource(sourceIp), '1', 'PX', Math.max(1, Math.round(ms)));
  }

  async isBanned(sourceIp: string): Promise<boolean> {
    return (await this.redis.exists(keys.bannedSource(sourceIp))) === 1;
  }
}
