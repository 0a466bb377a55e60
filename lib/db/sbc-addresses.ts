import crypto from 'node:crypto';
import type { Database } from './database';
import type { SbcAddress } from '../sbc/sbc-address-rows';

/**
 * `sbc_addresses`: each SBC's public signalling address, with `last_updated` as its heartbeat. `ipv4` is
 * the row's identity in practice but not unique in the schema, so the insert checks for it in the same
 * statement; two sidecars of one SBC starting together then cannot both insert.
 */
export class SbcAddresses {
  constructor(private readonly db: Database) {}

  async upsert(row: SbcAddress): Promise<'updated' | 'inserted'> {
    const updated = await this.db.write(
      'UPDATE sbc_addresses SET port = ?, tls_port = ?, wss_port = ?, last_updated = NOW() WHERE ipv4 = ?',
      [row.port, row.tlsPort, row.wssPort, row.ipv4]);
    if (updated.affectedRows > 0) return 'updated';
    await this.db.write(
      `INSERT INTO sbc_addresses (sbc_address_sid, ipv4, port, tls_port, wss_port, last_updated)
       SELECT ?, ?, ?, ?, ?, NOW() FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM sbc_addresses WHERE ipv4 = ?)`,
      [crypto.randomUUID(), row.ipv4, row.port, row.tlsPort, row.wssPort, row.ipv4]);
    return 'inserted';
  }

  /** Deletes the rows of SBCs that have not refreshed theirs for `deadSeconds` (or never did). */
  async purgeDead(deadSeconds: number): Promise<number> {
    const result = await this.db.write(
      'DELETE FROM sbc_addresses WHERE last_updated IS NULL OR last_updated < NOW() - INTERVAL ? SECOND',
      [deadSeconds]);
    return result.affectedRows;
  }
}
