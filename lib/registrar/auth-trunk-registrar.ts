import { TtlCache } from '../cache/ttl-cache';
import type { Account } from '../db/accounts';
import { AuthTrunk, findAuthTrunks } from '../db/auth-trunks';
import type { Database } from '../db/database';
import { verifyResponse, DigestCredentials } from '../sip/digest';
import type { RegisterRequest } from './register-request.types';

/**
 * REGISTERs from auth trunks (jambonz 0.9.7): a carrier or PBX configured with `trunk_type = 'auth'` may
 * register to us with the trunk's inbound credentials, to keep its path to the SBC open and to learn that
 * its credentials work. Such a REGISTER is acknowledged and nothing is stored: the trunk is not a device
 * (calls reach it as a carrier), so it has no binding and does not count toward the account's devices.
 */
export class AuthTrunkRegistrar {
  private readonly cache: TtlCache<string, AuthTrunk[]>;

  /** Trunks are cached per account like accounts are (REGISTRAR_ACCOUNT_CACHE_TTL_MS). */
  constructor(private readonly db: Database, ttlMs: number, maxEntries: number) {
    this.cache = new TtlCache(ttlMs, maxEntries);
  }

  /**
   * The auth trunk, of the account or of its service provider, whose username is the digest username and
   * whose password gives the digest response; undefined when none does. A trunk without a password never
   * matches (the reference would accept an empty one). Throws when MySQL cannot be read.
   */
  async match(account: Account, credentials: DigestCredentials): Promise<AuthTrunk | undefined> {
    const trunks = await this.cache.get(account.accountSid,
      () => findAuthTrunks(this.db, account.accountSid, account.serviceProviderSid));
    return trunks.find((trunk) => trunk.username === credentials.username && Boolean(trunk.password)
      && verifyResponse(credentials, { password: trunk.password as string, method: 'REGISTER' }));
  }
}

/**
 * The 200 for a trunk's REGISTER, as the reference answers it: its Contact and Expires echoed. A query (no
 * Contact) has neither to echo and a trunk has no binding to list: a plain 200.
 */
export function trunkAcknowledgement(request: RegisterRequest): { status: 200; headers: Record<string, string>; expires?: number } {
  if (request.type === 'query') return { status: 200, headers: {} };
  return { status: 200, headers: { Contact: request.contactHeader, Expires: String(request.expires) }, expires: request.expires };
}
