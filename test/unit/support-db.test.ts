/**
 * The test database helpers against real MariaDB/MySQL: db/schema.sql has been loaded by test/run.ts
 * (createTestDatabase) before this file runs.
 */
import test from 'tape';
import type { RowDataPacket } from 'mysql2/promise';
import { TEST_DB_NAME, TestDb, UPSTREAM_PRODUCTS, testDbEnv, withTestDb } from '../support/test-db';

const TABLES = [
  'account_products',
  'account_subscriptions',
  'accounts',
  'applications',
  'clients',
  'products',
  'sbc_addresses',
  'schema_version',
  'service_providers',
  'sip_gateways',
  'system_information',
  'voip_carriers',
  'webhooks',
];

// A stored value from the schema doc's worked vector (p4ssw0rd under the secret "test-secret").
const ENCRYPTED = '{"iv":"000102030405060708090a0b0c0d0e0f","content":"40c5cf7710b2753edf9cd054ab776034"}';

test('support-db: testDbEnv points the service at jambones_test as root', (t) => {
  const env = testDbEnv();
  t.equal(env.JAMBONES_MYSQL_DATABASE, TEST_DB_NAME);
  t.equal(env.JAMBONES_MYSQL_USER, 'root');
  t.equal(env.JAMBONES_MYSQL_HOST, process.env.MYSQL_HOST || '127.0.0.1');
  t.equal(env.JAMBONES_MYSQL_PORT, process.env.MYSQL_PORT || '3306');
  t.equal(env.JAMBONES_MYSQL_PASSWORD, process.env.MYSQL_ROOT_PASSWORD ?? '');
  t.end();
});

test('support-db: the schema has every table, its unique keys and its foreign keys', async (t) => {
  await withTestDb(async (db) => {
    const tables = await db.query(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name',
      [TEST_DB_NAME],
    );
    t.deepEqual(tables.map((r) => String(r.name)).sort(), TABLES);
    const fks = await db.query(
      `SELECT COUNT(*) AS n FROM information_schema.referential_constraints WHERE constraint_schema = ?`,
      [TEST_DB_NAME],
    );
    t.equal(Number(fks[0].n), 20, 'all 20 foreign keys (15 documented + 5 from applications)');
    const defaults = await db.query<RowDataPacket>(
      `SELECT column_name AS name, column_default AS def, is_nullable AS nullable FROM information_schema.columns
        WHERE table_schema = ? AND table_name = 'accounts'`,
      [TEST_DB_NAME],
    );
    const col = (name: string) => defaults.find((r) => r.name === name);
    t.equal(String(col('device_to_call_ratio')?.def), '5', 'device_to_call_ratio defaults to 5');
    t.equal(col('sip_realm')?.nullable, 'YES', 'sip_realm is nullable');
    t.equal(col('webhook_secret')?.nullable, 'NO', 'webhook_secret is NOT NULL');
  });
});

test('support-db: seedAccount with a registration hook is found by the sidecar join', async (t) => {
  await withTestDb(async (db) => {
    await db.truncateAll();
    const acct = await db.seedAccount({
      sip_realm: 'hooked.example.com',
      registration_hook: { url: 'http://127.0.0.1:4000/auth', method: 'POST', username: 'foo', password: 'bar' },
      device_to_call_ratio: 0,
    });
    const rows = await db.query(
      `SELECT acc.account_sid, acc.is_active, acc.webhook_secret, acc.device_to_call_ratio, rh.url, rh.method,
              rh.username, rh.password
         FROM accounts acc LEFT JOIN webhooks rh ON acc.registration_hook_sid = rh.webhook_sid
        WHERE acc.sip_realm = ?`,
      ['HOOKED.example.com'],
    );
    t.equal(rows.length, 1, 'found by realm, case-insensitively as on MySQL');
    t.equal(rows[0].account_sid, acct.account_sid);
    t.equal(rows[0].is_active, 1, 'is_active defaults to 1');
    t.match(String(rows[0].webhook_secret), /^wh_secret_/);
    t.equal(rows[0].webhook_secret, acct.webhook_secret);
    t.equal(rows[0].device_to_call_ratio, 0);
    t.deepEqual([rows[0].url, rows[0].method, rows[0].username, rows[0].password], [
      'http://127.0.0.1:4000/auth',
      'POST',
      'foo',
      'bar',
    ]);
    t.ok(acct.registration_hook_sid, 'hook sid returned');
  });
});

test('support-db: unique realm and foreign keys are enforced', async (t) => {
  await withTestDb(async (db) => {
    await db.truncateAll();
    await db.seedAccount({ sip_realm: 'dup.example.com' });
    await rejects(t, db.seedAccount({ sip_realm: 'dup.example.com' }), /Duplicate entry/, 'second account, same realm');
    await rejects(
      t,
      db.seedClient({ account_sid: '00000000-0000-0000-0000-000000000000', username: 'x' }),
      /foreign key constraint fails/,
      'client of a missing account',
    );
  });
});

test('support-db: seedClient stores the encrypted password and the flags', async (t) => {
  await withTestDb(async (db) => {
    await db.truncateAll();
    const { account_sid } = await db.seedAccount({ sip_realm: 'clients.example.com', is_active: false });
    const client_sid = await db.seedClient({
      account_sid,
      username: 'alice',
      password_encrypted: ENCRYPTED,
      allow_direct_user_calling: false,
    });
    const rows = await db.query('SELECT * FROM clients WHERE account_sid = ? AND username = ?', [account_sid, 'alice']);
    t.equal(rows[0].client_sid, client_sid);
    t.equal(rows[0].password, ENCRYPTED);
    t.deepEqual(
      [rows[0].is_active, rows[0].allow_direct_app_calling, rows[0].allow_direct_queue_calling, rows[0].allow_direct_user_calling],
      [1, 1, 1, 0],
    );
    const account = await db.query('SELECT is_active FROM accounts WHERE account_sid = ?', [account_sid]);
    t.equal(account[0].is_active, 0, 'inactive account stored');
    await rejects(t, db.seedClient({ account_sid, username: 'bob', password_plain: 'pw' }), /encryptPassword/, 'no encrypter');
  });
});

test('support-db: password_plain goes through the given encrypter', async (t) => {
  await withTestDb(
    async (db) => {
      await db.truncateAll();
      const { account_sid } = await db.seedAccount();
      await db.seedClient({ account_sid, username: 'carol', password_plain: 'secret' });
      const rows = await db.query('SELECT password FROM clients WHERE username = ?', ['carol']);
      t.equal(rows[0].password, 'enc(secret)');
    },
    { encryptPassword: (plain) => `enc(${plain})` },
  );
});

test('support-db: seedSubscription gives the hosted-mode capacity rows', async (t) => {
  await withTestDb(async (db) => {
    await db.truncateAll();
    const { account_sid } = await db.seedAccount({ sip_realm: 'hosted.example.com' });
    await db.seedSubscription(account_sid, { device: 2, voice_call_session: 20 });
    await db.seedSubscription(account_sid, { voice_call_session: 99, pending: true });
    await db.seedSubscription(account_sid, { voice_call_session: 98, effective_end_date: new Date(Date.now() - 86400000) });
    const rows = await db.query(
      `SELECT p.category, ap.quantity FROM account_subscriptions subs
         JOIN account_products ap ON ap.account_subscription_sid = subs.account_subscription_sid
         JOIN products p ON p.product_sid = ap.product_sid
        WHERE subs.account_sid = ? AND subs.pending = 0
          AND (subs.effective_end_date IS NULL OR subs.effective_end_date > NOW())
        ORDER BY p.category`,
      [account_sid],
    );
    t.deepEqual(
      rows.map((r) => [r.category, r.quantity]),
      [
        ['voice_call_session', 20],
        ['device', 2],
      ],
      'only the current subscription counts (ENUM order: api_rate, voice_call_session, device)',
    );
    t.equal(await db.count('products'), 3, 'upstream products seeded once');
    const product = await db.query('SELECT name FROM products WHERE product_sid = ?', [UPSTREAM_PRODUCTS.device.product_sid]);
    t.equal(product[0].name, 'registered device');
  });
});

test('support-db: carriers, gateways, system_information and sbc_addresses', async (t) => {
  await withTestDb(async (db) => {
    await db.truncateAll();
    const { account_sid, service_provider_sid } = await db.seedAccount({ sip_realm: 'carrier.example.com' });
    const voip_carrier_sid = await db.seedCarrier({
      name: 'westco',
      account_sid,
      service_provider_sid,
      requires_register: true,
      register_username: 'foo',
      register_password: 'bar',
      register_sip_realm: 'sip.example.com',
      register_from_user: 'reguser',
      register_from_domain: 'regdomain',
      trunk_type: 'reg',
    });
    const gw = await db.seedGateway({ voip_carrier_sid, ipv4: '127.0.0.1', port: 5090, send_options_ping: true });
    await db.seedGateway({ voip_carrier_sid, ipv4: 'sip.example.net', outbound: false });
    const rows = await db.query(
      `SELECT vc.name, vc.trunk_type, vc.requires_register, vc.is_active, sg.sip_gateway_sid, sg.port, sg.netmask,
              sg.protocol, sg.inbound, sg.outbound, sg.send_options_ping
         FROM voip_carriers vc JOIN sip_gateways sg ON sg.voip_carrier_sid = vc.voip_carrier_sid
        WHERE sg.outbound = 1 AND sg.is_active = 1`,
    );
    t.equal(rows.length, 1, 'only the outbound gateway');
    t.deepEqual(
      { ...rows[0] },
      {
        name: 'westco',
        trunk_type: 'reg',
        requires_register: 1,
        is_active: 1,
        sip_gateway_sid: gw,
        port: 5090,
        netmask: 32,
        protocol: 'udp',
        inbound: 1,
        outbound: 1,
        send_options_ping: 1,
      },
    );
    const dns = await db.query('SELECT port FROM sip_gateways WHERE ipv4 = ?', ['sip.example.net']);
    t.equal(dns[0].port, null, 'port defaults to NULL');

    await db.seedSystemInformation({ sip_domain_name: 'first.example.com' });
    await db.seedSystemInformation({ sip_domain_name: 'sip.example.com' });
    const info = await db.query('SELECT sip_domain_name, log_level FROM system_information');
    t.deepEqual(info.map((r) => [r.sip_domain_name, r.log_level]), [['sip.example.com', 'info']], 'a single row');

    await db.seedSbcAddress({ ipv4: '10.0.0.1' });
    await db.seedSbcAddress({ ipv4: '10.0.0.2', last_updated: null, tls_port: 5061 });
    const sbcs = await db.query('SELECT ipv4, port, tls_port, last_updated IS NULL AS dead FROM sbc_addresses ORDER BY ipv4');
    t.deepEqual(sbcs.map((r) => [r.ipv4, r.port, r.tls_port, Number(r.dead)]), [
      ['10.0.0.1', 5060, null, 0],
      ['10.0.0.2', 5060, 5061, 1],
    ]);
  });
});

test('support-db: truncateAll empties every table and leaves foreign key checks on', async (t) => {
  const db = await TestDb.connect();
  try {
    const { account_sid } = await db.seedAccount({ registration_hook: { url: 'http://127.0.0.1/x' } });
    await db.seedClient({ account_sid, username: 'u', password_encrypted: ENCRYPTED });
    await db.seedSubscription(account_sid, { voice_call_session: 1 });
    await db.seedGateway({ voip_carrier_sid: await db.seedCarrier({ account_sid }), ipv4: '10.1.1.1' });
    await db.truncateAll();
    for (const table of TABLES) t.equal(await db.count(table), 0, `${table} empty`);
    const fk = await db.query('SELECT @@foreign_key_checks AS on_');
    t.equal(Number(fk[0].on_), 1, 'foreign key checks restored');
  } finally {
    await db.close();
  }
});

async function rejects(t: test.Test, promise: Promise<unknown>, pattern: RegExp, label: string): Promise<void> {
  try {
    await promise;
    t.fail(`${label}: expected an error`);
  } catch (err) {
    t.match(String(err), pattern, label);
  }
}
