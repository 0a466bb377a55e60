import type { RowDataPacket } from 'mysql2/promise';
import type { Database } from './database';

interface VersionRow extends RowDataPacket {
  version: string | null;
}

/**
 * The jambonz release the database was installed or upgraded to: `schema_version.version`, one row
 * written by jambonz-api-server's installer (e.g. `v0.9.7`). Undefined when the table is empty.
 */
export async function findJambonzVersion(db: Database): Promise<string | undefined> {
  const rows = await db.select<VersionRow>('SELECT version FROM schema_version LIMIT 1');
  return rows[0]?.version ?? undefined;
}
