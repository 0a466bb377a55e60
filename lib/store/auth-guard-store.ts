import type Redis from 'ioredis';
import { keys } from './keys';
import { execOrThrow } from './redis-multi';
import { RESERVE_ATTEMPT_LUA } from './attempt-script';

/** Accepts `nc` only when it is higher than every nc seen before for this nonce. */
const RECORD_NONCE_COUNT = `
local seen = redis.call('GET', KEYS[1])
if seen and tonumber(seen) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/**
 * Adds a failure to the source's and the AoR's sliding windows and bans the source when either window
 * is over its threshold, recording why (JSON) and indexing the ban. Returns 1 when the source is (now) banned.
 * KEYS: source window, aor window, ban key, ban index. ARGV: now, window ms, source threshold, aor threshold,
 * ban ms, member, source ip, aor.
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
local why
if sourceLimit > 0 and bySource >= sourceLimit then
  why = cjson.encode({ why = 'source-failures', failures = bySource, at = now })
elseif aorLimit > 0 and byAor >= aorLimit then
  why = cjson.encode({ why = 'aor-failures', failures = byAor, aor = ARGV[8], at = now })
end
if why then
  redis.call('SET', KEYS[3], why, 'PX', ARGV[5])
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[5]), ARGV[7])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  return 1
end
return 0`;

/** KEYS: source window. ARGV: now, window ms, source threshold, member. 1 when the place was taken (see attempt-script.ts). */
const RESERVE_ATTEMPT = `${RESERVE_ATTEMPT_LUA}
return reserveAttempt(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]) and 1 or 0`;

/** A reservation to be taken by another script in the same round trip (see RESERVE_ATTEMPT_LUA). */
export interface AttemptPlan {
  key: string;
  windowMs: number;
  threshold: number;
  member: string;
}

export interface FailurePolicy {
  windowMs: number;
  perSource: number;
  perAor: number;
  banMs: number;
}

type ScriptRedis = Redis & {
  recordNonceCount(key: string, nc: number, ttlMs: number): Promise<number>;
  recordAuthFailure(sourceKey: string, aorKey: string, banKey: string, banIndexKey: string, now: number, windowMs: number,
    perSource: number, perAor: number, banMs: number, member: string, sourceIp: string, aor: string): Promise<number>;
  reserveAuthAttempt(sourceKey: string, now: number, windowMs: number, perSource: number, member: string): Promise<number>;
};

/** Why a source is banned: too many failures from it or against one AoR, or the registration hook's blacklist. */
export type BanReason = 'source-failures' | 'aor-failures' | 'hook' | 'unknown';

export interface Ban {
  ip: string;
  /** ms left */
  remainingMs: number;
  why: BanReason;
  /** The AoR attacked, for 'aor-failures'. */
  aor?: string;
  /** Failures in the window when the ban was set. */
  failures?: number;
  /** ms since epoch the ban was set, when recorded. */
  at?: number;
}

/** Replay and brute-force state shared by every sidecar of the cluster. */
export class AuthGuardStore {
  private readonly redis: ScriptRedis;
  private sequence = 0;

  constructor(redis: Redis) {
    redis.defineCommand('recordNonceCount', { numberOfKeys: 1, lua: RECORD_NONCE_COUNT });
    redis.defineCommand('recordAuthFailure', { numberOfKeys: 4, lua: RECORD_FAILURE });
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

  /**
   * What a script taking the reservation in another round trip needs (see BindingStore.refresh): the window
   * key, its bounds and a new place.
   */
  attemptPlan(sourceIp: string, policy: FailurePolicy, now = Date.now()): AttemptPlan {
    return { key: keys.authFailuresBySource(sourceIp), windowMs: policy.windowMs, threshold: policy.perSource, member: this.newMember(now) };
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
      keys.bannedSource(sourceIp), keys.bannedSources, now, policy.windowMs, policy.perSource, policy.perAor, policy.banMs,
      member, sourceIp, aor);
    return banned === 1;
  }

  /** A ban the registration hook asked for. */
  async ban(sourceIp: string, ms: number, now = Date.now()): Promise<void> {
    const banMs = Math.max(1, Math.round(ms));
    await execOrThrow(this.redis.multi()
      .set(keys.bannedSource(sourceIp), JSON.stringify({ why: 'hook', at: now }), 'PX', banMs)
      .zadd(keys.bannedSources, now + banMs, sourceIp)
      .zremrangebyscore(keys.bannedSources, '-inf', now));
  }

  /**
   * Live bans, soonest to end first, at most `max` (and how many there are). Read from the index and
   * confirmed against each ban key, so a ban lifted or expired early is not listed.
   */
  async listBans(max: number, now = Date.now()): Promise<{ total: number; bans: Ban[] }> {
    const [, ips, total] = await execOrThrow(this.redis.multi()
      .zremrangebyscore(keys.bannedSources, '-inf', now)
      .zrangebyscore(keys.bannedSources, `(${now}`, '+inf', 'LIMIT', 0, max)
      .zcard(keys.bannedSources)) as [unknown, string[], number];
    const found = await Promise.all(ips.map(async (ip) => {
      const [value, pttl] = await Promise.all([this.redis.get(keys.bannedSource(ip)), this.redis.pttl(keys.bannedSource(ip))]);
      return value === null || pttl <= 0 ? undefined : { ip, remainingMs: pttl, ...parseBanValue(value) };
    }));
    return { total, bans: found.filter((ban): ban is Ban => ban !== undefined) };
  }

  /** Lifts a ban and forgets the source's failures (else its next failure bans it again). True when it was banned. */
  async unban(sourceIp: string): Promise<boolean> {
    const [removed] = await execOrThrow(this.redis.multi()
      .del(keys.bannedSource(sourceIp))
      .del(keys.authFailuresBySource(sourceIp))
      .zrem(keys.bannedSources, sourceIp)) as [number];
    return removed === 1;
  }

  private newMember(now: number): string {
    return `${now}-${process.pid}-${this.sequence++}`;
  }

  async isBanned(sourceIp: string): Promise<boolean> {
    return (await this.redis.exists(keys.bannedSource(sourceIp))) === 1;
  }
}

/** The ban key's value: our JSON, or '1' written by a version that recorded no reason. */
function parseBanValue(value: string): Pick<Ban, 'why' | 'aor' | 'failures' | 'at'> {
  try {
    const parsed = JSON.parse(value) as Record<string, unknown>;
    const why = typeof parsed.why === 'string' && ['source-failures', 'aor-failures', 'hook'].includes(parsed.why)
      ? parsed.why as BanReason : 'unknown';
    return {
      why,
      aor: typeof parsed.aor === 'string' ? parsed.aor : undefined,
      failures: typeof parsed.failures === 'number' ? parsed.failures : undefined,
      at: typeof parsed.at === 'number' ? parsed.at : undefined,
    };
  } catch {
    return { why: 'unknown' };
  }
}
