/**
 * sbc_addresses bookkeeping end to end: the built service connects to a drachtio stand-in that advertises
 * an external IP, and the test reads MySQL: our row upserted (never duplicated), refreshed periodically,
 * dead rows of other SBCs purged, live ones kept, and nothing written for a non-public address.
 */
import test from 'tape';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { TestDb } from '../support/test-db';

const SECRET = 'cymru';
const PUBLIC_IP = '203.0.113.5';

interface Row { ipv4: string; port: number; tls_port: number | null; wss_port: number | null; age: number | null }

let db: TestDb;

async function rows(): Promise<Row[]> {
  return db.query<Row & import('mysql2').RowDataPacket>(
    `SELECT ipv4, port, tls_port, wss_port, TIMESTAMPDIFF(SECOND, last_updated, NOW()) AS age
     FROM sbc_addresses ORDER BY ipv4`);
}

async function withService(externalIp: string, fn: (standIn: DrachtioStandIn, service: RunningService) => Promise<void>): Promise<void> {
  const standIn = new DrachtioStandIn({ secret: SECRET, externalIp });
  await standIn.start();
  const service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    SBC_PUBLIC_ADDRESS_KEEP_ALIVE_IN_MILISECOND: '1000',
    DEAD_SBC_IN_SECOND: '3600',
  });
  try {
    await service.waitForLog(connectedToDrachtio, 15000);
    await fn(standIn, service);
  } finally {
    await service.stop();
    await standIn.stop();
  }
}

const refreshed = (line: { msg?: string }) => line.msg === 'sbc_addresses row refreshed';
const purgeRan = (line: { msg?: string }) => line.msg === 'purged sbc_addresses rows of SBCs no longer refreshing them';

test('options sbc_addresses: set-up', async (t) => {
  db = await TestDb.connect();
  await db.truncateAll();
  t.pass('jambones_test emptied');
});

test('options sbc_addresses: on connect our public address is upserted and dead rows are purged', async (t) => {
  await db.seedSbcAddress({ ipv4: '198.51.100.9' });
  await db.seedSbcAddress({ ipv4: '198.51.100.10', last_updated: null });
  await db.seedSbcAddress({ ipv4: '198.51.100.11' });
  await db.seedSbcAddress({ ipv4: PUBLIC_IP, port: 9999, tls_port: 5061 });
  await db.exec("UPDATE sbc_addresses SET last_updated = NOW() - INTERVAL 2 HOUR WHERE ipv4 = '198.51.100.9'");
  await db.exec(`UPDATE sbc_addresses SET last_updated = NOW() - INTERVAL 50 MINUTE WHERE ipv4 IN ('198.51.100.11', '${PUBLIC_IP}')`);
  await withService(PUBLIC_IP, async (standIn, service) => {
    await service.waitForLog(purgeRan, 5000);
    const all = await rows();
    t.deepEqual(all.map((r) => r.ipv4), ['198.51.100.11', PUBLIC_IP], 'the dead and never-refreshed rows are gone, the live one kept');
    const ours = all.find((r) => r.ipv4 === PUBLIC_IP);
    t.deepEqual(ours && { port: ours.port, tls: ours.tls_port, wss: ours.wss_port },
      { port: standIn.sipPort, tls: null, wss: null }, 'existing row updated: udp port, no tls/wss listener → null');
    t.ok(ours !== undefined && ours.age !== null && ours.age <= 2, `last_updated is now (age ${ours?.age} s)`);

    await db.exec(`UPDATE sbc_addresses SET last_updated = NOW() - INTERVAL 30 MINUTE WHERE ipv4 = '${PUBLIC_IP}'`);
    const from = service.logs.length;
    await service.waitForLog(refreshed, 3000, from);
    const [again] = (await rows()).filter((r) => r.ipv4 === PUBLIC_IP);
    t.ok(again.age !== null && again.age <= 2, `refreshed again by the keep-alive timer (age ${again.age} s)`);
    t.equal(await db.count('sbc_addresses', 'ipv4 = ?', [PUBLIC_IP]), 1, 'still exactly one row for our address');
  });
});

test('options sbc_addresses: a new address is inserted once', async (t) => {
  await db.truncateAll();
  await withService(PUBLIC_IP, async (standIn, service) => {
    await service.waitForLog(refreshed, 5000);
    const from = service.logs.length;
    await service.waitForLog(refreshed, 3000, from);
    const [row] = await rows();
    t.deepEqual(await rows().then((all) => all.map((r) => [r.ipv4, r.port, r.tls_port, r.wss_port])),
      [[PUBLIC_IP, standIn.sipPort, null, null]], 'one row with the udp port');
    const sid = await db.query<import('mysql2').RowDataPacket>('SELECT sbc_address_sid, service_provider_sid FROM sbc_addresses');
    t.match(String(sid[0].sbc_address_sid), /^[0-9a-f-]{36}$/, 'with a UUID sid');
    t.equal(sid[0].service_provider_sid, null, 'and no service provider');
    t.ok(row.age !== null && row.age <= 2, 'fresh');
  });
});

test('options sbc_addresses: a CGNAT address is not public: no row', async (t) => {
  await db.truncateAll();
  await withService('100.64.7.7', async (_standIn, service) => {
    await service.waitForLog((line) => line.msg === 'no public address advertised; no sbc_addresses row', 5000);
    t.equal(await db.count('sbc_addresses'), 0, 'no row written');
  });
});

test('options sbc_addresses: tear-down', async (t) => {
  await db.truncateAll();
  await db.close();
  t.pass('closed');
});
