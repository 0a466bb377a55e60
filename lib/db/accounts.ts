import type { RowDataPacket } from 'mysql2/promise';
import type { Database } from './database';

export interface RegistrationHook {
  webhookSid: string;
  url: string;
  method: 'GET' | 'POST';
  username?: string;
  password?: string;
}

export interface Account {
  accountSid: string;
  serviceProviderSid: string;
  sipRealm: string;
  isActive: boolean;
  webhookSecret: string;
  deviceToCallRatio: number;
  registrationHook?: RegistrationHook;
}

interface AccountRow extends RowDataPacket {
  account_sid: string;
  service_provider_sid: string;
  sip_realm: string;
  is_active: number;
  webhook_secret: string;
  device_to_call_ratio: number;
  webhook_sid: string | null;
  url: string | null;
  method: string | null;
  username: string | null;
  password: string | null;
}

const ACCOUNT_BY_REALM = `
  SELECT acc.account_sid, acc.service_provider_sid, acc.sip_realm, acc.is_active, acc.webhook_secret,
         acc.device_to_call_ratio, rh.webhook_sid, rh.url, rh.method, rh.username, rh.password
    FROM accounts acc
    LEFT JOIN webhooks rh ON acc.registration_hook_sid = rh.webhook_sid
   WHERE acc.sip_realm IN (?, ?)`;

/**
 * Finds the account that owns a SIP realm, falling back once to the parent domain
 * (`acme.sip.example.com` → `sip.example.com`) as jambonz does. Both candidates go in one query so a
 * REGISTER costs one round trip; an exact match wins over the parent.
 */
export async function findAccountBySipRealm(db: Database, realm: string): Promise<Account | undefined> {
  const parent = parentDomain(realm);
  const rows = await db.select<AccountRow>(ACCOUNT_BY_REALM, [realm, parent ?? realm]);
  const exact = rows.find((row) => sameRealm(row.sip_realm, realm));
  const fallback = parent ? rows.filter((row) => sameRealm(row.sip_realm, parent)) : [];
  const row = exact ?? (fallback.length === 1 ? fallback[0] : undefined);
  return row ? toAccount(row) : undefined;
}

/** The parent domain used for the one-step fallback: only realms with more than two labels have one. */
export function parentDomain(realm: string): string | undefined {
  const labels = realm.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : undefined;
}

function sameRealm(a: string, b: string): boolean {
  // MySQL's default collation compares case-insensitively; the row must match the same way.
  return a.toLowerCase() === b.toLowerCase();
}

function toAccount(row: AccountRow): Account {
  const hook: RegistrationHook | undefined = row.webhook_sid && row.url
    ? {
        webhookSid: row.webhook_sid,
        url: row.url,
        method: row.method?.toUpperCase() === 'GET' ? 'GET' : 'POST',
        username: row.username ?? undefined,
        password: row.password ?? undefined,
      }
    : undefined;
  return {
    accountSid: row.account_sid,
    serviceProviderSid: row.service_provider_sid,
    sipRealm: row.sip_realm,
    isActive: Boolean(row.is_active),
    webhookSecret: row.webhook_secret,
    deviceToCallRatio: Number(row.device_to_call_ratio),
    registrationHook: hook,
  };
}

interface RealmRow extends RowDataPacket {
  sip_realm: string;
}

/** The SIP realms accounts own (at most `max`, alphabetically): the operator page's list of realms. */
export async function listSipRealms(db: Database, max: number): Promise<string[]> {
  const rows = await db.select<RealmRow>(
    'SELECT DISTINCT sip_realm FROM accounts WHERE sip_realm IS NOT NULL AND sip_realm <> \'\' ORDER BY sip_realm LIMIT ?', [max]);
  return rows.map((row) => row.sip_realm);
}
