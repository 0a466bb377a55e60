import { TtlCache } from '../cache/ttl-cache';
import { Account, findAccountBySipRealm } from '../db/accounts';
import type { Database } from '../db/database';

/**
 * Account-by-realm lookups for the REGISTER hot path: one MySQL query per realm every few seconds at
 * most, whatever the REGISTER rate. Unknown realms are cached as well.
 */
export class AccountDirectory {
  private readonly cache: TtlCache<string, Account | undefined>;

  constructor(private readonly db: Database, ttlMs: number, maxEntries: number) {
    this.cache = new TtlCache(ttlMs, maxEntries);
  }

  /** True when a lookup of `realm` would be answered from memory, without MySQL. */
  isCached(realm: string): boolean {
    return this.cache.has(realm.toLowerCase());
  }

  findBySipRealm(realm: string): Promise<Account | undefined> {
    const key = realm.toLowerCase();
    return this.cache.get(key, () => findAccountBySipRealm(this.db, key));
  }
}
