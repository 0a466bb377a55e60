/**
 * regbot across instances: three sidecars against one stand-in share the gateways (each registered
 * exactly once), a killed owner's gateways are re-registered within the lease period, a foreign
 * (reference sidecar) token keeps ours passive, and new registrations are paced.
 */
import test from 'tape';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService, ServiceLogLine } from '../support/service';
import { TestDb } from '../support/test-db';
import { flushTestRedis } from '../support/test-redis';
import { startSippServer, findFreePort, SippServer, acceptAllRegistersScenario } from '../support/sipp';
import { startRegbotBed, stopRegbotBed } from '../support/regbot-bed';

const SECRET = 'cymru';
const LEASE_MS = 3000;
let standIn: DrachtioStandIn;
let db: TestDb;
let redis: Redis;
let sipp: SippServer;
let sippPort: number;

function sidecar(extra: Record<string, string> = {}): RunningService {
  return startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_LOGLEVEL: 'info',
    REGBOT_RELOAD_INTERVAL_MS: '500',
    REGBOT_LEASE_TTL_MS: String(LEASE_MS),
    REGBOT_UNREGISTER_ON_SHUTDOWN: '0',
    JAMBONES_REGBOT_MIN_EXPIRES_INTERVAL: '1',
    ...extra,
  });
}

async function seedGateways(count: number, prefix: string): Promise<string[]> {
  const sids: string[] = [];
  for (let i = 0; i < count; i++) {
    const carrier = await db.seedCarrier({
      requires_register: 1, register_username: `${prefix}${i}`, register_password: 'pw', register_sip_realm: 'cluster.test',
    });
    sids.push(await db.seedGateway({ voip_carrier_sid: carrier, ipv4: '127.0.0.1', port: sippPort, protocol: 'udp' }));
  }
  return sids;
}

const registeredLines = (service: RunningService): ServiceLogLine[] => service.logs.filter((l) => l.msg === 'regbot: registered');

/** Gateway → indexes of the services holding it, from each service's 'registered' / 'retiring' lines. */
function holders(services: RunningService[]): Map<string, Set<number>> {
  const held = new Map<string, Set<number>>();
  services.forEach((s, index) => s.logs.forEach((l) => {
    if (l.msg !== 'regbot: registered' && l.msg !== 'regbot: retiring registration') return;
    const set = held.get(String(l.gatewaySid)) ?? new Set<number>();
    if (l.msg === 'regbot: registered') set.add(index);
    else set.delete(index);
    held.set(String(l.gatewaySid), set);
  }));
  return held;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

test('regbot cluster: set up', async (t) => {
  ({ standIn, db, redis } = await startRegbotBed(SECRET));
  sippPort = await findFreePort();
  // expires 600: no refresh during the test
  sipp = startSippServer({ scenario: acceptAllRegistersScenario({ expires: 600 }), localPort: sippPort, timeoutSec: 85 });
  await sipp.ready;
  t.pass('stand-in and carrier up');
});

test('regbot cluster: three instances register every gateway exactly once; a killed owner is replaced within the lease', async (t) => {
  const gateways = await seedGateways(12, 'c');
  const services = [sidecar(), sidecar(), sidecar()];
  await Promise.all(services.map((s) => s.waitForLog(connectedToDrachtio, 15000)));
  const owners = (): Map<string, Set<number>> => {
    const map = new Map<string, Set<number>>();
    services.forEach((s, index) => registeredLines(s).forEach((l) => {
      const sid = String(l.gatewaySid);
      map.set(sid, (map.get(sid) ?? new Set()).add(index));
    }));
    return map;
  };
  t.ok(await until(() => gateways.every((sid) => owners().has(sid)), 15000), 'every gateway registered');
  // let membership settle: while instances join, a gateway may move once; afterwards nobody else registers it
  await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
  const settled = services.map((s) => registeredLines(s).length);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  t.deepEqual(services.map((s) => registeredLines(s).length), settled, 'no further REGISTERs once settled');
  const held = holders(services);
  t.ok(gateways.every((sid) => held.get(sid)?.size === 1), 'each gateway held by exactly one instance');
  const lastOwner = new Map(gateways.map((sid) => [sid, [...(held.get(sid) ?? [])][0]]));
  const share = [0, 1, 2].map((index) => gateways.filter((sid) => lastOwner.get(sid) === index).length);
  t.ok(share.filter((n) => n > 0).length >= 2, `work is spread over instances: ${share.join('/')}`);
  const token = await redis.get('default:regbot-token');
  t.match(token ?? '', /^sip-sidecar:/, 'one of ours holds the reference lease key');
  t.ok((await redis.pttl('default:regbot-token')) > 0, 'the lease has a TTL');
  t.equal(await redis.zcard('default:regbot-instances'), 3, 'three live instances');

  const victim = share.indexOf(Math.max(...share));
  const orphaned = gateways.filter((sid) => lastOwner.get(sid) === victim);
  const killedAt = Date.now();
  await services[victim].stop('SIGKILL');
  const survivors = services.filter((_, index) => index !== victim);
  const marks = survivors.map((s) => s.logs.length);
  const taken = () => orphaned.every((sid) => survivors.some((s, i) => s.logs.slice(marks[i])
    .some((l) => l.msg === 'regbot: registered' && l.gatewaySid === sid)));
  t.ok(await until(taken, LEASE_MS * 2), `the killed instance's ${orphaned.length} gateways re-registered`);
  const took = Date.now() - killedAt;
  t.ok(took <= LEASE_MS + 500, `failover took ${took} ms (lease ${LEASE_MS} ms)`);
  await Promise.all(survivors.map((s) => s.stop()));
  await db.exec('DELETE FROM sip_gateways');
  await db.exec('DELETE FROM voip_carriers');
});

test('regbot cluster: a foreign (reference) token keeps us passive until it goes', async (t) => {
  await flushTestRedis(redis);
  const [gateway] = await seedGateways(1, 'f');
  await redis.set('default:regbot-token', 'referencetoken42', 'PX', 60000);
  const service = sidecar();
  await service.waitForLog(connectedToDrachtio, 15000);
  await service.waitForLog((l) => l.msg === 'regbot: ownership changed' && l.mode === 'foreign', 5000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(registeredLines(service).length, 0, 'nothing registered under a foreign token');
  t.equal(await redis.get('default:regbot-token'), 'referencetoken42', 'the foreign token is left alone');
  await redis.del('default:regbot-token');
  t.ok(await until(() => registeredLines(service).some((l) => l.gatewaySid === gateway), 5000), 'registered once the token is gone');
  await service.stop();
  t.equal(await redis.get('default:regbot-token'), null, 'lease released on shutdown');
  await db.exec('DELETE FROM sip_gateways');
  await db.exec('DELETE FROM voip_carriers');
});

test('regbot cluster: 200 new gateways are paced (REGBOT_NEW_PER_SECOND=100)', async (t) => {
  await flushTestRedis(redis);
  const gateways = await seedGateways(200, 'p');
  const service = sidecar({ REGBOT_NEW_PER_SECOND: '100' });
  await service.waitForLog(connectedToDrachtio, 15000);
  t.ok(await until(() => new Set(registeredLines(service).map((l) => l.gatewaySid)).size >= gateways.length, 20000),
    'all 200 registered');
  // When each first REGISTER went out (the idle → registering line), not when its 200 came back: answers
  // arriving together on a busy machine say nothing about the pacer.
  const times = service.logs.filter((l) => l.msg === 'regbot: gateway state changed' && l.from === 'idle' && l.to === 'registering')
    .map((l) => Date.parse(String(l.time))).sort((a, b) => a - b);
  t.equal(times.length, gateways.length, 'one first REGISTER per gateway');
  const spread = times[times.length - 1] - times[0];
  t.ok(spread >= 1800, `first to last REGISTER ${spread} ms (≥ 1.99 s at 100/s)`);
  // The pacer grants each turn at least 10 ms after the previous one really ran, so no second may hold more
  // than 100 first REGISTERs however late timers fire (one more for a turn on the window's edge, and the
  // state-change line is logged a timer tick after the turn).
  let busiest = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    busiest = Math.max(busiest, i - j + 1);
  }
  t.ok(busiest <= 102, `at most 100 (+2) first REGISTERs in any second (${busiest})`);
  await service.stop();
});

test('regbot cluster: tear down', async (t) => {
  await sipp.stop();
  await stopRegbotBed({ standIn, db, redis });
  t.pass('closed');
});
