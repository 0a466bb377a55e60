import type Redis from 'ioredis';
import { keys } from './keys';
import { execOrThrow } from './redis-multi';

/**
 * The legacy `user:<aor>` JSON record. Field names are the contract with sbc-outbound, feature-server
 * and api-server and must not change; `callId`, `receivedOn` and `grantedExpires` are our additions (ignored by them).
 */
export interface RegistrationRecord {
  contact: string;
  sbcAddress?: string;
  privateSbcAddress?: string;
  protocol?: 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';
  proxy: string;
  callHook?: unknown;
  callStatusHook?: unknown;
  allow_direct_app_calling: boolean;
  allow_direct_queue_calling: boolean;
  allow_direct_user_calling: boolean;
  /** ms since epoch */
  expiryTime: number;
  callId?: string;
  receivedOn?: string;
  /** The lifetime granted at the last full authentication, reused when the fast path extends it. */
  grantedExpires?: number;
}

/** A place in the live registrations, ordered by expiry then AoR: where a page ends and the next begins. */
export interface RegistrationPosition {
  /** ms since epoch: the `active-user` score */
  expiresAt: number;
  aor: string;
}

export interface PageQuery {
  /** Only this realm's registrations (its own zset). */
  realm?: string;
  /** Only AoRs whose user part starts with this, case-insensitively. */
  userPrefix?: string;
  /** Start after this position (the `next` of the previous page). */
  after?: RegistrationPosition;
  limit: number;
  /** At most this many zset members are looked at per call; a sparse filter then ends the page early, with `next`. */
  budget?: number;
}

export interface RegistrationPage {
  entries: RegistrationPosition[];
  /** Absent when the end was reached. */
  next?: RegistrationPosition;
}

/** zset members read per round trip while paging. */
const PAGE_BATCH = 500;
const USER_PREFIX = 'user:';

/** Reads of the jambonz registration records; every write goes through BindingStore, which keeps them in step with the bindings. */
export class RegistrationStore {
  constructor(private readonly redis: Redis) {}

  async get(aor: string): Promise<RegistrationRecord | undefined> {
    const text = await this.redis.get(keys.user(aor));
    return text ? parseRecord(text) : undefined;
  }

  /** Live registrations of one realm (exact realm, expired members pruned first). */
  async countRealm(realm: string, now = Date.now()): Promise<number> {
    const key = keys.activeUsersOfRealm(realm);
    const results = await execOrThrow(this.redis.multi().zremrangebyscore(key, '-inf', now).zcard(key));
    return Number(results[1]);
  }

  /** Live registrations of each realm, read only (expired members are counted out, not removed). */
  async countRealms(realms: string[], now = Date.now()): Promise<number[]> {
    return Promise.all(realms.map((realm) => this.redis.zcount(keys.activeUsersOfRealm(realm), `(${now}`, '+inf')));
  }

  /** Whether `aor` holds a live registration (a refresh does not count as a new device). */
  async isRegistered(aor: string, realm: string, now = Date.now()): Promise<boolean> {
    const score = await this.redis.zscore(keys.activeUsersOfRealm(realm), keys.user(aor));
    return score !== null && Number(score) > now;
  }

  /** Removes expired members from the global zset, as the reference does every 10 minutes. */
  async pruneExpired(now = Date.now()): Promise<number> {
    return this.redis.zremrangebyscore(keys.activeUsers, '-inf', now);
  }

  async countAll(now = Date.now()): Promise<number> {
    return this.redis.zcount(keys.activeUsers, `(${now}`, '+inf');
  }

  /**
   * One page of live registrations, soonest expiry first (ties by AoR, as Redis orders them). A position
   * is stable while registrations come and go; a device refreshed meanwhile moves later and may show again.
   */
  async page(query: PageQuery, now = Date.now()): Promise<RegistrationPage> {
    const key = query.realm ? keys.activeUsersOfRealm(query.realm) : keys.activeUsers;
    const after = query.after && query.after.expiresAt > now ? query.after : undefined;
    const min = after ? String(after.expiresAt) : `(${now}`;
    const prefix = query.userPrefix?.toLowerCase();
    const budget = query.budget ?? 10 * PAGE_BATCH;
    const entries: RegistrationPosition[] = [];
    let examined = 0;
    let last: RegistrationPosition | undefined;
    for (let offset = 0; ; offset += PAGE_BATCH) {
      const flat = await this.redis.zrangebyscore(key, min, '+inf', 'WITHSCORES', 'LIMIT', offset, PAGE_BATCH);
      for (let i = 0; i < flat.length; i += 2) {
        if (examined++ >= budget) return { entries, next: last };
        // Every member is `user:<aor>` (ours and the reference's); anything else is not a registration.
        if (!flat[i].startsWith(USER_PREFIX)) continue;
        const position = { aor: flat[i].slice(USER_PREFIX.length), expiresAt: Number(flat[i + 1]) };
        if (after && !isAfter(flat[i], position.expiresAt, after)) continue;
        last = position;
        if (prefix !== undefined && !userOf(position.aor).toLowerCase().startsWith(prefix)) continue;
        entries.push(position);
        if (entries.length === query.limit) return { entries, next: position };
      }
      if (flat.length < PAGE_BATCH * 2) return { entries };
    }
  }
}

/** Redis orders equal scores by member, bytewise. */
function isAfter(member: string, score: number, after: RegistrationPosition): boolean {
  if (score !== after.expiresAt) return score > after.expiresAt;
  return Buffer.compare(Buffer.from(member), Buffer.from(keys.user(after.aor))) > 0;
}

function userOf(aor: string): string {
  return aor.slice(0, aor.lastIndexOf('@'));
}

function parseRecord(text: string): RegistrationRecord | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && typeof (parsed as RegistrationRecord).contact === 'string') {
      return parsed as RegistrationRecord;
    }
  } catch {
    // A record we cannot read is treated as absent: the device re-authenticates and it is rewritten.
  }
  return undefined;
}
