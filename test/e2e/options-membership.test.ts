/**
 * Cluster membership through OPTIONS, end to end: sipp "feature servers" and "RTP servers" on distinct
 * loopback addresses → drachtio stand-in → the built service → Redis. Asserts the exact X-Members answers
 * and the sets left in Redis, including drained servers, untrusted sources, Redis errors and expiry.
 */
import test from 'tape';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { createTestRedis, flushTestRedis } from '../support/test-redis';
import { expectSippSuccess, findFreePort, headerOf, receivedResponses, statusOf } from '../support/sipp';
import { oneShotScenario } from '../support/sip-requests';

const SECRET = 'cymru';
const CLUSTER = 'opt-test';
const ACTIVE_FS = `${CLUSTER}:active-fs`;
const ACTIVE_RTP = `${CLUSTER}:active-rtp`;
const FS_URLS = `${CLUSTER}:fs-service-url`;
const DRAINED = `${CLUSTER}:drained-fs`;
/** Trusted: 127.0.0.0-127.0.0.127. Sources from 127.0.0.200 are "the internet". */
const NETWORK = '127.0.0.0/25';

let standIn: DrachtioStandIn;
let redis: Redis;
let service: RunningService;
let httpPort: number;
const ports = new Map<string, number>();

async function portOf(ip: string): Promise<number> {
  if (!ports.has(ip)) ports.set(ip, await findFreePort(ip));
  return ports.get(ip) as number;
}

async function startSidecar(env: Record<string, string> = {}): Promise<void> {
  service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_CLUSTER_ID: CLUSTER,
    JAMBONES_NETWORK_CIDR: NETWORK,
    HTTP_PORT: String(httpPort),
    ...env,
  });
  await service.waitForLog(connectedToDrachtio, 15000);
}

/** One OPTIONS from `ip` (on a port fixed per ip) with the given headers; returns the final response. */
async function ping(t: test.Test, ip: string, headers: string[], expect = 200): Promise<string> {
  const result = await expectSippSuccess(t, {
    scenario: oneShotScenario({ method: 'OPTIONS', requestUri: 'sip:[remote_ip]:[remote_port]', headers, expect }),
    target: `127.0.0.1:${standIn.sipPort}`,
    localIp: ip,
    localPort: await portOf(ip),
  }, `OPTIONS from ${ip} ${headers.join(' ') || '(no status)'} → ${expect}`);
  return receivedResponses(result).filter((msg) => (statusOf(msg) ?? 0) >= 200).pop() ?? '';
}

const members = async (key: string): Promise<string[]> => (await redis.smembers(key)).sort();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('options membership: set-up', async (t) => {
  standIn = new DrachtioStandIn({ secret: SECRET });
  await standIn.start();
  redis = createTestRedis();
  await flushTestRedis(redis);
  httpPort = await findFreePort();
  await startSidecar();
  t.pass('stand-in and service running');
});

test('options membership: an OPTIONS without status headers is an external ping: 200, nothing recorded', async (t) => {
  const response = await ping(t, '127.0.0.10', []);
  t.equal(headerOf(response, 'X-Members'), undefined, 'no X-Members');
  const membershipKeys = [ACTIVE_FS, ACTIVE_RTP, FS_URLS].flatMap((key) => [key, `${key}:lastseen`]);
  t.equal(await redis.exists(...membershipKeys), 0, 'no membership key written');
});

test('options membership: feature servers join with X-FS-Status: open; X-Members counts them', async (t) => {
  const a = await ping(t, '127.0.0.20', ['X-FS-Status: open', 'X-FS-ServiceUrl: http://127.0.0.20:3000']);
  t.equal(headerOf(a, 'X-Members'), '1', 'first feature server: X-Members: 1');
  const b = await ping(t, '127.0.0.21', ['X-FS-Status: open', 'X-FS-Calls: 3']);
  t.equal(headerOf(b, 'X-Members'), '2', 'second feature server: X-Members: 2');
  const again = await ping(t, '127.0.0.20', ['X-FS-Status: open', 'X-FS-ServiceUrl: http://127.0.0.20:3000']);
  t.equal(headerOf(again, 'X-Members'), '2', 'a repeated check-in is not counted twice');
  t.deepEqual(await members(ACTIVE_FS), [`127.0.0.20:${await portOf('127.0.0.20')}`, `127.0.0.21:${await portOf('127.0.0.21')}`],
    'active-fs holds ip:port of each');
  t.deepEqual(await members(FS_URLS), ['http://127.0.0.20:3000'], 'fs-service-url holds the announced URL');
  const seen = await redis.hget(`${ACTIVE_FS}:lastseen`, `127.0.0.20:${await portOf('127.0.0.20')}`);
  t.ok(seen !== null && Math.abs(Number(seen) - Date.now()) < 5000, 'last-seen is stamped in ms in jambonz\'s <set>:lastseen hash');
});

test('options membership: RTP servers join active-rtp by IP with their own count', async (t) => {
  const response = await ping(t, '127.0.0.30', ['X-RTP-Status: open']);
  t.equal(headerOf(response, 'X-Members'), '1', 'X-Members: 1 (the rtp set)');
  t.deepEqual(await members(ACTIVE_RTP), ['127.0.0.30'], 'active-rtp holds the bare IP');
  const closed = await ping(t, '127.0.0.30', ['X-RTP-Status: closed']);
  t.equal(headerOf(closed, 'X-Members'), '0', 'closed: X-Members: 0');
  t.deepEqual(await members(ACTIVE_RTP), [], 'active-rtp is empty again');
});

/** One sample of the service's Prometheus text, e.g. gauge('cluster_feature_servers'). */
async function gauge(series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('options membership: /metrics gauges follow the set sizes', async (t) => {
  t.equal(await gauge('cluster_feature_servers'), 2, 'cluster_feature_servers 2 (both feature servers)');
  t.equal(await gauge('cluster_rtp_servers'), 0, 'cluster_rtp_servers 0 after the RTP server closed');
  await ping(t, '127.0.0.31', ['X-RTP-Status: open']);
  t.equal(await gauge('cluster_rtp_servers'), 1, 'cluster_rtp_servers 1 after a check-in');
  await ping(t, '127.0.0.31', ['X-RTP-Status: closed']);
  t.equal(await gauge('cluster_rtp_servers'), 0, 'back to 0');
});

test('options membership: X-FS-Status: closed removes the server and its service URL', async (t) => {
  await ping(t, '127.0.0.21', ['X-FS-Status: open', 'X-FS-ServiceUrl: http://127.0.0.21:3000']);
  t.deepEqual(await members(FS_URLS), ['http://127.0.0.20:3000', 'http://127.0.0.21:3000'], 'both URLs listed');
  const response = await ping(t, '127.0.0.21', ['X-FS-Status: closed', 'X-FS-ServiceUrl: http://127.0.0.21:3000']);
  t.equal(headerOf(response, 'X-Members'), '1', 'X-Members: 1');
  t.deepEqual(await members(ACTIVE_FS), [`127.0.0.20:${await portOf('127.0.0.20')}`], 'only the open one is left');
  t.deepEqual(await members(FS_URLS), ['http://127.0.0.20:3000'], 'its URL is gone too');
});

test('options membership: a drained feature server is recorded as closed although it says open', async (t) => {
  await redis.sadd(DRAINED, '127.0.0.20');
  const response = await ping(t, '127.0.0.20', ['X-FS-Status: open', 'X-FS-ServiceUrl: http://127.0.0.20:3000']);
  t.equal(headerOf(response, 'X-Members'), '0', 'X-Members: 0');
  t.deepEqual(await members(ACTIVE_FS), [], 'removed from active-fs');
  t.deepEqual(await members(FS_URLS), [], 'and from fs-service-url');
  await redis.srem(DRAINED, '127.0.0.20');
  const back = await ping(t, '127.0.0.20', ['X-FS-Status: open']);
  t.equal(headerOf(back, 'X-Members'), '1', 'undrained: it joins again on its next ping');
});

test('options membership: status pings from outside the trusted network change nothing', async (t) => {
  const before = await members(ACTIVE_FS);
  const fs = await ping(t, '127.0.0.200', ['X-FS-Status: open', 'X-FS-ServiceUrl: http://evil.example.com']);
  t.equal(statusOf(fs), 200, 'answered 200 like any external ping');
  t.equal(headerOf(fs, 'X-Members'), undefined, 'without X-Members');
  const rtp = await ping(t, '127.0.0.200', ['X-RTP-Status: open']);
  t.equal(headerOf(rtp, 'X-Members'), undefined, 'RTP: without X-Members');
  t.deepEqual(await members(ACTIVE_FS), before, 'active-fs unchanged');
  t.deepEqual(await members(ACTIVE_RTP), [], 'active-rtp unchanged');
  t.notOk((await members(FS_URLS)).includes('http://evil.example.com'), 'the URL was not recorded');
  const warning = await service.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('status OPTIONS from outside'), 3000).catch(() => undefined);
  t.equal(warning?.source, '127.0.0.200', 'the ignored source is logged');
});

test('options membership: a Redis error answers 503', async (t) => {
  await redis.del(ACTIVE_FS, `${ACTIVE_FS}:lastseen`);
  await redis.set(ACTIVE_FS, 'not-a-set');
  await ping(t, '127.0.0.20', ['X-FS-Status: open'], 503);
  await redis.del(ACTIVE_FS);
  const response = await ping(t, '127.0.0.20', ['X-FS-Status: open']);
  t.equal(headerOf(response, 'X-Members'), '1', 'works again once Redis does');
});

test('options membership: members that stop checking in expire; leftovers found at start get one interval', async (t) => {
  await service.stop();
  await flushTestRedis(redis);
  await redis.sadd(ACTIVE_FS, '10.9.9.9:5060');
  await redis.sadd(ACTIVE_RTP, '10.9.9.10');
  await startSidecar({ EXPIRES_INTERVAL: '1500', CHECK_EXPIRES_INTERVAL: '200', OPTIONS_TRUSTED_CIDR: '127.0.0.200/32' });
  const member = `127.0.0.22:${await portOf('127.0.0.22')}`;
  const first = await ping(t, '127.0.0.22', ['X-FS-Status: open']);
  t.equal(headerOf(first, 'X-Members'), '2', 'X-Members: 2 (the leftover is still counted)');
  await sleep(900);
  t.deepEqual(await members(ACTIVE_FS), ['10.9.9.9:5060', member], 'before the interval: both present');
  await ping(t, '127.0.0.22', ['X-FS-Status: open']);
  await sleep(1100);
  t.deepEqual(await members(ACTIVE_FS), [member], 'the leftover that never checked in is gone');
  t.deepEqual(await members(ACTIVE_RTP), [], 'so is the leftover RTP server');
  t.equal(await redis.hget(`${ACTIVE_FS}:lastseen`, '10.9.9.9:5060'), null, 'with its last-seen entry');
  await sleep(1200);
  t.deepEqual(await members(ACTIVE_FS), [], 'the server that stopped pinging is gone one interval after its last ping');
  await sleep(300);
  t.equal(await gauge('cluster_feature_servers'), 0, 'the sweep sets cluster_feature_servers to 0');
  t.ok(await service.waitForLog((line) => line.msg === 'expired members that stopped checking in', 3000).catch(() => undefined), 'expiry is logged');
});

test('options membership: OPTIONS_TRUSTED_CIDR extends the trusted sources', async (t) => {
  const response = await ping(t, '127.0.0.200', ['X-RTP-Status: open']);
  t.equal(headerOf(response, 'X-Members'), '1', 'X-Members: 1');
  t.deepEqual(await members(ACTIVE_RTP), ['127.0.0.200'], 'recorded');
});

test('options membership: tear-down', async (t) => {
  await service.stop();
  await standIn.stop();
  await flushTestRedis(redis);
  redis.disconnect();
  t.pass('stopped');
});
