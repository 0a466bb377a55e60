/**
 * A cluster mixing our sidecar and jambonz's 0.9.7 sidecar (test/support/reference-options-sidecar.ts, a
 * separate process speaking the reference's Redis keys the reference's way) on one Redis. Feature servers
 * and RTP servers (UDP clients on their own loopback addresses) send status pings to one or the other,
 * as drachtio-servers in front of different SBCs would. Neither may expire a member the other still hears
 * from; a member nobody hears from is expired, by either of them alone.
 */
import test from 'tape';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { createTestRedis, flushTestRedis } from '../support/test-redis';
import { createUdpSipClient, optionsText, sipHeader, statusLine, UdpSipClient } from '../support/udp-sip-client';
import { startReferenceOptionsSidecar, ReferenceOptionsSidecar } from '../support/reference-options-sidecar';

const SECRET = 'cymru';
const CLUSTER = 'mixed';
const ACTIVE_FS = `${CLUSTER}:active-fs`;
const ACTIVE_RTP = `${CLUSTER}:active-rtp`;
const FS_URLS = `${CLUSTER}:fs-service-url`;
const EXPIRES_MS = 1500;
const CHECK_MS = 200;
/** Pings of a live server: five per interval, so a late one or two never make it look gone. */
const PING_EVERY_MS = 300;

type Target = { host: string; port: number };

let standIn: DrachtioStandIn;
let redis: Redis;
let service: RunningService;
let reference: ReferenceOptionsSidecar;
let ours: Target;
let theirs: Target;
const clients: UdpSipClient[] = [];
/** Its own CLI socket: the service is killed in the last phase, which leaves the file behind. */
const SOCKET = path.join(os.tmpdir(), `sip-sidecar-mixed-${process.pid}.sock`);

interface Server {
  client: UdpSipClient;
  headers: string[];
  /** The member it is in its set as: ip:port for a feature server, the ip for an RTP server. */
  member: string;
  set: string;
}

async function featureServer(ip: string): Promise<Server> {
  const client = await createUdpSipClient(ip, ours);
  clients.push(client);
  return { client, headers: ['X-FS-Status: open', `X-FS-ServiceUrl: http://${ip}:3000`], member: `${ip}:${client.localPort}`, set: ACTIVE_FS };
}

async function rtpServer(ip: string): Promise<Server> {
  const client = await createUdpSipClient(ip, ours);
  clients.push(client);
  return { client, headers: ['X-RTP-Status: open'], member: ip, set: ACTIVE_RTP };
}

async function ping(server: Server, to: Target): Promise<void> {
  const answer = await server.client.request(optionsText(server.client, to, server.headers), 2000, to);
  if (statusLine(answer) !== 200 || sipHeader(answer, 'X-Members') === undefined) {
    throw new Error(`status ping to ${to.port} answered: ${answer.split('\r\n')[0]}`);
  }
}

/** Pings `to` every PING_EVERY_MS until stopped; failures are counted, not thrown. */
function keepPinging(server: Server, to: Target): { stop(): void; failures(): number } {
  let failures = 0;
  const timer = setInterval(() => void ping(server, to).catch(() => { failures++; }), PING_EVERY_MS);
  return { stop: () => clearInterval(timer), failures: () => failures };
}

/** Samples the sets every 100 ms for `ms` and returns, per expected member, how often it was missing. */
async function missingWhile(ms: number, expected: { set: string; member: string }[]): Promise<Map<string, number>> {
  const missing = new Map(expected.map((e) => [`${e.set} ${e.member}`, 0]));
  const until = Date.now() + ms;
  while (Date.now() < until) {
    for (const e of expected) {
      if (!(await redis.sismember(e.set, e.member))) missing.set(`${e.set} ${e.member}`, (missing.get(`${e.set} ${e.member}`) ?? 0) + 1);
    }
    await sleep(100);
  }
  return missing;
}

/** Resolves true once `member` has left `set` and its last-seen entry, false after `ms`. */
async function goneWithin(ms: number, set: string, member: string): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await redis.sismember(set, member)) && !(await redis.hexists(`${set}:lastseen`, member))) return true;
    await sleep(50);
  }
  return false;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const urlOf = (server: Server) => (server.headers[1] ?? '').replace('X-FS-ServiceUrl: ', '');

async function startOurs(): Promise<void> {
  service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_CLUSTER_ID: CLUSTER,
    JAMBONES_NETWORK_CIDR: '127.0.0.0/8',
    EXPIRES_INTERVAL: String(EXPIRES_MS),
    CHECK_EXPIRES_INTERVAL: String(CHECK_MS),
    HTTP_PORT: '0',
    SBC_SOCKET_PATH: SOCKET,
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  // Status pings need Redis; commands fail while the service's Redis client is still connecting.
  await service.waitForLog((line) => line.msg === 'redis ready', 15000);
}

const startTheirs = async () => {
  reference = await startReferenceOptionsSidecar({ cluster: CLUSTER, expiresMs: EXPIRES_MS, checkMs: CHECK_MS });
  theirs = { host: '127.0.0.1', port: reference.port };
};

test('mixed cluster: set-up (our sidecar and a jambonz 0.9.7 sidecar on one Redis)', async (t) => {
  standIn = new DrachtioStandIn({ secret: SECRET });
  await standIn.start();
  ours = { host: '127.0.0.1', port: standIn.sipPort };
  redis = createTestRedis();
  await flushTestRedis(redis);
  await startOurs();
  await startTheirs();
  t.pass('both sidecars running');
});

let a: Server;
let b: Server;
let rtpA: Server;
let rtpB: Server;
let pingers: { stop(): void; failures(): number }[] = [];

test('mixed cluster: neither expires a member only the other hears from; a silent one is expired', async (t) => {
  a = await featureServer('127.0.0.41');
  b = await featureServer('127.0.0.42');
  rtpA = await rtpServer('127.0.0.43');
  rtpB = await rtpServer('127.0.0.44');
  const silent = await featureServer('127.0.0.45');
  // Each server first checks in with both (so each sidecar has heard from it once), then only with one.
  for (const server of [a, b, rtpA, rtpB, silent]) {
    await ping(server, ours);
    await ping(server, theirs);
  }
  pingers = [keepPinging(a, ours), keepPinging(rtpA, ours), keepPinging(b, theirs), keepPinging(rtpB, theirs)];
  const missing = await missingWhile(EXPIRES_MS * 2 + 1000, [
    { set: ACTIVE_FS, member: a.member }, { set: FS_URLS, member: urlOf(a) }, { set: ACTIVE_RTP, member: rtpA.member },
    { set: ACTIVE_FS, member: b.member }, { set: FS_URLS, member: urlOf(b) }, { set: ACTIVE_RTP, member: rtpB.member },
  ]);
  t.equal(pingers.reduce((n, p) => n + p.failures(), 0), 0, 'every status ping was answered 200 with X-Members');
  for (const [entry, count] of missing) {
    const heardBy = [a.member, urlOf(a), rtpA.member].some((m) => entry.endsWith(` ${m}`)) ? 'ours' : 'the reference';
    t.equal(count, 0, `${entry}, heard only by ${heardBy}, stayed in its set throughout`);
  }
  t.notOk(await redis.sismember(ACTIVE_FS, silent.member), 'the feature server that went silent left active-fs');
  t.notOk(await redis.sismember(FS_URLS, urlOf(silent)), 'and its service URL left fs-service-url');
  t.notOk(await redis.hexists(`${ACTIVE_FS}:lastseen`, silent.member), 'and its last-seen entry is gone');
});

/**
 * `member` checked in once, at `stampedAt`, with a sidecar that has stopped since: it must still be a member
 * just before one interval has passed, and then be removed, with its stamp, by the sidecar still running.
 */
async function expiresOneIntervalAfter(t: test.Test, member: string, stampedAt: number, remover: string): Promise<void> {
  await sleep(stampedAt + EXPIRES_MS - 300 - Date.now());
  t.ok(await redis.sismember(ACTIVE_FS, member), 'just before the interval it is still a member (the other\'s stamp counts)');
  t.ok(await goneWithin(stampedAt + EXPIRES_MS + 2 * CHECK_MS + 1500 - Date.now(), ACTIVE_FS, member),
    `one interval after its only ping ${remover} removed it, with its last-seen entry`);
}

test('mixed cluster: our sidecar alone expires a member only the reference heard from, once it is silent', async (t) => {
  const d = await featureServer('127.0.0.46');
  pingers[2].stop();
  pingers[3].stop();
  const stampedAt = Date.now();
  await ping(d, theirs);
  await reference.stop();
  await expiresOneIntervalAfter(t, d.member, stampedAt, 'our sweep');
  t.ok(await redis.sismember(ACTIVE_FS, a.member), 'the member our sidecar still hears stays');
});

test('mixed cluster: the reference alone expires a member only our sidecar heard from, once it is silent', async (t) => {
  await startTheirs();
  const e = await featureServer('127.0.0.47');
  pingers.forEach((p) => p.stop());
  pingers = [keepPinging(b, theirs)];
  const stampedAt = Date.now();
  await ping(e, ours);
  // Killed rather than stopped: a graceful stop could outlast the interval; a crashed peer is the case anyway.
  await service.stop('SIGKILL');
  await expiresOneIntervalAfter(t, e.member, stampedAt, 'the reference (reading the stamp our sidecar wrote)');
  t.ok(reference.expired.some((x) => x.set === ACTIVE_FS && x.key === e.member), 'the reference logged the expiry');
  t.ok(await goneWithin(EXPIRES_MS + 1000, ACTIVE_FS, a.member), 'so is the server last heard by our (now stopped) sidecar');
  t.ok(await redis.sismember(ACTIVE_FS, b.member), 'the member the reference still hears stays');
});

test('mixed cluster: tear-down', async (t) => {
  pingers.forEach((p) => p.stop());
  clients.forEach((c) => c.close());
  await reference.stop();
  await service.stop();
  await standIn.stop();
  fs.rmSync(SOCKET, { force: true });
  await flushTestRedis(redis);
  redis.disconnect();
  t.pass('stopped');
});
