/**
 * Topology discovery (JAMBONES_SERVER_CONTROL) end to end: OPTIONS with `X-Jambonz-Discover: true` from UDP
 * clients on distinct loopback addresses → drachtio stand-in → the built service → Redis and MySQL. Asserts
 * the JSON body field by field, who may ask, the 503 when Redis cannot be read, and the switch's spelling.
 */
import test from 'tape';
import type Redis from 'ioredis';
import { DrachtioStandIn, DEFAULT_VERSION } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { createTestRedis, flushTestRedis } from '../support/test-redis';
import { TestDb } from '../support/test-db';
import { createUdpSipClient, optionsText, sipHeader, statusLine, UdpSipClient } from '../support/udp-sip-client';

const SECRET = 'cymru';
const CLUSTER = 'disc';
/** Trusted: 127.0.0.0-127.0.0.127 (the "private network") and 127.0.0.150 (SERVER_CONTROL_TRUSTED_CIDR). */
const NETWORK = '127.0.0.0/25';
const DISCOVER = 'X-Jambonz-Discover: true';

let standIn: DrachtioStandIn;
let redis: Redis;
let db: TestDb;
let service: RunningService;
const clients = new Map<string, UdpSipClient>();

async function startSidecar(env: Record<string, string>): Promise<void> {
  service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_CLUSTER_ID: CLUSTER,
    JAMBONES_NETWORK_CIDR: NETWORK,
    HTTP_PORT: '0',
    ...env,
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  // Discovery reads Redis at once; commands fail while the service's Redis client is still connecting.
  await service.waitForLog((line) => line.msg === 'redis ready', 15000);
}

/** One OPTIONS from `ip`; returns the status, Content-Type and body of the answer. */
async function ask(ip: string, headers: string[] = [DISCOVER]): Promise<{ status: number; type?: string; body: string }> {
  let client = clients.get(ip);
  if (!client) {
    client = await createUdpSipClient(ip, { host: '127.0.0.1', port: standIn.sipPort });
    clients.set(ip, client);
  }
  const answer = await client.request(optionsText(client, { host: '127.0.0.1', port: standIn.sipPort }, headers), 3000);
  return { status: statusLine(answer), type: sipHeader(answer, 'Content-Type'), body: answer.slice(answer.indexOf('\r\n\r\n') + 4) };
}

test('discovery: set-up', async (t) => {
  standIn = new DrachtioStandIn({ secret: SECRET });
  await standIn.start();
  redis = createTestRedis();
  await flushTestRedis(redis);
  db = await TestDb.connect();
  await db.truncateAll();
  await db.insert('schema_version', { version: 'v0.9.7' });
  await redis.sadd(`${CLUSTER}:active-fs`, '10.0.0.11:5060', '10.0.0.10:5060');
  await redis.sadd(`${CLUSTER}:active-sip`, '203.0.113.5');
  await redis.sadd(`${CLUSTER}:active-rtp`, '10.0.0.20');
  await startSidecar({ JAMBONES_SERVER_CONTROL: 'true', SERVER_CONTROL_TRUSTED_CIDR: '127.0.0.150/32' });
  t.pass('service running with JAMBONES_SERVER_CONTROL=true');
});

test('discovery: a trusted source gets 200 with the topology as JSON', async (t) => {
  const answer = await ask('127.0.0.10');
  t.equal(answer.status, 200, '200');
  t.equal(answer.type, 'application/json', 'Content-Type: application/json');
  const topology = JSON.parse(answer.body) as Record<string, unknown>;
  t.deepEqual(Object.keys(topology), ['jambonzVersion', 'drachtioVersion', 'featureServers', 'sipServers', 'rtpServers'],
    'the reference\'s fields, in its order');
  t.equal(topology.jambonzVersion, 'v0.9.7', 'jambonzVersion from schema_version');
  t.equal(topology.drachtioVersion, DEFAULT_VERSION, 'drachtioVersion as drachtio-server gave it at connect');
  t.deepEqual(topology.featureServers, ['10.0.0.10:5060', '10.0.0.11:5060'], 'featureServers from <cluster>:active-fs');
  t.deepEqual(topology.sipServers, ['203.0.113.5'], 'sipServers from <cluster>:active-sip');
  t.deepEqual(topology.rtpServers, ['10.0.0.20'], 'rtpServers from <cluster>:active-rtp');
  const logged = await service.waitForLog((l) => l.msg === 'answered a topology discovery request', 3000).catch(() => undefined);
  t.equal(logged?.source, '127.0.0.10', 'the answer is logged with its source');
});

test('discovery: the header is read as the reference reads it (true in any case; anything else is a plain OPTIONS)', async (t) => {
  t.equal((await ask('127.0.0.11', ['X-Jambonz-Discover:  TRUE '])).type, 'application/json', '" TRUE " asks');
  const no = await ask('127.0.0.11', ['X-Jambonz-Discover: yes']);
  t.equal(no.status, 200, '"yes" gets a plain 200');
  t.equal(no.body, '', 'without a body');
});

test('discovery: SERVER_CONTROL_TRUSTED_CIDR adds askers; anyone else gets a plain 200 and is logged once', async (t) => {
  t.equal((await ask('127.0.0.150')).type, 'application/json', '127.0.0.150 (SERVER_CONTROL_TRUSTED_CIDR) gets the topology');
  const outsider = await ask('127.0.0.200');
  t.equal(outsider.status, 200, 'an untrusted source gets 200, as an external ping');
  t.equal(outsider.body, '', 'with no topology');
  t.equal(outsider.type, undefined, 'and no Content-Type');
  await ask('127.0.0.200');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const warnings = service.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('X-Jambonz-Discover OPTIONS from outside'));
  t.deepEqual(warnings.map((l) => l.source), ['127.0.0.200'], 'the ignored source is logged once');
});

test('discovery: an unreadable schema_version gives jambonzVersion null; unreadable Redis gives 503', async (t) => {
  await db.exec('DELETE FROM schema_version');
  t.equal((JSON.parse((await ask('127.0.0.10')).body) as { jambonzVersion: unknown }).jambonzVersion, null,
    'no schema_version row: null');
  await redis.del(`${CLUSTER}:active-sip`);
  await redis.set(`${CLUSTER}:active-sip`, 'not-a-set');
  const broken = await ask('127.0.0.10');
  t.equal(broken.status, 503, '503 when a set cannot be read');
  t.equal(broken.body, '', 'without a body');
  await redis.del(`${CLUSTER}:active-sip`);
  t.deepEqual((JSON.parse((await ask('127.0.0.10')).body) as { sipServers: unknown }).sipServers, [], 'an absent set is empty');
});

test('discovery: with JAMBONES_SERVER_CONTROL off (unset, or a value other than 1/true/yes) the header is ignored', async (t) => {
  for (const value of [undefined, 'on']) {
    await service.stop();
    await startSidecar(value === undefined ? {} : { JAMBONES_SERVER_CONTROL: value });
    const answer = await ask('127.0.0.10');
    t.equal(answer.status, 200, `${value ?? 'unset'}: 200`);
    t.equal(answer.body, '', `${value ?? 'unset'}: a plain 200 without the topology`);
  }
});

test('discovery: SERVER_CONTROL_TRUSTED_CIDR=0.0.0.0/0 answers anyone, as the reference does', async (t) => {
  await service.stop();
  await startSidecar({ JAMBONES_SERVER_CONTROL: 'yes', SERVER_CONTROL_TRUSTED_CIDR: '0.0.0.0/0,::/0' });
  const answer = await ask('127.0.0.200');
  t.equal(answer.type, 'application/json', 'the outsider gets the topology');
});

test('discovery: tear-down', async (t) => {
  clients.forEach((c) => c.close());
  await service.stop();
  await standIn.stop();
  await flushTestRedis(redis);
  redis.disconnect();
  await db.truncateAll();
  await db.close();
  t.pass('stopped');
});
