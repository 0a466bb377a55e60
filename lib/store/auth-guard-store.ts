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
};

/** Replay and brute-force state shared by every sidecar of the cluster. */
export class AuthGuardStore {
  private readonly redis: ScriptRedis;
  private sequence = 0;

  constructor(redis: Redis) {
    redis.defineCommand('recordNonceCount', { numberOfKeys: 1, lua: RECORD_NONCE_COUNT });
    redis.defineCommand('recordAuthFailure', { numberOfKeys: 3, lua: RECORD_FAILURE });
    this.redis = redis as ScriptRedis;
  }

  /** True when `nc` is new for this nonce (and records it); false for a replayed or lower count. */
  async acceptNonceCount(nonce: string, nc: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.recordNonceCount(keys.nonceCount(nonce), nc, ttlMs)) === 1;
  }

  /** Records a failed authentication; resolves true when the source is banned as a result. */
  async recordFailure(sourceIp: string, aor: string, policy: FailurePolicy, now = Date.now()): Promise<boolean> {
    const member = `${now}-${process.pid}-${this.sequence++}`;
    const banned = await this.redis.recordAuthFailure(keys.authFailuresBySource(sourceIp), keys.authFailuresByAor(aor),
      keys.bannedSource(sourceIp), now, policy.windowMs, policy.perSource, policy.perAor, policy.banMs, member);
    return banned === 1;
  }

  async ban(sourceIp: string, ms: number): Promise<void> {
    await this.redis.set(keys.bannedSource(sourceIp), '1', 'PX', Math.max(1, Math.round(ms)));
  }

  async isBanned(sourceIp: string): Promise<boolean> {
    return (await this.redis.exists(keys.bannedSource(sourceIp))) === 1;
  }
}
