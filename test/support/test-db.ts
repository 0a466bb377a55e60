/**
 * The real MariaDB/MySQL test database `jambones_test`: creation from db/schema.sql, the environment the
 * service under test needs to reach it, and a small `TestDb` handle with typed seed helpers.
 *
 * Connection settings: MYSQL_HOST (127.0.0.1), MYSQL_PORT (3306), user root, MYSQL_ROOT_PASSWORD (may be empty).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mysql, { Connection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/** `jambones_test` unless MYSQL_TEST_DATABASE names another (so two runs on one machine do not collide). */
export const TEST_DB_NAME = process.env.MYSQL_TEST_DATABASE || 'jambones_test';

export interface TestDbSettings {
  host: string;
  port: number;
  user: string;
  password: string;
}

export function testDbSettings(): TestDbSettings {
  return {
    host: process.env.MYSQL_HOST || '127.0.0.1',
    port: Number(process.env.MYSQL_PORT || 3306),
    user: 'root',
    password: process.env.MYSQL_ROOT_PASSWORD ?? '',
  };
}

/** The JAMBONES_MYSQL_* variables that point the service under test at `jambones_test`. */
export function testDbEnv(): Record<string, string> {
  const s = testDbSettings();
  return {
    JAMBONES_MYSQL_HOST: s.host,
    JAMBONES_MYSQL_PORT: String(s.port),
    JAMBONES_MYSQL_USER: s.user,
    JAMBONES_MYSQL_PASSWORD: s.password,
    JAMBONES_MYSQL_DATABASE: TEST_DB_NAME,
  };
}

/**
 * The repository root: the first ancestor holding package.json and db/schema.sql. Walking up (rather than a
 * fixed `../..`) keeps this right whether the file runs from test/support or compiled from dist/test/support.
 */
export function repoRoot(start: string = __dirname): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'db', 'schema.sql'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json with db/schema.sql above ${start}`);
  }
}

export function schemaPath(): string {
  return path.join(repoRoot(), 'db', 'schema.sql');
}

async function connectServer(database?: string): Promise<Connection> {
  return mysql.createConnection({ ...testDbSettings(), database, multipleStatements: true });
}

/** Drops and re-creates `jambones_test`, then loads db/schema.sql into it. */
export async function createTestDatabase(): Promise<void> {
  const schema = fs.readFileSync(schemaPath(), 'utf8');
  const conn = await connectServer();
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${TEST_DB_NAME}\`; CREATE DATABASE \`${TEST_DB_NAME}\``);
    await conn.changeUser({ database: TEST_DB_NAME });
    await conn.query(schema);
  } finally {
    await conn.end();
  }
}

export async function dropTestDatabase(): Promise<void> {
  const conn = await connectServer();
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${TEST_DB_NAME}\``);
  } finally {
    await conn.end();
  }
}

/** Opens a TestDb, runs `fn`, and always closes the connection so the process can exit. */
export async function withTestDb<T>(fn: (db: TestDb) => Promise<T>, options?: TestDbOptions): Promise<T> {
  const db = await TestDb.connect(options);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Row shapes accepted by the seed helpers. BOOLEAN columns take true/false or 0/1, as MySQL does.

type Flag = boolean | 0 | 1;
type SqlValue = string | number | boolean | Date | Buffer | null;

export interface WebhookSeed {
  webhook_sid?: string;
  url: string;
  method?: 'GET' | 'POST';
  username?: string | null;
  password?: string | null;
}

export interface ServiceProviderSeed {
  service_provider_sid?: string;
  name?: string;
  description?: string | null;
  root_domain?: string | null;
  /** A hook to create and attach, or null for none. */
  registration_hook?: WebhookSeed | null;
  ms_teams_fqdn?: string | null;
}

export interface AccountSeed {
  account_sid?: string;
  /** Created (with a unique name) when omitted. */
  service_provider_sid?: string;
  name?: string;
  sip_realm?: string | null;
  is_active?: Flag;
  /** Defaults to a `wh_secret_<random>` value, like the API server. */
  webhook_secret?: string;
  /** A hook to create and attach; null or omitted means the account authenticates from `clients`. */
  registration_hook?: WebhookSeed | null;
  device_to_call_ratio?: number;
  plan_type?: 'trial' | 'free' | 'paid';
  deactivated_reason?: string | null;
  device_calling_application_sid?: string | null;
  queue_event_hook_sid?: string | null;
  disable_cdrs?: Flag;
  enable_debug_log?: Flag;
}

export interface SeededAccount {
  account_sid: string;
  service_provider_sid: string;
  webhook_secret: string;
  registration_hook_sid: string | null;
  sip_realm: string | null;
}

export interface ClientSeed {
  client_sid?: string;
  account_sid: string;
  username: string | null;
  /** The column value as stored: the encrypted JSON `{"iv":..,"content":..}` (or deliberately corrupt text). */
  password_encrypted?: string | null;
  /** Encrypted with the `encryptPassword` given to TestDb.connect(); an error without one. */
  password_plain?: string;
  is_active?: Flag;
  allow_direct_app_calling?: Flag;
  allow_direct_queue_calling?: Flag;
  allow_direct_user_calling?: Flag;
}

export type ProductCategory = 'api_rate' | 'voice_call_session' | 'device';

/** The product rows jambonz seeds upstream, with their fixed sids. */
export const UPSTREAM_PRODUCTS: Record<ProductCategory, { product_sid: string; name: string }> = {
  voice_call_session: { product_sid: 'c4403cdb-8e75-4b27-9726-7d8315e3216d', name: 'concurrent call session' },
  device: { product_sid: '2c815913-5c26-4004-b748-183b459329df', name: 'registered device' },
  api_rate: { product_sid: '35a9fb10-233d-4eb9-aada-78de5814d680', name: 'api call' },
};

export interface SubscriptionSeed {
  device?: number;
  voice_call_session?: number;
  api_rate?: number;
  pending?: Flag;
  effective_start_date?: Date;
  effective_end_date?: Date | null;
}

export interface SeededSubscription {
  account_subscription_sid: string;
  account_product_sids: Partial<Record<ProductCategory, string>>;
}

export interface CarrierSeed {
  voip_carrier_sid?: string;
  name?: string;
  description?: string | null;
  account_sid?: string | null;
  service_provider_sid?: string | null;
  application_sid?: string | null;
  e164_leading_plus?: Flag;
  requires_register?: Flag;
  register_username?: string | null;
  register_sip_realm?: string | null;
  register_password?: string | null;
  tech_prefix?: string | null;
  inbound_auth_username?: string | null;
  inbound_auth_password?: string | null;
  diversion?: string | null;
  is_active?: Flag;
  register_from_user?: string | null;
  register_from_domain?: string | null;
  register_public_ip_in_contact?: Flag;
  register_status?: string | null;
  dtmf_type?: 'rfc2833' | 'tones' | 'info';
  outbound_sip_proxy?: string | null;
  trunk_type?: 'static_ip' | 'auth' | 'reg';
}

export interface GatewaySeed {
  sip_gateway_sid?: string;
  voip_carrier_sid: string;
  ipv4: string;
  netmask?: number;
  /** Schema default is NULL (resolve by SRV); pass a port for IP gateways. */
  port?: number | null;
  /** NOT NULL without a default in the schema; the helper defaults both to true. */
  inbound?: Flag;
  outbound?: Flag;
  is_active?: Flag;
  send_options_ping?: Flag;
  use_sips_scheme?: Flag;
  pad_crypto?: Flag;
  protocol?: 'udp' | 'tcp' | 'tls' | 'tls/srtp' | null;
  remove_ice?: Flag;
  dtls_off?: Flag;
}

/** One registering carrier with its single outbound gateway, for seedRegisteringCarriers. */
export interface RegisteringTrunkSeed {
  username: string;
  password: string;
  realm: string;
  ipv4: string;
  port: number;
}

export interface SystemInformationSeed {
  domain_name?: string | null;
  sip_domain_name?: string | null;
  monitoring_domain_name?: string | null;
  private_network_cidr?: string | null;
  log_level?: 'info' | 'debug';
}

export interface SbcAddressSeed {
  sbc_address_sid?: string;
  ipv4: string;
  port?: number;
  tls_port?: number | null;
  wss_port?: number | null;
  service_provider_sid?: string | null;
  /** Defaults to NOW(); pass null to make the row look dead. */
  last_updated?: Date | null;
}

export interface TestDbOptions {
  /** Turns a plain password into the stored `clients.password` value (the app's lib/crypto encrypt). */
  encryptPassword?: (plain: string) => string;
}

/** Children before parents, so the DELETEs also succeed with foreign-key checks on. */
const TABLES_CHILD_FIRST = [
  'account_products',
  'account_subscriptions',
  'products',
  'sip_gateways',
  'voip_carriers',
  'clients',
  'sbc_addresses',
  'system_information',
  'schema_version',
  'applications',
  'accounts',
  'service_providers',
  'webhooks',
];

const shortId = (): string => crypto.randomUUID().slice(0, 8);

/** A connection to `jambones_test` with helpers for SQL and fixtures. Call close() when done. */
export class TestDb {
  private constructor(
    readonly conn: Connection,
    private readonly options: TestDbOptions,
  ) {}

  static async connect(options: TestDbOptions = {}): Promise<TestDb> {
    return new TestDb(await connectServer(TEST_DB_NAME), options);
  }

  async close(): Promise<void> {
    await this.conn.end();
  }

  /** Runs a SELECT (or any row-returning statement) and returns the rows. */
  async query<T extends RowDataPacket = RowDataPacket>(sql: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = await this.conn.query<T[]>(sql, params);
    return rows;
  }

  /** Runs an INSERT/UPDATE/DELETE (or several statements) and returns the result header. */
  async exec(sql: string, params: unknown[] = []): Promise<ResultSetHeader> {
    const [result] = await this.conn.query<ResultSetHeader>(sql, params);
    return result;
  }

  async count(table: string, where = '1=1', params: unknown[] = []): Promise<number> {
    const rows = await this.query(`SELECT COUNT(*) AS n FROM ?? WHERE ${where}`, [table, ...params]);
    return Number(rows[0].n);
  }

  /** Empties every table. Schema and AUTO settings stay; much faster than re-creating the database. */
  async truncateAll(): Promise<void> {
    await this.exec('SET FOREIGN_KEY_CHECKS=0');
    try {
      for (const table of TABLES_CHILD_FIRST) await this.exec('DELETE FROM ??', [table]);
    } finally {
      await this.exec('SET FOREIGN_KEY_CHECKS=1');
    }
  }

  /** INSERT of one row; undefined values are left out so the column defaults apply. */
  async insert(table: string, row: Record<string, SqlValue | undefined>): Promise<void> {
    const defined = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined));
    await this.exec('INSERT INTO ?? SET ?', [table, defined]);
  }

  async seedWebhook(hook: WebhookSeed): Promise<string> {
    const webhook_sid = hook.webhook_sid ?? crypto.randomUUID();
    await this.insert('webhooks', { ...hook, webhook_sid });
    return webhook_sid;
  }

  async seedServiceProvider(seed: ServiceProviderSeed = {}): Promise<string> {
    const { registration_hook, ...columns } = seed;
    const service_provider_sid = seed.service_provider_sid ?? crypto.randomUUID();
    const registration_hook_sid = registration_hook ? await this.seedWebhook(registration_hook) : null;
    await this.insert('service_providers', {
      ...columns,
      service_provider_sid,
      name: seed.name ?? `sp-${shortId()}`,
      registration_hook_sid,
    });
    return service_provider_sid;
  }

  async seedAccount(seed: AccountSeed = {}): Promise<SeededAccount> {
    const { registration_hook, ...columns } = seed;
    const account_sid = seed.account_sid ?? crypto.randomUUID();
    const service_provider_sid = seed.service_provider_sid ?? (await this.seedServiceProvider());
    const registration_hook_sid = registration_hook ? await this.seedWebhook(registration_hook) : null;
    const webhook_secret = seed.webhook_secret ?? `wh_secret_${shortId()}`;
    await this.insert('accounts', {
      ...columns,
      account_sid,
      service_provider_sid,
      registration_hook_sid,
      webhook_secret,
      name: seed.name ?? `account-${shortId()}`,
    });
    return { account_sid, service_provider_sid, webhook_secret, registration_hook_sid, sip_realm: seed.sip_realm ?? null };
  }

  async seedClient(seed: ClientSeed): Promise<string> {
    const { password_encrypted, password_plain, ...columns } = seed;
    const client_sid = seed.client_sid ?? crypto.randomUUID();
    await this.insert('clients', { ...columns, client_sid, password: this.clientPassword(password_encrypted, password_plain) });
    return client_sid;
  }

  private clientPassword(encrypted: string | null | undefined, plain: string | undefined): string | null | undefined {
    if (plain === undefined) return encrypted;
    if (encrypted !== undefined) throw new Error('seedClient: give password_encrypted or password_plain, not both');
    if (!this.options.encryptPassword) {
      throw new Error('seedClient: password_plain needs TestDb.connect({ encryptPassword })');
    }
    return this.options.encryptPassword(plain);
  }

  /** Inserts the three upstream product rows (idempotent) and returns their sids by category. */
  async seedProducts(): Promise<Record<ProductCategory, string>> {
    for (const [category, p] of Object.entries(UPSTREAM_PRODUCTS)) {
      await this.exec('INSERT IGNORE INTO products (product_sid, name, category) VALUES (?, ?, ?)', [
        p.product_sid,
        p.name,
        category,
      ]);
    }
    return {
      voice_call_session: UPSTREAM_PRODUCTS.voice_call_session.product_sid,
      device: UPSTREAM_PRODUCTS.device.product_sid,
      api_rate: UPSTREAM_PRODUCTS.api_rate.product_sid,
    };
  }

  /** A current (by default) subscription with one account_products row per quantity given. */
  async seedSubscription(account_sid: string, seed: SubscriptionSeed = {}): Promise<SeededSubscription> {
    const products = await this.seedProducts();
    const account_subscription_sid = crypto.randomUUID();
    await this.insert('account_subscriptions', {
      account_subscription_sid,
      account_sid,
      pending: seed.pending,
      effective_start_date: seed.effective_start_date,
      effective_end_date: seed.effective_end_date,
    });
    const account_product_sids: SeededSubscription['account_product_sids'] = {};
    for (const category of ['voice_call_session', 'device', 'api_rate'] as const) {
      const quantity = seed[category];
      if (quantity === undefined) continue;
      const account_product_sid = crypto.randomUUID();
      await this.insert('account_products', {
        account_product_sid,
        account_subscription_sid,
        product_sid: products[category],
        quantity,
      });
      account_product_sids[category] = account_product_sid;
    }
    return { account_subscription_sid, account_product_sids };
  }

  async seedCarrier(seed: CarrierSeed = {}): Promise<string> {
    const voip_carrier_sid = seed.voip_carrier_sid ?? crypto.randomUUID();
    await this.insert('voip_carriers', { ...seed, voip_carrier_sid, name: seed.name ?? `carrier-${shortId()}` });
    return voip_carrier_sid;
  }

  async seedGateway(seed: GatewaySeed): Promise<string> {
    const sip_gateway_sid = seed.sip_gateway_sid ?? crypto.randomUUID();
    await this.insert('sip_gateways', {
      ...seed,
      sip_gateway_sid,
      inbound: seed.inbound ?? true,
      outbound: seed.outbound ?? true,
    });
    return sip_gateway_sid;
  }

  /**
   * Many carriers that require registration, one outbound UDP gateway each, in multi-row INSERTs (the
   * benchmark seeds thousands; one INSERT per row would take longer than the measurement). Returns the
   * carrier sids in input order.
   */
  async seedRegisteringCarriers(trunks: RegisteringTrunkSeed[], chunkSize = 1000): Promise<string[]> {
    const carrierSids = trunks.map(() => crypto.randomUUID());
    for (let start = 0; start < trunks.length; start += chunkSize) {
      const chunk = trunks.slice(start, start + chunkSize);
      const sids = carrierSids.slice(start, start + chunkSize);
      await this.exec(
        'INSERT INTO voip_carriers (voip_carrier_sid, name, requires_register, register_username, register_password, register_sip_realm) VALUES ?',
        [chunk.map((trunk, i) => [sids[i], `carrier-${trunk.username}`, 1, trunk.username, trunk.password, trunk.realm])],
      );
      await this.exec(
        'INSERT INTO sip_gateways (sip_gateway_sid, voip_carrier_sid, ipv4, port, protocol, inbound, outbound) VALUES ?',
        [chunk.map((trunk, i) => [crypto.randomUUID(), sids[i], trunk.ipv4, trunk.port, 'udp', 1, 1])],
      );
    }
    return carrierSids;
  }

  /** Replaces the single system_information row. */
  async seedSystemInformation(seed: SystemInformationSeed): Promise<void> {
    await this.exec('DELETE FROM system_information');
    await this.insert('system_information', { ...seed });
  }

  async seedSbcAddress(seed: SbcAddressSeed): Promise<string> {
    const sbc_address_sid = seed.sbc_address_sid ?? crypto.randomUUID();
    const last_updated = seed.last_updated === undefined ? new Date() : seed.last_updated;
    await this.insert('sbc_addresses', { ...seed, sbc_address_sid, last_updated });
    return sbc_address_sid;
  }
}
