import type { RowDataPacket } from 'mysql2/promise';
import type { Database } from './database';

/** A row of `clients`: credentials stored by jambonz for accounts without a registration hook. */
export interface SipClient {
  clientSid: string;
  username: string;
  /** Encrypted JSON `{"iv":..,"content":..}`; decrypted only when a digest has to be checked. */
  encryptedPassword: string | null;
  isActive: boolean;
  allowDirectAppCalling: boolean;
  allowDirectQueueCalling: boolean;
  allowDirectUserCalling: boolean;
}

interface ClientRow extends RowDataPacket {
  client_sid: string;
  username: string;
  password: string | null;
  is_active: number;
  allow_direct_app_calling: number;
  allow_direct_queue_calling: number;
  allow_direct_user_calling: number;
}

export async function findClient(db: Database, accountSid: string, username: string): Promise<SipClient | undefined> {
  const rows = await db.select<ClientRow>(
    `SELECT client_sid, username, password, is_active, allow_direct_app_calling, allow_direct_queue_calling,
            allow_direct_user_calling
       FROM clients WHERE account_sid = ? AND username = ? LIMIT 1`,
    [accountSid, username],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    clientSid: row.client_sid,
    username: row.username,
    encryptedPassword: row.password,
    isActive: Boolean(row.is_active),
    allowDirectAppCalling: Boolean(row.allow_direct_app_calling),
    allowDirectQueueCalling: Boolean(row.allow_direct_queue_calling),
    allowDirectUserCalling: Boolean(row.allow_direct_user_calling),
  };
}
