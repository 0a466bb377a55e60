/**
 * regbot end to end: sipp plays the carrier (one UAS per test, looping so that one Call-ID is one sipp
 * call for every refresh), the drachtio stand-in carries the REGISTERs, the built service registers.
 * Assertions are on what the carrier received, on voip_carriers.register_status, on Redis and on the
 * alert a real InfluxDB holds.
 */
import test from 'tape';
import createTimeSeries, { AlertRow } from '@jambonz/time-series';
import { ensureInfluxDb, InfluxDbHandle } from '../support/influxdb';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { TestDb } from '../support/test-db';
import {
  startSippServer, findFreePort, receivedMessages, headerOf, SippServer, SippResult, scenarioPath,
} from '../support/sipp';
import { startRegbotBed, stopRegbotBed, readRegisterStatus, waitForRegisterStatus, StoredRegisterStatus } from '../support/regbot-bed';
import { parseAuthorization, verifyResponse } from '../../lib/sip/digest';

const SECRET = 'cymru';
let standIn: DrachtioStandIn;
let service: RunningService;
let db: TestDb;
let redis: Redis;
let influx: InfluxDbHandle;

const HEAD = ['[last_Via:]', '[last_From:]', '[last_To:];tag=[pid]SIPpTag01[call_number]', '[last_Call-ID:]', '[last_CSeq:]'];

/** One response: its status line and extra header lines. */
type Reply = string[];

/**
 * A carrier answering successive REGISTERs of one Call-ID with `replies` in order, then looping over
 * `replies.slice(loopFrom)` for every refresh.
 */
function carrierScenario(replies: Reply[], loopFrom = 0): string {
  const steps = replies.map((reply, i) => [
    i === loopFrom ? '  <label id="loop"/>' : '',
    '  <recv request="REGISTER"/>',
    '  <send><![CDATA[',
    ...[reply[0], ...HEAD, ...reply.slice(1), 'Content-Length: 0', '', ''].map((line) => `      ${line}`),
    '  ]]></send>',
  ].join('\n'));
  return ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="carrier">', ...steps,
    '  <nop next="loop"/>', '</scenario>', ''].join('\n');
}

const challenge401 = (params: string): Reply => ['SIP/2.0 401 Unauthorized', `WWW-Authenticate: Digest ${params}`];
const challenge407 = (params: string): Reply => ['SIP/2.0 407 Proxy Authentication Required', `Proxy-Authenticate: Digest ${params}`];
const ok200 = (contact: string): Reply => ['SIP/2.0 200 OK', `Contact: ${contact}`];

interface Carrier {
  sipp: SippServer;
  port: number;
  carrierSid: string;
  gatewaySid: string;
  realm: string;
}

async function startCarrier(scenario: string,
  seed: { realm: string; user: string; password: string; trunk?: 'reg'; account?: { account_sid: string; service_provider_sid: string } }): Promise<Carrier> {
  const port = await findFreePort();
  const sipp = startSippServer({ scenario, localPort: port, timeoutSec: 80 });
  await sipp.ready;
  const carrierSid = await db.seedCarrier({
    requires_register: 1, register_username: seed.user, register_password: seed.password,
    register_sip_realm: seed.realm, trunk_type: seed.trunk,
    account_sid: seed.account?.account_sid, service_provider_sid: seed.account?.service_provider_sid,
  });
  const gatewaySid = await db.seedGateway({ voip_carrier_sid: carrierSid, ipv4: '127.0.0.1', port, protocol: 'udp' });
  return { sipp, port, carrierSid, gatewaySid, realm: seed.realm };
}

const registerStatus = (carrierSid: string) => readRegisterStatus(db, carrierSid);
const waitForStatus = (carrierSid: string, match: (s: StoredRegisterStatus) => boolean, timeoutMs?: number) =>
  waitForRegisterStatus(db, carrierSid, match, timeoutMs);

/** Waits until the service has logged `count` successful registrations of the gateway. */
async function waitForRegistered(gatewaySid: string, count: number, timeoutMs = 10000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const done = service.logs.filter((l) => l.msg === 'regbot: registered' && l.gatewaySid === gatewaySid).length;
    if (done >= count) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Stops sipp after removing the carrier so the un-REGISTER does not hit a running test's sipp later. */
async function finish(carrier: Carrier, keepCarrier = false): Promise<SippResult> {
  if (!keepCarrier) {
    await db.exec('DELETE FROM sip_gateways WHERE voip_carrier_sid = ?', [carrier.carrierSid]);
    await db.exec('DELETE FROM voip_carriers WHERE voip_carrier_sid = ?', [carrier.carrierSid]);
    await service.waitForLog((l) => l.msg === 'regbot: unregistered' && l.gatewaySid === carrier.gatewaySid, 8000).catch(() => undefined);
  }
  return carrier.sipp.stop();
}

function registers(result: SippResult): string[] {
  return receivedMessages(result).filter((m) => m.startsWith('REGISTER '));
}

function cseqOf(msg: string): number {
  return Number((headerOf(msg, 'CSeq') ?? '').split(' ')[0]);
}

function digestOk(msg: string, header: 'Authorization' | 'Proxy-Authorization', password: string): boolean {
  const value = headerOf(msg, header);
  const parsed = value ? parseAuthorization(value) : undefined;
  return Boolean(parsed?.ok && verifyResponse(parsed.value, { password, method: 'REGISTER' }));
}

test('regbot: set up stand-in, database and service', async (t) => {
  ({ standIn, db, redis } = await startRegbotBed(SECRET, { timers: { timerB: 1500 } }));
  influx = await ensureInfluxDb();
  service = startService({
    JAMBONES_TIME_SERIES_HOST: influx.host,
    NODE_ENV: 'test',
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    REGBOT_RELOAD_INTERVAL_MS: '300',
    REGBOT_LEASE_TTL_MS: '3000',
    REGBOT_REFRESH_JITTER: '0',
    REGBOT_RETRY_BASE_MS: '300',
    REGBOT_FORBIDDEN_RETRY_INTERVAL: '600',
    REGBOT_TRANSACTION_TIMEOUT_MS: '5000',
    JAMBONES_REGBOT_MIN_EXPIRES_INTERVAL: '1',
    JAMBONES_REGBOT_FAILURE_RETRY_INTERVAL: '3',
    JAMBONES_REGBOT_USER_AGENT: 'regbot-test/1',
    REGISTER_RESPONSE_REMOVE: '404',
    JAMBONES_REGBOT_REGISTER_FAILURE_THRESHOLD: '2',
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  await service.waitForLog((l) => l.msg === 'regbot: reconciled', 10000);
  t.pass('service running, regbot reconciling');
});

test('regbot: 401 with qop "auth,auth-int" and opaque, 200, then a refresh with the same Call-ID and a higher CSeq', async (t) => {
  const realm = 'carrier-a.test';
  const carrier = await startCarrier(carrierScenario([
    challenge401(`realm="${realm}", nonce="n1", qop="auth,auth-int", opaque="op1", algorithm=MD5`),
    ok200(`<sip:alice@${realm};transport=udp>;expires=2`),
  ]), { realm, user: 'alice', password: 'pw-a' });
  t.ok(await waitForRegistered(carrier.gatewaySid, 2, 15000), 'registered, then refreshed');
  const status = await registerStatus(carrier.carrierSid);
  t.equal(status?.status, 'ok', 'register_status ok');
  t.equal(status?.reason, '200 OK');
  t.equal(status?.callId, `${carrier.gatewaySid}@${realm}`, 'Call-ID: gateway sid @ the Contact host (the carrier realm here)');
  t.equal(status?.expires, 2, 'expiry from our Contact');
  t.match(status?.cseq ?? '', /^\d+ REGISTER$/);
  t.equal(status?.sbcAddress, standIn.hostports, "sbcAddress is drachtio's hostport list");
  t.ok(status?.nextRegister, 'next refresh recorded');
  const changes = service.logs.filter((l) => l.msg === 'regbot: gateway state changed' && l.gatewaySid === carrier.gatewaySid)
    .map((l) => `${String(l.from)}>${String(l.to)}`);
  t.deepEqual(changes.slice(0, 2), ['idle>registering', 'registering>registered'], 'state changes logged once');
  t.notOk(changes.includes('registered>registering'), 'a refresh is no state change in the log');
  const result = await finish(carrier);
  const regs = registers(result);
  t.ok(regs.length >= 4, `carrier saw ${regs.length} REGISTERs`);
  const [first, second, third] = regs;
  t.equal(first.split('\r\n')[0], `REGISTER sip:${realm} SIP/2.0`, 'Request-URI is the realm without a user');
  t.match(headerOf(first, 'From') ?? '', new RegExp(`^<sip:alice@${realm}>;tag=\\w+$`), 'From with our tag');
  t.equal(headerOf(first, 'To'), `<sip:alice@${realm}>`);
  t.equal(headerOf(first, 'Contact'), `<sip:alice@${realm};transport=udp>;expires=3600`, 'Contact: carrier realm (no account, no system domain)');
  t.equal(headerOf(first, 'Expires'), '3600');
  t.equal(headerOf(first, 'User-Agent'), 'regbot-test/1');
  t.equal(headerOf(first, 'Authorization'), undefined, 'first REGISTER without credentials');
  t.ok(digestOk(second, 'Authorization', 'pw-a'), 'digest answer verifies');
  const auth = headerOf(second, 'Authorization') ?? '';
  t.match(auth, /qop=auth,/, 'qop auth picked from the list');
  t.match(auth, /opaque="op1"/, 'opaque carried');
  t.match(auth, new RegExp(`uri="sip:${realm}"`), 'digest uri is the Request-URI');
  t.deepEqual([...new Set(regs.map((m) => headerOf(m, 'Call-ID')))], [`${carrier.gatewaySid}@${realm}`], 'one Call-ID throughout, on the wire');
  t.equal(new Set(regs.map((m) => (headerOf(m, 'From') ?? '').split('tag=')[1])).size, 1, 'one From tag throughout');
  const cseqs = regs.map(cseqOf);
  t.ok(cseqs.every((c, i) => i === 0 || c > cseqs[i - 1]), `CSeq increases: ${cseqs.join(',')}`);
  t.equal(headerOf(third, 'Authorization'), undefined, 'refresh starts without credentials');
  const last = regs[regs.length - 1];
  t.equal(headerOf(last, 'Expires'), '0', 'carrier removed: un-REGISTER with Expires: 0');
  t.match(headerOf(last, 'Contact') ?? '', /;expires=0$/, 'and Contact expires=0');
});

test('regbot: 407 offering MD5 and SHA-256 is answered with SHA-256 in Proxy-Authorization', async (t) => {
  const realm = 'carrier-b.test';
  const carrier = await startCarrier(carrierScenario([
    [...challenge407(`realm="${realm}", nonce="n2", qop="auth", algorithm=MD5`),
      `Proxy-Authenticate: Digest realm="${realm}", nonce="n2", qop="auth", algorithm=SHA-256`],
    ok200(`<sip:bob@${realm};transport=udp>;expires=600`),
  ]), { realm, user: 'bob', password: 'pw-b' });
  const status = await waitForStatus(carrier.carrierSid, (s) => s.status === 'ok');
  t.equal(status?.status, 'ok', 'registered');
  t.equal(status?.expires, 600);
  const regs = registers(await finish(carrier));
  const answer = headerOf(regs[1], 'Proxy-Authorization') ?? '';
  t.match(answer, /algorithm=SHA-256/, 'strongest algorithm chosen');
  t.ok(digestOk(regs[1], 'Proxy-Authorization', 'pw-b'), 'SHA-256 digest verifies');
  t.equal(headerOf(regs[1], 'Authorization'), undefined, 'no Authorization for a 407');
});

test('regbot: stale=true is answered at once with the new nonce and is no failure', async (t) => {
  const realm = 'carrier-c.test';
  const carrier = await startCarrier(carrierScenario([
    challenge401(`realm="${realm}", nonce="old", algorithm=MD5`),
    challenge401(`realm="${realm}", nonce="fresh", algorithm=MD5, stale=true`),
    ok200(`<sip:carol@${realm};transport=udp>;expires=600`),
  ]), { realm, user: 'carol', password: 'pw-c' });
  const status = await waitForStatus(carrier.carrierSid, (s) => s.status === 'ok');
  t.equal(status?.status, 'ok', 'registered after the stale challenge');
  const regs = registers(await finish(carrier));
  t.match(headerOf(regs[2], 'Authorization') ?? '', /nonce="fresh"/, 'retry uses the new nonce');
  t.ok(digestOk(regs[2], 'Authorization', 'pw-c'), 'digest verifies');
  t.ok(cseqOf(regs[2]) > cseqOf(regs[1]) && cseqOf(regs[1]) > cseqOf(regs[0]), 'CSeq raised on every retry');
});

test('regbot: a wrong password ends in 403 (checked by sipp verifyauth) and register_status fail', async (t) => {
  const realm = 'carrier-d.test';
  const port = await findFreePort();
  const sipp = startSippServer({
    scenario: scenarioPath('uas-register-auth'), localPort: port, timeoutSec: 60,
    keys: { realm, user: 'dave', password: 'the-real-one', grant_expires: '600' },
  });
  await sipp.ready;
  const carrierSid = await db.seedCarrier({ requires_register: 1, register_username: 'dave', register_password: 'wrong', register_sip_realm: realm });
  const gatewaySid = await db.seedGateway({ voip_carrier_sid: carrierSid, ipv4: '127.0.0.1', port, protocol: 'udp' });
  const status = await waitForStatus(carrierSid, (s) => s.status === 'fail');
  t.equal(status?.status, 'fail');
  t.equal(status?.reason, '403 Forbidden');
  t.equal(status?.expires, 0);
  // Log lines are flushed every 100 ms, so the line may follow the status row.
  const line = await service.waitForLog((l) => l.msg === 'regbot: registration failed' && l.gatewaySid === gatewaySid, 3000).catch(() => undefined);
  t.ok(Number(line?.retryInMs) >= 500000, `403 retried on the slow interval (${String(line?.retryInMs)} ms)`);
  t.notOk(service.stdout().includes('wrong') || service.stdout().includes('the-real-one'), 'no password in the logs');
  await finish({ sipp, port, carrierSid, gatewaySid, realm });
});

test('regbot: 423 with Min-Expires is retried at once with that value', async (t) => {
  const realm = 'carrier-e.test';
  const carrier = await startCarrier(carrierScenario([
    ['SIP/2.0 423 Interval Too Brief', 'Min-Expires: 7200'],
    ok200(`<sip:erin@${realm};transport=udp>;expires=7200`),
  ], 1), { realm, user: 'erin', password: 'pw-e' });
  const status = await waitForStatus(carrier.carrierSid, (s) => s.status === 'ok');
  t.equal(status?.expires, 7200, 'registered for the carrier minimum');
  const regs = registers(await finish(carrier));
  t.equal(headerOf(regs[1], 'Expires'), '7200', 'retry asks for Min-Expires');
  t.ok(cseqOf(regs[1]) > cseqOf(regs[0]), 'with a higher CSeq');
});

test('regbot: 503 with Retry-After waits at least that long', async (t) => {
  const realm = 'carrier-f.test';
  const carrier = await startCarrier(carrierScenario([
    ['SIP/2.0 503 Service Unavailable', 'Retry-After: 2'],
    ok200(`<sip:frank@${realm};transport=udp>;expires=600`),
  ], 1), { realm, user: 'frank', password: 'pw-f' });
  const failed = await waitForStatus(carrier.carrierSid, (s) => s.status === 'fail');
  t.equal(failed?.reason, '503 Service Unavailable', 'failure recorded');
  const failedAt = Date.now();
  const status = await waitForStatus(carrier.carrierSid, (s) => s.status === 'ok', 8000);
  t.equal(status?.status, 'ok', 'registered on the retry');
  t.ok(Date.now() - failedAt >= 1500, 'retry not before Retry-After');
  await finish(carrier);
});

test('regbot: no answer → 408 from drachtio after timer B, register_status fail', async (t) => {
  const realm = 'carrier-g.test';
  const carrier = await startCarrier(['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="silent">',
    '  <label id="loop"/>', '  <recv request="REGISTER"/>', '  <nop next="loop"/>', '</scenario>', ''].join('\n'),
  { realm, user: 'gina', password: 'pw-g' });
  const status = await waitForStatus(carrier.carrierSid, (s) => s.status === 'fail', 8000);
  t.match(status?.reason ?? '', /^408 /, `timeout recorded (${status?.reason ?? 'none'})`);
  await finish(carrier);
});

test('regbot: a 200 listing several Contacts: the expiry of our own binding counts', async (t) => {
  const realm = 'carrier-h.test';
  const carrier = await startCarrier(carrierScenario([
    ok200(`<sip:someone@10.9.9.9:5060>;expires=40, <sip:hank@${realm};transport=udp>;expires=900`),
  ]), { realm, user: 'hank', password: 'pw-h' });
  const status = await waitForStatus(carrier.carrierSid, (s) => s.status === 'ok');
  t.equal(status?.expires, 900, 'not the first Contact\'s 40');
  await finish(carrier);
});

test('regbot: a reg trunk writes eph-gw-ip:<ip> with the registration expiry', async (t) => {
  const realm = 'carrier-i.test';
  const carrier = await startCarrier(carrierScenario([
    ok200(`<sip:ivy@${realm};transport=udp>;expires=300`),
  ]), { realm, user: 'ivy', password: 'pw-i', trunk: 'reg' });
  await waitForStatus(carrier.carrierSid, (s) => s.status === 'ok');
  const until = Number(await redis.hget('eph-gw-ip:127.0.0.1', carrier.carrierSid));
  const now = Math.floor(Date.now() / 1000);
  t.ok(until > now + 290 && until <= now + 301, 'field = unix now + expires');
  const ttl = await redis.ttl('eph-gw-ip:127.0.0.1');
  t.ok(ttl > 7000 && ttl <= 7200, 'hash TTL 7200 s');
  await finish(carrier);
  t.equal(await redis.hget('eph-gw-ip:127.0.0.1', carrier.carrierSid), null, 'removed with the carrier');
});

test('regbot: credentials changed → un-REGISTER, then a new registration with the new user', async (t) => {
  const realm = 'carrier-j.test';
  const carrier = await startCarrier(carrierScenario([
    ok200('<sip:whatever@example.invalid>;expires=600'),
  ]), { realm, user: 'jack', password: 'pw-j' });
  await waitForStatus(carrier.carrierSid, (s) => s.status === 'ok');
  const before = service.logs.length;
  await db.exec('UPDATE voip_carriers SET register_username = ?, register_password = ? WHERE voip_carrier_sid = ?',
    ['jill', 'pw-j2', carrier.carrierSid]);
  await service.waitForLog((l) => l.msg === 'regbot: registered' && l.aor === `jill@${realm}`, 8000, before).catch(() => undefined);
  const regs = registers(await finish(carrier));
  const jack = regs.filter((m) => (headerOf(m, 'From') ?? '').includes('jack@'));
  const jill = regs.filter((m) => (headerOf(m, 'From') ?? '').includes('jill@'));
  t.equal(headerOf(jack[jack.length - 1] ?? '', 'Expires'), '0', 'old binding un-REGISTERed');
  t.ok(jill.length >= 1 && headerOf(jill[0], 'Expires') === '3600', 'new user registered');
  t.ok(regs.indexOf(jill[0]) > regs.indexOf(jack[jack.length - 1]), 'after the un-REGISTER');
});

/** Polls InfluxDB (the service flushes alerts every 7 s with NODE_ENV=test) for the account's alerts. */
async function influxAlertsOf(accountSid: string, timeoutMs: number): Promise<AlertRow[]> {
  const series = createTimeSeries(null, { host: influx.host });
  for (const deadline = Date.now() + timeoutMs; ;) {
    const { data } = await series.queryAlerts({ account_sid: accountSid, page: 1, page_size: 20, days: 1 });
    if (data.length > 0 || Date.now() > deadline) return data;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('regbot: REGISTER_RESPONSE_REMOVE codes reaching the threshold disable the carrier, with a SIP_GATEWAY_REGISTRATION_FAILURE alert', async (t) => {
  const realm = 'carrier-k.test';
  const account = await db.seedAccount({ sip_realm: 'kim-account.test' });
  const carrier = await startCarrier(carrierScenario([['SIP/2.0 404 Not Found']]), { realm, user: 'kim', password: 'pw-k', account });
  await service.waitForLog((l) => l.msg === 'regbot: failure threshold reached; disabling the carrier', 25000).catch(() => undefined);
  // The UPDATE and the alert follow the log line; on a loaded machine give them a moment.
  let rows = await db.query('SELECT requires_register, is_active FROM voip_carriers WHERE voip_carrier_sid = ?', [carrier.carrierSid]);
  for (let i = 0; i < 50 && Number(rows[0]?.requires_register) !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    rows = await db.query('SELECT requires_register, is_active FROM voip_carriers WHERE voip_carrier_sid = ?', [carrier.carrierSid]);
  }
  await service.waitForLog((l) => l.msg === 'alert: SIP_GATEWAY_REGISTRATION_FAILURE' || JSON.stringify(l).includes('Disabling Outbound Registration'), 3000)
    .catch(() => undefined);
  t.equal(Number(rows[0]?.requires_register), 0, 'requires_register cleared');
  t.equal(Number(rows[0]?.is_active), 1, 'static trunk stays active');
  t.ok(service.logs.some((l) => l.msg === 'alert: SIP_GATEWAY_REGISTRATION_FAILURE' || JSON.stringify(l).includes('Disabling Outbound Registration')),
    'alert written');
  t.equal((await registerStatus(carrier.carrierSid))?.reason, '404 Not Found');
  const [alert] = await influxAlertsOf(account.account_sid, 12000);
  t.equal(alert?.alert_type, 'SIP_GATEWAY_REGISTRATION_FAILURE', 'InfluxDB: the reference 0.9.7 alert type');
  t.match(alert?.message ?? '', new RegExp(`^Disabling Outbound Registration for carrier carrier-\\S+ \\(sid:${carrier.carrierSid}\\)$`),
    `InfluxDB: the reference message (${alert?.message})`);
  t.equal(alert?.service_provider_sid, account.service_provider_sid, 'tagged with the carrier\'s account and service provider');
  await finish(carrier);
});

test('regbot: tear down', async (t) => {
  const stopped = await service.stop();
  t.equal(stopped.code, 0, 'service exits 0');
  await stopRegbotBed({ standIn, db, redis });
  await influx.stop();
});
