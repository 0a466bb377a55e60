/**
 * regbot as an operator sees it, end to end: `regbot status` (the real CLI binary over the service's
 * socket) with owners and live/database state across instances, GET /regbot, the regbot series on
 * /metrics, one log line per state change, a `reg` trunk deactivated at the failure threshold, and the
 * un-REGISTER on SIGTERM within the shutdown deadline, also when a carrier stops answering.
 * sipp plays the carriers; the drachtio stand-in carries the REGISTERs.
 */
import test from 'tape';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService, ServiceLogLine } from '../support/service';
import { TestDb } from '../support/test-db';
import { startSippServer, findFreePort, receivedMessages, headerOf, SippServer, SippResult } from '../support/sipp';
import { startRegbotBed, stopRegbotBed } from '../support/regbot-bed';
import { rendezvousOwner } from '../../lib/regbot/gateway-ownership';
import { keys } from '../../lib/store/keys';
import { runCli } from '../support/cli';

const SECRET = 'cymru';
const CLUSTER = 'regbot-ops-test';
const SOCKET = path.join(os.tmpdir(), `sip-sidecar-regbot-ops-${process.pid}.sock`);
/** installShutdown's deadline (lib/ops/shutdown.ts). */
const SHUTDOWN_DEADLINE_MS = 4500;

let standIn: DrachtioStandIn;
let service: RunningService;
let db: TestDb;
let redis: Redis;
let httpPort = 0;
let instanceId = '';

const cli = runCli;

interface GatewayJson {
  gatewaySid: string; owner?: string; ownedHere: boolean; state: string; source: string;
  lastResponse?: string; lastResponseAt?: string; nextRefresh?: string;
}
interface StatusJson { success: boolean; instanceId: string; mode: string; liveInstances: string[]; gateways: GatewayJson[] }

async function statusJson(): Promise<StatusJson> {
  const run = await cli(SOCKET, 'regbot', 'status', '--json');
  return JSON.parse(run.stdout) as StatusJson;
}

const HEAD = ['[last_Via:]', '[last_From:]', '[last_To:];tag=[pid]SIPpTag01[call_number]', '[last_Call-ID:]', '[last_CSeq:]'];

/** A carrier answering successive REGISTERs with `replies` (undefined: no answer), looping from `loopFrom`. */
function carrierScenario(replies: (string[] | undefined)[], loopFrom = 0): string {
  const steps = replies.map((reply, i) => [
    i === loopFrom ? '  <label id="loop"/>' : '',
    '  <recv request="REGISTER"/>',
    ...(reply ? ['  <send><![CDATA[', ...[reply[0], ...HEAD, ...reply.slice(1), 'Content-Length: 0', '', ''].map((l) => `      ${l}`),
      '  ]]></send>'] : []),
  ].join('\n'));
  return ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="carrier">', ...steps,
    '  <nop next="loop"/>', '</scenario>', ''].join('\n');
}

const ok200 = (expires: number): string[] => ['SIP/2.0 200 OK', `Expires: ${expires}`];

interface Carrier { sipp: SippServer; carrierSid: string; gatewaySid: string }

async function startCarrier(scenario: string, realm: string, trunk?: 'reg'): Promise<Carrier> {
  const port = await findFreePort();
  const sipp = startSippServer({ scenario, localPort: port, timeoutSec: 80 });
  await sipp.ready;
  const carrierSid = await db.seedCarrier({
    requires_register: 1, register_username: 'ops', register_password: 'pw-ops-secret', register_sip_realm: realm, trunk_type: trunk,
  });
  const gatewaySid = await db.seedGateway({ voip_carrier_sid: carrierSid, ipv4: '127.0.0.1', port, protocol: 'udp' });
  return { sipp, carrierSid, gatewaySid };
}

const registeredLine = (gatewaySid: string) => (l: ServiceLogLine): boolean => l.msg === 'regbot: registered' && l.gatewaySid === gatewaySid;

function registers(result: SippResult): string[] {
  return receivedMessages(result).filter((m) => m.startsWith('REGISTER '));
}

async function get(pathname: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}${pathname}`);
  return { status: res.status, text: await res.text() };
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let good: Carrier;

test('regbot ops: set up stand-in, database and service', async (t) => {
  // drachtio's own timer B (32 s): a carrier that does not answer stays unanswered past the shutdown budget
  ({ standIn, db, redis } = await startRegbotBed(SECRET));
  fs.rmSync(SOCKET, { force: true });
  httpPort = await findFreePort();
  service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_CLUSTER_ID: CLUSTER, SBC_SOCKET_PATH: SOCKET, HTTP_PORT: String(httpPort),
    REGBOT_RELOAD_INTERVAL_MS: '300',
    REGBOT_LEASE_TTL_MS: '3000',
    REGBOT_REFRESH_JITTER: '0',
    REGBOT_RETRY_BASE_MS: '300',
    REGBOT_TRANSACTION_TIMEOUT_MS: '5000',
    JAMBONES_REGBOT_MIN_EXPIRES_INTERVAL: '1',
    JAMBONES_REGBOT_FAILURE_RETRY_INTERVAL: '3',
    REGISTER_RESPONSE_REMOVE: '404',
    JAMBONES_REGBOT_REGISTER_FAILURE_THRESHOLD: '2',
    REGBOT_UNREGISTER_ON_SHUTDOWN: '1',
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  await service.waitForLog((l) => l.msg === 'regbot: reconciled', 10000);
  await service.waitForLog((l) => l.msg === 'CLI socket listening', 5000);
  t.pass('service running, regbot reconciling');
});

test('regbot ops: `regbot status` shows a registered gateway, its owner and its last response', async (t) => {
  good = await startCarrier(carrierScenario([ok200(600)]), 'ops-good.test');
  await service.waitForLog(registeredLine(good.gatewaySid), 10000);
  const run = await cli(SOCKET, 'regbot', 'status');
  t.equal(run.code, 0, 'exit 0');
  const line = run.stdout.split('\n').find((l) => l.startsWith(good.gatewaySid)) ?? '';
  t.ok(line, `a line for the gateway:\n${run.stdout}`);
  const json = await statusJson();
  instanceId = json.instanceId;
  t.ok(line.includes(`${instanceId} (this)`), 'owner is this instance');
  t.match(line, /\bregistered\b/, 'state registered');
  t.ok(line.includes('200 OK'), 'last response');
  t.match(run.stdout.split('\n')[1] ?? '', /^GATEWAY\s+CARRIER\s+AOR\s+OWNER\s+STATE\s+LAST RESPONSE\s+AT\s+NEXT REFRESH$/, 'column titles');
  t.equal(json.success, true);
  t.equal(json.mode, 'ours');
  t.deepEqual(json.liveInstances, [instanceId], 'one live instance');
  const gateway = json.gateways.find((g) => g.gatewaySid === good.gatewaySid);
  t.equal(gateway?.state, 'registered');
  t.equal(gateway?.source, 'live', 'live state of our own gateway');
  t.equal(gateway?.owner, instanceId);
  t.equal(gateway?.ownedHere, true);
  t.equal(gateway?.lastResponse, '200 OK');
  const next = Date.parse(gateway?.nextRefresh ?? '');
  t.ok(next > Date.now() + 200000 && next < Date.now() + 310000, 'next refresh about half of 600 s away');
  t.notOk(run.stdout.includes('pw-ops-secret') || JSON.stringify(json).includes('pw-ops-secret'), 'no password in the output');
});

test('regbot ops: one log line per state change', async (t) => {
  const changes = service.logs.filter((l) => l.msg === 'regbot: gateway state changed' && l.gatewaySid === good.gatewaySid);
  t.deepEqual(changes.map((l) => `${String(l.from)}>${String(l.to)}`), ['idle>registering', 'registering>registered'],
    'idle → registering → registered, each once (refreshes since then are not state changes)');
  t.equal(changes[0]?.carrierSid, good.carrierSid, 'with the carrier sid');
  t.equal(changes[0]?.aor, 'ops@ops-good.test', 'and the AoR');
});

test('regbot ops: a gateway owned by another live instance is shown with that owner and its database status', async (t) => {
  const gatewaySid = randomUUID();
  let fake = '';
  for (let i = 0; !fake; i++) {
    const candidate = `other-instance-${i}`;
    const both = [instanceId, candidate].sort();
    if (rendezvousOwner(both, gatewaySid) === candidate && rendezvousOwner(both, good.gatewaySid) === instanceId) fake = candidate;
  }
  const before = service.logs.length;
  // The other instance steps in before the gateway exists, so that this instance never registers it.
  await redis.zadd(keys.regbotInstances(CLUSTER), Date.now() + 600000, fake);
  await service.waitForLog((l) => l.msg === 'regbot: ownership changed' && l.liveInstances === 2, 5000, before);
  const timestamp = new Date().toISOString();
  const carrierSid = await db.seedCarrier({
    requires_register: 1, register_username: 'other', register_password: 'pw-other', register_sip_realm: 'ops-other.test',
    register_status: JSON.stringify({
      status: 'ok', reason: '200 OK', timestamp, expires: 600, sipGatewaySid: gatewaySid, nextRegister: '2099-01-01T00:00:00.000Z',
    }),
  });
  // A port nothing listens on: were this instance to register it, the status would say so.
  await db.seedGateway({ sip_gateway_sid: gatewaySid, voip_carrier_sid: carrierSid, ipv4: '127.0.0.1', port: await findFreePort(), protocol: 'udp' });
  let json = await statusJson();
  for (let i = 0; i < 30 && !json.gateways.some((g) => g.gatewaySid === gatewaySid); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    json = await statusJson();
  }
  const gateway = json.gateways.find((g) => g.gatewaySid === gatewaySid);
  t.deepEqual(json.liveInstances, [instanceId, fake].sort(), 'both instances live');
  t.equal(gateway?.owner, fake, 'owned by the other instance');
  t.equal(gateway?.ownedHere, false);
  t.equal(gateway?.source, 'database', 'state from register_status');
  t.equal(gateway?.state, 'registered');
  t.equal(gateway?.lastResponseAt, timestamp);
  t.equal(gateway?.nextRefresh, '2099-01-01T00:00:00.000Z');
  t.equal(json.gateways.find((g) => g.gatewaySid === good.gatewaySid)?.source, 'live', 'ours still live');
  const text = (await cli(SOCKET, 'regbot', 'status')).stdout;
  t.match(text.split('\n').find((l) => l.startsWith(gatewaySid)) ?? '', new RegExp(`${fake}\\s+registered\\*`), 'marked as database state');
  t.notOk(service.logs.slice(before).some((l) => l.msg === 'regbot: gateway state changed' && l.gatewaySid === gatewaySid),
    'this instance did not register it');
  await db.exec('DELETE FROM sip_gateways WHERE voip_carrier_sid = ?', [carrierSid]);
  await db.exec('DELETE FROM voip_carriers WHERE voip_carrier_sid = ?', [carrierSid]);
  const left = service.logs.length;
  await redis.zrem(keys.regbotInstances(CLUSTER), fake);
  await service.waitForLog((l) => l.msg === 'regbot: ownership changed' && l.liveInstances === 1, 5000, left);
});

test('regbot ops: GET /regbot and the regbot series on /metrics', async (t) => {
  const reply = await get('/regbot');
  t.equal(reply.status, 200);
  const body = JSON.parse(reply.text) as { instanceId: string; running: boolean; gateways: GatewayJson[] };
  t.equal(body.instanceId, instanceId);
  t.equal(body.running, true);
  const gateway = body.gateways.find((g) => g.gatewaySid === good.gatewaySid);
  t.equal(gateway?.state, 'registered', 'our gateway, live');
  t.equal(gateway?.lastResponse, '200 OK');
  t.notOk(reply.text.includes('pw-ops-secret'), 'no password');
  const metrics = (await get('/metrics')).text;
  t.equal(sample(metrics, 'regbot_gateways{state="registered"}'), 1, 'regbot_gateways{state="registered"} 1');
  t.equal(sample(metrics, 'regbot_gateways{state="failed"}'), 0, 'failed 0 (every state present)');
  t.ok((sample(metrics, 'regbot_register_responses_total{status="200"}') ?? 0) >= 1, 'REGISTER outcomes counted by status');
});

test('regbot ops: a reg trunk answering REGISTER_RESPONSE_REMOVE codes is deactivated at the threshold', async (t) => {
  const carrier = await startCarrier(carrierScenario([ok200(2), ['SIP/2.0 404 Not Found']], 1), 'ops-reg.test', 'reg');
  await service.waitForLog(registeredLine(carrier.gatewaySid), 10000);
  let entry: string | null = null;
  for (let i = 0; i < 30 && !entry; i++) {
    entry = await redis.hget('eph-gw-ip:127.0.0.1', carrier.carrierSid);
    if (!entry) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(entry, 'eph-gw-ip entry while registered');
  await service.waitForLog((l) => l.msg === 'regbot: failure threshold reached; disabling the carrier' && l.gatewaySid === carrier.gatewaySid, 15000);
  const alert = await service.waitForLog((l) => l.msg === 'alert: SIP_GATEWAY_REGISTRATION_FAILURE'
    && (l.alert as { target_sid?: string } | undefined)?.target_sid === carrier.carrierSid, 3000).catch(() => undefined);
  const message = (alert?.alert as { message?: string } | undefined)?.message ?? '';
  t.match(message, /^Deactivating carrier .* due to registration errors$/, `alert: ${message}`);
  let rows = await db.query('SELECT requires_register, is_active FROM voip_carriers WHERE voip_carrier_sid = ?', [carrier.carrierSid]);
  for (let i = 0; i < 50 && Number(rows[0]?.is_active) !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    rows = await db.query('SELECT requires_register, is_active FROM voip_carriers WHERE voip_carrier_sid = ?', [carrier.carrierSid]);
  }
  t.equal(Number(rows[0]?.is_active), 0, 'is_active = 0');
  t.equal(Number(rows[0]?.requires_register), 1, 'requires_register left as it was (reference)');
  let field = await redis.hget('eph-gw-ip:127.0.0.1', carrier.carrierSid);
  for (let i = 0; i < 30 && field !== null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    field = await redis.hget('eph-gw-ip:127.0.0.1', carrier.carrierSid);
  }
  t.equal(field, null, 'eph-gw-ip entry removed');
  // Retries would come every 0.3-3 s; give them the time to show up.
  await new Promise((resolve) => setTimeout(resolve, 3500));
  const regs = registers(await carrier.sipp.stop());
  t.equal(regs.length, 3, 'REGISTERs: the 200, then two 404s, then none');
  const metrics = (await get('/metrics')).text;
  t.ok((sample(metrics, 'regbot_register_responses_total{status="404"}') ?? 0) >= 2, 'the 404s counted under their own status');
  t.ok(regs.every((m) => headerOf(m, 'Expires') !== '0'), 'no un-REGISTER of a binding the carrier refused');
  const json = await statusJson();
  t.notOk(json.gateways.some((g) => g.gatewaySid === carrier.gatewaySid), 'no longer a gateway to register');
  await db.exec('DELETE FROM sip_gateways WHERE voip_carrier_sid = ?', [carrier.carrierSid]);
  await db.exec('DELETE FROM voip_carriers WHERE voip_carrier_sid = ?', [carrier.carrierSid]);
});

test('regbot ops: SIGTERM un-REGISTERs within the shutdown deadline, also past a carrier that stops answering', async (t) => {
  const silent = await startCarrier(carrierScenario([ok200(600), undefined], 1), 'ops-silent.test');
  await service.waitForLog(registeredLine(silent.gatewaySid), 10000);
  const stopped = await service.stop();
  t.equal(stopped.code, 0, 'exit code 0');
  t.ok(stopped.ms < SHUTDOWN_DEADLINE_MS, `exited in ${stopped.ms} ms, within the ${SHUTDOWN_DEADLINE_MS} ms deadline`);
  t.notOk(service.logs.some((l) => l.msg === 'shutdown deadline reached; exiting'), 'the shutdown steps fit the deadline');
  const done = service.logs.find((l) => l.msg === 'regbot: stopped');
  t.equal(done?.unregister, true, 'un-REGISTER on shutdown (no other instance live)');
  t.equal(done?.registrations, 2, 'of both gateways');
  t.equal(done?.finished, 1, 'the silent carrier\'s un-REGISTER was cut off by the budget');
  const goodRegs = registers(await good.sipp.stop());
  const last = goodRegs[goodRegs.length - 1] ?? '';
  t.equal(headerOf(last, 'Expires'), '0', 'the carrier got Expires: 0');
  t.match(headerOf(last, 'Contact') ?? '', /;expires=0$/, 'and Contact ;expires=0');
  const silentRegs = registers(await silent.sipp.stop());
  t.equal(headerOf(silentRegs[silentRegs.length - 1] ?? '', 'Expires'), '0', 'the silent carrier got its un-REGISTER too');
  t.ok(service.logs.some((l) => l.msg === 'regbot: gateway state changed' && l.gatewaySid === good.gatewaySid && l.to === 'stopped'),
    'state change to stopped logged');
});

test('regbot ops: `regbot status` is an error while regbot is not running', async (t) => {
  const socket = `${SOCKET}.idle`;
  fs.rmSync(socket, { force: true });
  // No drachtio listening: regbot starts only on the first connection.
  const idle = startService({
    ...baseServiceEnv({ port: await findFreePort(), secret: SECRET }), JAMBONES_CLUSTER_ID: CLUSTER, SBC_SOCKET_PATH: socket, HTTP_PORT: '0',
  });
  await idle.waitForLog((l) => l.msg === 'CLI socket listening', 10000);
  const run = await cli(socket, 'regbot', 'status');
  t.equal(run.code, 1, 'exit 1');
  t.match(run.stderr, /^Error: regbot is not running on this instance/, run.stderr.trim());
  const usage = await cli(socket, 'regbot');
  t.equal(usage.code, 1, 'no subcommand: exit 1');
  t.equal(usage.stderr.trim(), 'Error: regbot command requires an action', 'worded as the reference words fs alone');
  t.equal((await idle.stop()).code, 0);
});

test('regbot ops: tear down', async (t) => {
  await stopRegbotBed({ standIn, db, redis });
  t.pass('done');
});
