/**
 * regbot failover end to end: a gateway host name resolves, through a local DNS server the service is
 * pointed at (REGBOT_DNS_SERVERS), to two sipp carriers on different 127.0.0.x addresses. A 503, a
 * timeout (the stand-in's timer B answers 408) or both failing decide where the REGISTERs go.
 * Assertions are on what each carrier received, on the DNS questions and on voip_carriers.register_status.
 */
import fs from 'node:fs';
import test from 'tape';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { LocalDnsServer } from '../support/dns-server';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService, ServiceLogLine } from '../support/service';
import { TestDb } from '../support/test-db';
import { startSippServer, findFreePort, receivedMessages, headerOf, SippServer, SippResult } from '../support/sipp';
import { startRegbotBed, stopRegbotBed, waitForRegisterStatus, StoredRegisterStatus } from '../support/regbot-bed';

const SECRET = 'cymru';
let standIn: DrachtioStandIn;
let service: RunningService;
let dnsServer: LocalDnsServer;
let db: TestDb;
let redis: Redis;

const HEAD = ['[last_Via:]', '[last_From:]', '[last_To:];tag=[pid]SIPpTag01[call_number]', '[last_Call-ID:]', '[last_CSeq:]'];

/**
 * A carrier answering every REGISTER of one Call-ID with the same response (one sipp call for all of
 * them), or, with `undefined`, never answering (retransmissions are absorbed by sipp).
 */
function carrierScenario(reply: string[] | undefined): string {
  const send = reply
    ? ['  <send><![CDATA[', ...[reply[0], ...HEAD, ...reply.slice(1), 'Content-Length: 0', '', ''].map((l) => `      ${l}`), '  ]]></send>']
    : [];
  return ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="carrier">', '  <label id="loop"/>',
    '  <recv request="REGISTER"/>', ...send, '  <nop next="loop"/>', '</scenario>', ''].join('\n');
}

const unavailable = ['SIP/2.0 503 Service Unavailable'];
const ok200 = (realm: string): string[] => ['SIP/2.0 200 OK', `Contact: <sip:alice@${realm};transport=udp>;expires=2`];

interface Carrier {
  ip: string;
  port: number;
  sipp: SippServer;
}

/** /proc/net/udp lists `0200007F:1F90` for 127.0.0.2:8080; sipp's own wait only looks at the port. */
function udpBoundOn(ip: string, port: number): boolean {
  const hex = `${ip.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('')}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return fs.readFileSync('/proc/net/udp', 'utf8').split('\n').some((line) => line.trim().split(/\s+/)[1] === hex);
}

async function startCarrier(ip: string, port: number, reply: string[] | undefined): Promise<Carrier> {
  const sipp = startSippServer({ scenario: carrierScenario(reply), localIp: ip, localPort: port, timeoutSec: 60 });
  await sipp.ready;
  for (const deadline = Date.now() + 5000; !udpBoundOn(ip, port) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 25));
  return { ip, port, sipp };
}

async function seed(host: string, port: number | null, realm: string): Promise<{ carrierSid: string; gatewaySid: string }> {
  const carrierSid = await db.seedCarrier({
    requires_register: 1, register_username: 'alice', register_password: 'pw-failover', register_sip_realm: realm,
  });
  const gatewaySid = await db.seedGateway({ voip_carrier_sid: carrierSid, ipv4: host, port, protocol: 'udp' });
  return { carrierSid, gatewaySid };
}

const waitForStatus = (carrierSid: string, match: (s: StoredRegisterStatus) => boolean) => waitForRegisterStatus(db, carrierSid, match);

function logsOf(gatewaySid: string, msg: string): ServiceLogLine[] {
  return service.logs.filter((l) => l.msg === msg && l.gatewaySid === gatewaySid);
}

async function waitForLogCount(gatewaySid: string, msg: string, count: number, timeoutMs = 10000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (logsOf(gatewaySid, msg).length >= count) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Removes the carrier (its un-REGISTER goes out first), then stops the sipps. */
async function finish(carrierSid: string, gatewaySid: string, carriers: Carrier[], registered: boolean): Promise<SippResult[]> {
  await db.exec('DELETE FROM sip_gateways WHERE voip_carrier_sid = ?', [carrierSid]);
  await db.exec('DELETE FROM voip_carriers WHERE voip_carrier_sid = ?', [carrierSid]);
  const retired = registered ? 'regbot: unregistered' : 'regbot: retiring registration';
  await service.waitForLog((l) => l.msg === retired && l.gatewaySid === gatewaySid, 8000).catch(() => undefined);
  return Promise.all(carriers.map((carrier) => carrier.sipp.stop()));
}

function registers(result: SippResult): string[] {
  return receivedMessages(result).filter((m) => m.startsWith('REGISTER '));
}

function cseqOf(msg: string): number {
  return Number((headerOf(msg, 'CSeq') ?? '').split(' ')[0]);
}

test('regbot failover: set up DNS server, stand-in, database and service', async (t) => {
  dnsServer = new LocalDnsServer({ ttl: 60 });
  const dnsAddress = await dnsServer.start();
  ({ standIn, db, redis } = await startRegbotBed(SECRET, { timers: { timerB: 1000 } }));
  service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    REGBOT_DNS_SERVERS: dnsAddress,
    REGBOT_RELOAD_INTERVAL_MS: '300',
    REGBOT_LEASE_TTL_MS: '3000',
    REGBOT_REFRESH_JITTER: '0',
    REGBOT_RETRY_BASE_MS: '600',
    REGBOT_TRANSACTION_TIMEOUT_MS: '4000',
    JAMBONES_REGBOT_MIN_EXPIRES_INTERVAL: '1',
    JAMBONES_REGBOT_FAILURE_RETRY_INTERVAL: '1',
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  await service.waitForLog((l) => l.msg === 'regbot: reconciled', 10000);
  t.pass(`service running, resolving carrier names at ${dnsAddress}`);
});

test('regbot failover: 503 from the first A record, 200 from the second, refreshes stay on the second', async (t) => {
  const host = 'gw-a.failover.test';
  const realm = 'carrier-a.failover.test';
  const port = await findFreePort();
  dnsServer.zone.a = { ...dnsServer.zone.a, [host]: ['127.0.0.2', '127.0.0.3'] };
  const first = await startCarrier('127.0.0.2', port, unavailable);
  const second = await startCarrier('127.0.0.3', port, ok200(realm));
  const { carrierSid, gatewaySid } = await seed(host, port, realm);
  t.ok(await waitForLogCount(gatewaySid, 'regbot: registered', 3), 'registered, then refreshed twice');
  const status = await waitForStatus(carrierSid, (s) => s.status === 'ok');
  t.equal(status?.reason, '200 OK', 'register_status: 200 OK');
  t.equal(status?.callId, `${gatewaySid}@${realm}`, 'Call-ID: gateway sid @ the Contact host (the carrier realm here)');
  const moved = logsOf(gatewaySid, 'regbot: gateway address failed; trying the next one');
  t.equal(moved.length, 1, 'one move to the next address');
  t.equal(moved[0]?.address, `127.0.0.2:${port}`);
  t.equal(moved[0]?.reason, '503 Service Unavailable');
  t.equal(logsOf(gatewaySid, 'regbot: registration failed').length, 0, 'the 503 was not a backoff step');
  t.ok(logsOf(gatewaySid, 'regbot: registered').every((l) => l.address === `127.0.0.3:${port}`), 'every 200 from the second address');
  const [firstResult, secondResult] = await finish(carrierSid, gatewaySid, [first, second], true);
  const toFirst = registers(firstResult);
  const toSecond = registers(secondResult);
  t.equal(toFirst.length, 1, 'the 503 address saw one REGISTER only (refreshes are sticky)');
  t.ok(toSecond.length >= 4, `the second address saw the rest (${toSecond.length}: register, refreshes, un-REGISTER)`);
  for (const msg of [...toFirst, ...toSecond]) {
    if (msg.split('\r\n')[0] !== `REGISTER sip:${realm} SIP/2.0`) t.fail(`Request-URI stays the realm: ${msg.split('\r\n')[0]}`);
  }
  t.equal(new Set([...toFirst, ...toSecond].map((m) => headerOf(m, 'Call-ID'))).size, 1, 'one Call-ID on both addresses');
  t.equal(new Set([...toFirst, ...toSecond].map((m) => (headerOf(m, 'From') ?? '').split('tag=')[1])).size, 1, 'one From tag');
  t.ok(cseqOf(toSecond[0]) > cseqOf(toFirst[0]), 'CSeq raised for the retry on the next address');
  t.equal(headerOf(toSecond[toSecond.length - 1], 'Expires'), '0', 'the un-REGISTER goes where the binding is');
  t.ok(dnsServer.questions.some((q) => q.name === host && q.type === 'A'), 'the service asked our DNS server');
  t.notOk(dnsServer.questions.some((q) => q.name === `_sip._udp.${host}`), 'no SRV lookup for a gateway with a port');
});

test('regbot failover: the first SRV target times out (408 at timer B), the second answers', async (t) => {
  const host = 'gw-b.failover.test';
  const realm = 'carrier-b.failover.test';
  const [port1, port2] = [await findFreePort(), await findFreePort()];
  dnsServer.zone.srv = {
    ...dnsServer.zone.srv,
    [`_sip._udp.${host}`]: [
      { priority: 20, weight: 0, port: port2, target: `two.${host}` },
      { priority: 10, weight: 0, port: port1, target: `one.${host}` },
    ],
  };
  dnsServer.zone.a = { ...dnsServer.zone.a, [`one.${host}`]: ['127.0.0.4'], [`two.${host}`]: ['127.0.0.5'] };
  const silent = await startCarrier('127.0.0.4', port1, undefined);
  const second = await startCarrier('127.0.0.5', port2, ok200(realm));
  const started = Date.now();
  const { carrierSid, gatewaySid } = await seed(host, null, realm);
  t.ok(await waitForLogCount(gatewaySid, 'regbot: registered', 2), 'registered, then refreshed');
  const status = await waitForStatus(carrierSid, (s) => s.status === 'ok');
  t.equal(status?.reason, '200 OK', 'register_status: 200 OK');
  const moved = logsOf(gatewaySid, 'regbot: gateway address failed; trying the next one');
  t.equal(moved.length, 1, 'one move to the next address');
  t.equal(moved[0]?.address, `127.0.0.4:${port1}`, 'away from the priority 10 target');
  t.equal(moved[0]?.next, `127.0.0.5:${port2}`, 'to the priority 20 target');
  t.match(String(moved[0]?.reason), /^408 /, 'after the transaction timed out');
  t.ok(Date.now() - started < 8000, 'within a few seconds: no backoff in between');
  const [silentResult, secondResult] = await finish(carrierSid, gatewaySid, [silent, second], true);
  const toSilent = registers(silentResult);
  t.ok(toSilent.length >= 1, `the silent address got the REGISTER (${toSilent.length} with retransmissions)`);
  t.equal(new Set(toSilent.map(cseqOf)).size, 1, 'one transaction only: refreshes did not go back to it');
  t.ok(registers(secondResult).length >= 3, 'the second target has the registration');
  t.ok(dnsServer.questions.some((q) => q.name === `_sip._udp.${host}` && q.type === 'SRV'), 'SRV asked for the transport');
});

test('regbot failover: every address fails, so the round backs off and resolves the name again', async (t) => {
  const host = 'gw-c.failover.test';
  const realm = 'carrier-c.failover.test';
  const port = await findFreePort();
  dnsServer.zone.a = { ...dnsServer.zone.a, [host]: ['127.0.0.6', '127.0.0.7'] };
  const first = await startCarrier('127.0.0.6', port, unavailable);
  const second = await startCarrier('127.0.0.7', port, unavailable);
  const { carrierSid, gatewaySid } = await seed(host, port, realm);
  t.ok(await waitForLogCount(gatewaySid, 'regbot: registration failed', 2), 'two rounds failed');
  const status = await waitForStatus(carrierSid, (s) => s.status === 'fail');
  t.equal(status?.reason, '503 Service Unavailable', 'register_status: the last answer of the round');
  const failures = logsOf(gatewaySid, 'regbot: registration failed');
  t.ok(Number(failures[0]?.retryInMs) >= 300, `backed off after the round (${String(failures[0]?.retryInMs)} ms)`);
  const [firstResult, secondResult] = await finish(carrierSid, gatewaySid, [first, second], false);
  t.ok(registers(firstResult).length >= 2, 'the first address tried in each round');
  t.ok(registers(secondResult).length >= 2, 'the second address tried in each round');
  const lookups = dnsServer.questions.filter((q) => q.name === host && q.type === 'A').length;
  t.ok(lookups >= 2, `the used-up list is resolved again despite its TTL (${lookups} lookups)`);
});

test('regbot failover: tear down', async (t) => {
  const stopped = await service.stop();
  t.equal(stopped.code, 0, 'service exits 0');
  await dnsServer.stop();
  await stopRegbotBed({ standIn, db, redis });
});
