import type { RowDataPacket } from 'mysql2/promise';
import type { Database } from './database';

/**
 * A carrier or customer PBX of trunk type `auth`: it authenticates to us with the inbound credentials
 * jambonz stores for it (`inbound_auth_username`, `inbound_auth_password`, plain text) rather than being
 * recognised by its source address.
 */
export interface AuthTrunk {
  voipCarrierSid: string;
  name: string;
  username: string | null;
  password: string | null;
}

interface AuthTrunkRow extends RowDataPacket {
  voip_carrier_sid: string;
  name: string;
  inbound_auth_username: string | null;
  inbound_auth_password: string | null;
}

// The reference's selection: active auth trunks of the account, or of its service provider when the trunk
// belongs to no account. The account's own trunks come first so that a match names the most specific one.
const AUTH_TRUNKS = `
  SELECT voip_carrier_sid, name, inbound_auth_username, inbound_auth_password
    FROM voip_carriers
   WHERE trunk_type = 'auth' AND is_active = 1
     AND (account_sid = ? OR (service_provider_sid = ? AND account_sid IS NULL))
   ORDER BY account_sid IS NULL, voip_carrier_sid`;

export async function findAuthTrunks(db: Database, accountSid: string, serviceProviderSid: string): Promise<AuthTrunk[]> {
  const rows = await db.select<AuthTrunkRow>(AUTH_TRUNKS, [accountSid, serviceProviderSid]);
  return rows.map((row) => ({
    voipCarrierSid: row.voip_carrier_sid,
    name: row.name,
    username: row.inbound_auth_username,
    password: row.inbound_auth_password,
  }));
}
