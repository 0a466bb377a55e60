/**
 * Carrier OPTIONS pinging end to end: the built service pings sipp "carrier gateways" through the drachtio
 * stand-in (200, 503, a 404 in OPTIONS_RESPONSE_REMOVE, and one that never answers), once per cluster
 * (Redis lease), with down/up hysteresis, the blacklist key, one alert per state change and the MySQL
 * switch-off.
 */
import test from 'tape';
import dgram from 'node:dgram';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService, ServiceLogLine } from '../support/service';
import { createTestRedis, flushTestRedis } from '../support/test-redis';
import { TestDb } from '../support/test-db';
import { findFreePort, responderScenario, startSippServer, SippServer } from '../support/sipp';

const SECRET = 'cymru';
const CLUSTER = 'ping-test';
const LEASE = `${CLUSTER}:options-pinger-token`;

let standIn: DrachtioStandIn;
let redis: Redis;
let db: TestDb;
let service: RunningService;
let silent: dgram.Socket;
const servers: SippServer[] = [];
const gw: Record<'ok' | 'busy' | 'silent' | 'gone', { ip: string; port: number; sid: string }> = {
  ok: { ip: '127.0.0.50', port: 0, sid: '' },
  busy: { ip: '127.0.0.51', port: 0, sid: '' },
  silent: { ip: '127.0.0.52', port: 0, sid: '' },
  gone: { ip: '127.0.0.53', port: 0, sid: '' },
};
let carrierSid = '';
const CARRIER = 'pinged-carrier';

async function responder(ip: string, port: number, code: number): Promise<SippServer> {
  const server = startSippServer({ scenario: responderScenario({ method: 'OPTIONS', code }), localIp: ip, localPort: port, transport: 'u1' });
  await server.ready;
  servers.push(server);
  return server;
}

const label = (g: { ip: string; port: number }) => `${g.ip}:${g.port};transport=udp`;
const msgIs = (text: string) => (line: ServiceLogLine) => line.msg === text;
const count = (text: string) => service.logs.filter((line) => line.msg === text).length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('options pinger: set-up', async (t) => {
  standIn = new DrachtioStandIn({ secret: SECRET });
  await standIn.start();
  redis = createTestRedis();
  await flushTestRedis(redis);
  db = await TestDb.connect();
  await db.truncateAll();
  for (const g of Object.values(gw)) g.port = await findFreePort(g.ip);
  await responder(gw.ok.ip, gw.ok.port, 200);
  await responder(gw.busy.ip, gw.busy.port, 503);
  await responder(gw.gone.ip, gw.gone.port, 404);
  silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(gw.silent.port, gw.silent.ip, resolve));
  carrierSid = await db.seedCarrier({ name: CARRIER });
  for (const g of Object.values(gw)) {
    g.sid = await db.seedGateway({ voip_carrier_sid: carrierSid, ipv4: g.ip, port: g.port, protocol: 'udp', send_options_ping: 1 });
  }
  await db.seedGateway({ voip_carrier_sid: carrierSid, ipv4: '127.0.0.54', port: 5060, send_options_ping: 0 });
  // Another sidecar holds the lease at first.
  await redis.set(LEASE, 'another-sidecar', 'PX', 60000);
  service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_CLUSTER_ID: CLUSTER, SEND_OPTIONS_PING_INTERVAL: '1', OPTIONS_PING_TIMEOUT_MS: '400',
    OPTIONS_PING_DOWN_AFTER: '2', OPTIONS_PING_UP_AFTER: '2', OPTIONS_PING_TTL: '30', OPTIONS_RESPONSE_REMOVE: '404,410',
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  t.pass('gateways, carrier and service ready');
});

test('options pinger: while another sidecar holds the lease this one does not ping', async (t) => {
  await sleep(2300);
  t.equal(count('this sidecar now pings carrier gateways'), 0, 'not the pinger');
  t.deepEqual(await redis.keys('blacklist-sip-gateway:*'), [], 'nothing blacklisted');
  t.equal(await db.count('sip_gateways', 'send_options_ping = 1'), 4, 'nothing disabled');
});

test('options pinger: when the lease is free this sidecar takes it and pings', async (t) => {
  await redis.del(LEASE);
  await service.waitForLog(msgIs('this sidecar now pings carrier gateways'), 3000);
  const holder = await redis.get(LEASE);
  t.ok(holder && holder !== 'another-sidecar', 'the lease holds our token');
  const pttl = await redis.pttl(LEASE);
  t.ok(pttl > 0 && pttl <= 2400, `with a TTL of two intervals plus the timeout (${pttl} ms)`);
});

test('options pinger: a code in OPTIONS_RESPONSE_REMOVE switches the gateway pings off', async (t) => {
  const message = `Disabling Options ping for ${gw.gone.ip} in carrier ${CARRIER}:${carrierSid} due to 404`;
  await service.waitForLog(msgIs(message), 3000);
  const [row] = await db.query('SELECT send_options_ping FROM sip_gateways WHERE sip_gateway_sid = ?', [gw.gone.sid]);
  t.equal(row.send_options_ping, 0, 'send_options_ping = 0 in MySQL');
  t.equal(await redis.get(`blacklist-sip-gateway:${gw.gone.sid}`), '1', 'and blacklisted');
});

test('options pinger: 503 and silence take gateways down after two misses; 200 never', async (t) => {
  const busyDown = `Options ping ${label(gw.busy)} unsuccessfully, received: 503`;
  const silentDown = `Options ping ${label(gw.silent)} unsuccessfully, received: timeout`;
  await service.waitForLog(msgIs(busyDown), 4000);
  await service.waitForLog(msgIs(silentDown), 4000);
  for (const [name, text] of [['busy', busyDown], ['silent', silentDown]] as const) {
    const downAt = service.logs.findIndex(msgIs(text));
    const missesBefore = service.logs.slice(0, downAt)
      .filter((line) => line.msg === 'carrier ping missed' && line.gateway === label(gw[name])).length;
    t.equal(missesBefore, 1, `${name}: down on the second consecutive miss, not the first`);
    t.equal(await redis.get(`blacklist-sip-gateway:${gw[name].sid}`), '1', `${name}: blacklist-sip-gateway is '1'`);
    const ttl = await redis.ttl(`blacklist-sip-gateway:${gw[name].sid}`);
    t.ok(ttl > 25 && ttl <= 30, `${name}: with OPTIONS_PING_TTL (${ttl} s)`);
  }
  t.equal(await redis.exists(`blacklist-sip-gateway:${gw.ok.sid}`), 0, 'the gateway answering 200 is not blacklisted');
  await sleep(2200);
  t.equal(count(busyDown), 1, 'one alert for the state change, not one per failed ping');
  t.equal(count(silentDown), 1, 'same for the silent gateway');
  t.equal(count(`Disabling Options ping for ${gw.gone.ip} in carrier ${CARRIER}:${carrierSid} due to 404`), 1,
    'the disabled gateway is not pinged again');
});

test('options pinger: a gateway answering 200 again comes back up after two successes', async (t) => {
  const busy = servers[1];
  await busy.stop();
  const from = service.logs.length;
  await responder(gw.busy.ip, gw.busy.port, 200);
  const upMessage = `Options ping ${label(gw.busy)} successful again`;
  await service.waitForLog(msgIs(upMessage), 5000, from);
  t.equal(await redis.exists(`blacklist-sip-gateway:${gw.busy.sid}`), 0, 'the blacklist key is deleted');
  t.equal(await redis.get(`blacklist-sip-gateway:${gw.silent.sid}`), '1', 'the silent gateway stays blacklisted');
  t.equal(count(upMessage), 1, 'one alert for coming back');
});

test('options pinger: shutdown releases the lease', async (t) => {
  await service.stop();
  t.equal(await redis.exists(LEASE), 0, 'lease released, so another sidecar can take over at once');
  for (const server of servers) await server.stop().catch(() => undefined);
  silent.close();
  await standIn.stop();
  await flushTestRedis(redis);
  redis.disconnect();
  await db.truncateAll();
  await db.close();
});
