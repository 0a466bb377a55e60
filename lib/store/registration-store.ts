import type Redis from 'ioredis';
import { keys } from './keys';

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

type Multi = ReturnType<Redis['multi']>;

async function execOrThrow(multi: Multi): Promise<unknown[]> {
  const results = await multi.exec();
  if (!results) throw new Error('redis transaction aborted');
  const failed = results.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
  return results.map(([, value]) => value);
}
