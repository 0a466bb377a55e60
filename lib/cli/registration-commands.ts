import type Redis from 'ioredis';
import { keys } from '../store/keys';
import type { RegistrationStore } from '../store/registration-store';
import type { CliReply } from './protocol';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10000;
const USER_PREFIX = keys.user('');

/** Read-only views of the registrations the registrar stored (`user:<aor>`, `active-user[:<realm>]`). */
export class RegistrationCommands {
  constructor(private readonly redis: Redis, private readonly store: RegistrationStore) {}

  /** Live registrations, soonest expiry first, of one realm or of all; `total` counts all of them. */
  async list(realm: string | undefined, limit = DEFAULT_LIMIT, now = Date.now()): Promise<CliReply> {
    const zset = realm ? keys.activeUsersOfRealm(realm) : keys.activeUsers;
    const count = Math.min(limit, MAX_LIMIT);
    const [members, total] = await Promise.all([
      this.redis.zrangebyscore(zset, `(${now}`, '+inf', 'LIMIT', 0, count),
      this.redis.zcount(zset, `(${now}`, '+inf'),
    ]);
    const aors = members.filter((m) => m.startsWith(USER_PREFIX)).map((m) => m.slice(USER_PREFIX.length));
    const records = await Promise.all(aors.map((aor) => this.store.get(aor)));
    const registrations = aors.flatMap((aor, i) => {
      const record = records[i];
      // The zset can outlive a record by a moment (Redis expired it first); such members are not live.
      return record ? [{ aor, contact: record.contact, protocol: record.protocol ?? null, proxy: record.proxy,
        expiresIn: Math.max(0, Math.round((record.expiryTime - now) / 1000)) }] : [];
    });
    return { success: true, realm: realm ?? null, total, registrations, truncated: total > members.length };
  }

  async show(aor: string | undefined): Promise<CliReply> {
    if (!aor) return { success: false, error: 'show requires an address of record (user@realm)' };
    const [record, ttl] = await Promise.all([this.store.get(aor), this.redis.ttl(keys.user(aor))]);
    if (!record) return { success: false, error: `No registration for ${aor}` };
    return { success: true, aor, ttl, registration: record };
  }
}
