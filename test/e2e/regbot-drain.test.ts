/**
 * Scale-in hand-over end to end (AWS_LIFECYCLE_DRAIN): three services, each with its own drachtio stand-in
 * advertising its own public IP (203.0.113.1/.2/.3), a sipp carrier answering every REGISTER, and a local
 * IMDSv2 (token PUT + GET) per draining service, whose autoscaling/target-lifecycle-state the test turns to
 * `Terminated`.
 *
 * 1. A and B share ten gateways (gateway sids chosen so the rendezvous hash gives each of them some with the
 *    public IP in the Contact, some with the carrier domain). A drains: B registers A's gateways, A leaves
 *    the instance set and the lease and never comes back, A un-REGISTERs exactly its own-IP bindings after
 *    B registered its own, and nothing of B's is touched.
 * 2. B drains as the last instance: it keeps every registration (no un-REGISTER) until C starts, then
 *    hands everything to C the same way.
 * 3. C gets SIGTERM while another instance is live: it un-REGISTERs its own-IP bindings (no one registers
 *    those Contacts) and leaves the domain ones to the other instance.
 * Assertions are on what the carrier received (Call-ID, Contact, Expires, order), on Redis and on the logs.
 */
import test from 'tape';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService, ServiceLogLine } from '../support/service';
import { TestDb } from '../support/test-db';
import { startSippServer, findFreePort, receivedMessages, headerOf, SippServer, acceptAllRegistersScenario } from '../support/sipp';
import { startRegbotBed, stopRegbotBed } from '../support/regbot-bed';
import { LocalImds } from '../support/imds-server';
import { rendezvousOwner } from '../../lib/regbot/gateway-ownership';
import { keys } from '../../lib/store/keys';

const SECRET = 'cymru';
const CLUSTER = 'drain-test';
const LEASE_MS = 2000;
const REALM = 'drain.test';
const IP = { a: '203.0.113.1', b: '203.0.113.2', c: '203.0.113.3' };
/** heartbeat (LEASE/4) + pacing of ten at 40/s + the 10 s the new owner gets for its REGISTER. */
const GRACE_MS = LEASE_MS / 4 + 250 + 10000;

let standIns: DrachtioStandIn[] = [];
let db: TestDb;
let redis: Redis;
let sipp: SippServer;
let sippPort = 0;
const imds = { a: new LocalImds(), b: new LocalImds() };
const services: RunningService[] = [];
let a: RunningService;
let b: RunningService;
let c: RunningService;
const ids = { a: '', b: '' };

interface Gateway { sid: string; user: string; ownIp: boolean; firstOwner: 'a' | 'b' }
const gateways: Gateway[] = [];

async function sidecar(standIn: DrachtioStandIn, name: string, lifecycle?: LocalImds, unregisterOnShutdown = false): Promise<RunningService> {
  const service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_LOGLEVEL: 'info',
    JAMBONES_CLUSTER_ID: CLUSTER,
    HTTP_PORT: '0',
    SBC_SOCKET_PATH: path.join(os.tmpdir(), `sip-sidecar-drain-${name}-${process.pid}.sock`),
    REGBOT_RELOAD_INTERVAL_MS: '300',
    REGBOT_LEASE_TTL_MS: String(LEASE_MS),
    REGBOT_UNREGISTER_ON_SHUTDOWN: unregisterOnShutdown ? '1' : '0',
    ...(lifecycle ? { AWS_LIFECYCLE_DRAIN: '1', AWS_EC2_METADATA_SERVICE_ENDPOINT: lifecycle.endpoint, AWS_LIFECYCLE_POLL_MS: '200' } : {}),
  });
  services.push(service);
  await service.waitForLog(connectedToDrachtio, 15000);
  return service;
}

const instanceIdOf = async (service: RunningService): Promise<string> =>
  String((await service.waitForLog((l) => l.msg === 'regbot: started', 10000)).instanceId);

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

const linesOf = (service: RunningService, msg: string, from = 0): ServiceLogLine[] => service.logs.slice(from).filter((l) => l.msg === msg);
const gatewaysIn = (service: RunningService, msg: string, from = 0): Set<string> =>
  new Set(linesOf(service, msg, from).map((l) => String(l.gatewaySid)));
const hasAll = (set: Set<string>, sids: string[]): boolean => sids.every((sid) => set.has(sid));
const sidsOf = (list: Gateway[]): string[] => list.map((g) => g.sid);

/** Records, while it runs, every member of the instance set and every lease holder seen. */
function watchCluster(): { members: Set<string>; holders: Set<string>; stop(): Promise<void> } {
  const members = new Set<string>();
  const holders = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const member of await redis.zrange(keys.regbotInstances(CLUSTER), 0, -1)) members.add(member);
      const holder = await redis.get(keys.regbotToken(CLUSTER));
      if (holder) holders.add(holder);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return { members, holders, stop: async () => { running = false; await loop; } };
}

test('regbot drain: set up stand-ins, local IMDS, carrier, A and B', async (t) => {
  let first: DrachtioStandIn;
  ({ standIn: first, db, redis } = await startRegbotBed(SECRET, { externalIp: IP.a }));
  standIns = [first];
  for (const ip of [IP.b, IP.c]) {
    const standIn = new DrachtioStandIn({ secret: SECRET, externalIp: ip });
    await standIn.start();
    standIns.push(standIn);
  }
  await imds.a.start();
  await imds.b.start();
  sippPort = await findFreePort();
  // no refresh during the test; the stand-ins all listen on 127.0.0.1
  sipp = startSippServer({ scenario: acceptAllRegistersScenario({ expires: 600, answerViaPortOn: '127.0.0.1' }), localPort: sippPort, timeoutSec: 180 });
  await sipp.ready;
  [a, b] = await Promise.all([sidecar(standIns[0], 'a', imds.a), sidecar(standIns[1], 'b', imds.b)]);
  [ids.a, ids.b] = await Promise.all([instanceIdOf(a), instanceIdOf(b)]);
  const seeBoth = (l: ServiceLogLine) => l.msg === 'regbot: ownership changed' && l.liveInstances === 2;
  await Promise.all([a.waitForLog(seeBoth, 5000), b.waitForLog(seeBoth, 5000)]);
  t.equal(await redis.zcard(keys.regbotInstances(CLUSTER)), 2, 'both in the instance set, and each sees the other');
  t.ok(imds.a.stateReads > 0 && imds.b.stateReads > 0, 'both poll their IMDS');
});

test('regbot drain: A and B share the gateways, each registered once', async (t) => {
  // sids chosen so that each instance holds own-IP and domain gateways
  const wanted: [boolean, 'a' | 'b', number][] = [[true, 'a', 3], [false, 'a', 2], [true, 'b', 3], [false, 'b', 2]];
  for (const [ownIp, owner, count] of wanted) {
    for (let found = 0; found < count;) {
      const sid = randomUUID();
      if (rendezvousOwner([ids.a, ids.b], sid) !== ids[owner]) continue;
      const user = `${owner}${ownIp ? 'ip' : 'dom'}${found}`;
      const carrier = await db.seedCarrier({
        requires_register: 1, register_username: user, register_password: 'pw-drain', register_sip_realm: REALM,
        register_public_ip_in_contact: ownIp ? 1 : 0,
      });
      await db.seedGateway({ sip_gateway_sid: sid, voip_carrier_sid: carrier, ipv4: '127.0.0.1', port: sippPort, protocol: 'udp' });
      gateways.push({ sid, user, ownIp, firstOwner: owner });
      found++;
    }
  }
  const ofA = sidsOf(gateways.filter((g) => g.firstOwner === 'a'));
  const ofB = sidsOf(gateways.filter((g) => g.firstOwner === 'b'));
  t.ok(await until(() => hasAll(gatewaysIn(a, 'regbot: registered'), ofA) && hasAll(gatewaysIn(b, 'regbot: registered'), ofB), 10000),
    'A registered its 5, B its 5');
  t.equal(gatewaysIn(a, 'regbot: registered').size, 5, 'A nothing else');
  t.equal(gatewaysIn(b, 'regbot: registered').size, 5, 'B nothing else');
});

test('regbot drain: Terminated on A → B takes over, A un-REGISTERs only its own-IP bindings, never claims again', async (t) => {
  const markA = a.logs.length;
  const markB = b.logs.length;
  imds.a.lifecycleState = 'Terminated';
  await a.waitForLog((l) => l.msg === 'regbot: draining (scale-in); handing the gateways over', 3000, markA);
  const drainedAt = Date.now();
  await a.waitForLog((l) => l.msg === 'regbot: ownership changed' && l.draining === true, 3000, markA);
  const cluster = watchCluster();
  const put = imds.a.requests.find((r) => r.method === 'PUT');
  const get = imds.a.requests.find((r) => r.method === 'GET' && r.status === 200);
  t.equal(put?.headers['x-aws-ec2-metadata-token-ttl-seconds'], '60', 'IMDSv2: token fetched with PUT');
  t.ok(get?.headers['x-aws-ec2-metadata-token'], 'and presented on the GET');

  const ofA = gateways.filter((g) => g.firstOwner === 'a');
  const ownOfA = sidsOf(ofA.filter((g) => g.ownIp));
  t.ok(await until(() => hasAll(gatewaysIn(b, 'regbot: registered', markB), sidsOf(ofA)), 5000),
    `B registered A's ${ofA.length} gateways (${Date.now() - drainedAt} ms)`);
  t.ok(await until(() => linesOf(a, 'regbot: drained; every gateway handed over', markA).length === 1, GRACE_MS + 5000),
    `A drained (${Date.now() - drainedAt} ms)`);
  const unregistered = gatewaysIn(a, 'regbot: unregistered', markA);
  t.deepEqual([...unregistered].sort(), ownOfA.slice().sort(), 'A un-REGISTERed exactly its own-IP bindings');
  const firstUnregister = linesOf(a, 'regbot: unregistered', markA).map((l) => Date.parse(String(l.time))).sort()[0];
  t.ok(firstUnregister - drainedAt >= GRACE_MS - 1000, `not before the grace period (${firstUnregister - drainedAt} ms)`);
  t.equal(linesOf(a, 'regbot: registered', markA).length, 0, 'A registered nothing after the signal');
  t.equal(linesOf(b, 'regbot: retiring registration', markB).length, 0, 'B dropped nothing');
  const ofB = sidsOf(gateways.filter((g) => g.firstOwner === 'b'));
  t.notOk(ofB.some((sid) => gatewaysIn(b, 'regbot: registered', markB).has(sid)), "B's own gateways were not registered again");
  await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
  await cluster.stop();
  t.notOk(cluster.members.has(ids.a), 'A never rejoined the instance set');
  t.notOk([...cluster.holders].some((h) => h.endsWith(ids.a)), 'A never held the lease');
  t.ok([...cluster.holders].some((h) => h.endsWith(ids.b)), 'B holds it');
});

test('regbot drain: B drains as the last instance: keeps everything until C starts, then hands it over', async (t) => {
  const markB = b.logs.length;
  imds.b.lifecycleState = 'Terminated';
  await b.waitForLog((l) => l.msg === 'regbot: draining (scale-in); handing the gateways over', 3000, markB);
  await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
  t.equal(linesOf(b, 'regbot: retiring registration', markB).length, 0, 'no successor: B keeps every registration');
  t.equal(linesOf(b, 'regbot: unregistered', markB).length, 0, 'and un-REGISTERs nothing');
  t.equal(await redis.zcard(keys.regbotInstances(CLUSTER)), 0, 'no instance in the set');
  t.equal(await redis.get(keys.regbotToken(CLUSTER)), null, 'lease released, not claimed again');

  const drainedAt = Date.now();
  c = await sidecar(standIns[2], 'c', undefined, true);
  t.ok(await until(() => hasAll(gatewaysIn(c, 'regbot: registered'), sidsOf(gateways)), 10000), 'C registered all ten');
  t.ok(await until(() => linesOf(b, 'regbot: drained; every gateway handed over', markB).length === 1, GRACE_MS + 8000),
    `B drained once C was there (${Date.now() - drainedAt} ms)`);
  t.deepEqual([...gatewaysIn(b, 'regbot: unregistered', markB)].sort(), sidsOf(gateways.filter((g) => g.ownIp)).sort(),
    'B un-REGISTERed exactly its own-IP bindings (all six were its by then)');
  t.equal(linesOf(b, 'regbot: registered', markB).length, 0, 'B registered nothing after its signal');
});

test('regbot drain: SIGTERM with another instance live un-REGISTERs only the bindings no one takes over', async (t) => {
  const other = 'another-live-instance';
  const mark = c.logs.length;
  await redis.zadd(keys.regbotInstances(CLUSTER), Date.now() + 60000, other);
  await c.waitForLog((l) => l.msg === 'regbot: ownership changed' && l.liveInstances === 2, 3000, mark);
  const stopped = await c.stop();
  await redis.zrem(keys.regbotInstances(CLUSTER), other);
  t.equal(stopped.code, 0, 'C exits 0');
  const line = c.logs.find((l) => l.msg === 'regbot: stopped');
  t.equal(line?.unregisters, 6, 'C un-REGISTERed its six own-IP bindings, not the four domain ones');
  t.equal(line?.finished, line?.registrations, 'every one finished within the shutdown budget');
});

test('regbot drain: what the carrier saw', async (t) => {
  const result = await sipp.stop();
  const regs = receivedMessages(result).filter((m) => m.startsWith('REGISTER '));
  const contactHost = (m: string) => /@([^;>]+)/.exec(headerOf(m, 'Contact') ?? '')?.[1] ?? '';
  const expiresOf = (m: string) => headerOf(m, 'Expires');
  for (const gw of gateways) {
    const mine = regs.filter((m) => (headerOf(m, 'From') ?? '').includes(`<sip:${gw.user}@`));
    const callIds = new Set(mine.map((m) => headerOf(m, 'Call-ID')));
    if (!gw.ownIp) {
      t.deepEqual([...callIds], [`${gw.sid}@${REALM}`], `${gw.user}: one Call-ID on A/B and C (gateway sid @ domain)`);
      t.ok(mine.every((m) => expiresOf(m) === '3600'), `${gw.user}: the shared binding was never un-REGISTERed`);
      continue;
    }
    const registers = (ip: string) => mine.filter((m) => contactHost(m).startsWith(`${ip}:`));
    const unregisterOf = (ip: string) => registers(ip).find((m) => expiresOf(m) === '0');
    const firstOf = (ip: string) => registers(ip).find((m) => expiresOf(m) === '3600');
    for (const m of mine) {
      const ip = contactHost(m).split(':')[0];
      if (headerOf(m, 'Call-ID') !== `${gw.sid}@${ip}`) t.fail(`${gw.user}: Call-ID ${headerOf(m, 'Call-ID')} for a Contact at ${ip}`);
    }
    const [holder, successor] = gw.firstOwner === 'a' ? [IP.a, IP.b] : [IP.b, IP.c];
    const bye = unregisterOf(holder);
    t.ok(bye, `${gw.user}: ${holder} un-REGISTERed its binding`);
    t.equal(headerOf(bye ?? '', 'Call-ID'), `${gw.sid}@${holder}`, `${gw.user}: with the reference Call-ID <gateway sid>@<SBC public IP>`);
    t.match(headerOf(bye ?? '', 'Contact') ?? '', /;expires=0$/, `${gw.user}: Contact ;expires=0`);
    const hello = firstOf(successor);
    t.ok(hello && bye && mine.indexOf(hello) < mine.indexOf(bye), `${gw.user}: after ${successor} registered its own`);
    if (gw.firstOwner === 'a') {
      t.ok(firstOf(IP.c) !== undefined && unregisterOf(IP.b) !== undefined, `${gw.user}: then B → C the same way`);
    }
    t.equal(headerOf(unregisterOf(IP.c) ?? '', 'Call-ID'), `${gw.sid}@${IP.c}`, `${gw.user}: C un-REGISTERed its binding on SIGTERM`);
  }
  const unregisters = regs.filter((m) => expiresOf(m) === '0');
  t.equal(unregisters.length, 3 + 6 + 6, 'un-REGISTERs: A\'s three own-IP bindings, B\'s six, C\'s six; never a domain one');
});

test('regbot drain: tear down', async (t) => {
  for (const service of services) {
    const stopped = await service.stop();
    t.equal(stopped.code, 0, 'service exits 0');
  }
  await Promise.all([imds.a.stop(), imds.b.stop()]);
  for (const standIn of standIns.slice(1)) await standIn.stop();
  await stopRegbotBed({ standIn: standIns[0], db, redis });
});
