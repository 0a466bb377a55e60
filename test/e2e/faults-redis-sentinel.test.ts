/**
 * Redis failover with Sentinel, with real processes (issue 14): a master, a replica and three Sentinels
 * (Debian redis-server and redis-sentinel), one sidecar following them, and devices registering at 20/s through
 * the drachtio stand-in (sipp, a new device per call so that every 200 is a binding of its own). The master is
 * killed (SIGKILL), the Sentinels promote the replica, and the old master comes back as a replica. Three runs:
 *
 * 1. plain: registrations succeed again within 5 s of the kill; every answer in between is 503 with Retry-After
 *    and an X-Reason; the metrics and the outcome lines count exactly what sipp saw; every binding acknowledged
 *    more than 1 s before the kill is on the new master; the hook is not called while Redis is known down; the
 *    log says the master moved (never "All sentinels are unreachable"); /ready reports Redis again; the old
 *    master rejoining disturbs nothing; the service never exits;
 * 2. the replication stream held back for the last second before the kill, as when a replica lags: bindings
 *    acknowledged in that second are lost (what REGISTRAR_WAIT_REPLICAS is for);
 * 3. the same with REGISTRAR_WAIT_REPLICAS=1: no acknowledged binding is lost.
 *
 * The figures go to RELIABILITY.md through test/support/reliability-report (faults.test.ts writes the file).
 */
import test from 'tape';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRegistrarBed, RegistrarBed, registerOutcomes } from '../support/registrar-bed';
import { RedisSentinelBed, MASTER_NAME, RedisNode } from '../support/redis-sentinel-bed';
import { startSippServer, scenarioPath, findFreePort, describeSippRun } from '../support/sipp';
import { registerExchanges, countByStatus, RegisterExchange } from '../support/register-exchanges';
import { failovers, FailoverFigures } from '../support/reliability-report';
import { testRedisDb } from '../support/test-redis';
import type { RunningService, ServiceLogLine } from '../support/service';
import { keys } from '../../lib/store/keys';

const REALM = 'failover.example.com';
const RATE = 20;
/** Calls per run: long enough for the baseline, the failover, the rejoin and a few seconds after it. */
const CALLS = RATE * 14;
const BASELINE_MS = 2500;
const HOLD_MS = 1000;

let redis: RedisSentinelBed;
let bed: RegistrarBed;

interface RunOptions {
  label: string;
  prefix: string;
  /** Hold the replication stream back for HOLD_MS before the kill. */
  holdReplication: boolean;
  env?: Record<string, string>;
}

interface RunResult {
  exchanges: RegisterExchange[];
  killAt: number;
  promotedAt: number;
  rejoinedAt: number;
  oldMaster: RedisNode;
  newMaster: RedisNode;
  service: RunningService;
  httpPort: number;
}

test('redis sentinel: a master, a replica and three Sentinels; a sidecar through them', async (t) => {
  redis = await RedisSentinelBed.start();
  t.pass(`Sentinels on ${redis.sentinelList}`);
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
});

test('redis sentinel: the master is killed while devices register', async (t) => {
  const label = 'master killed';
  const run = await failoverRun(t, { label, prefix: 'plain', holdReplication: false });
  const figures = await assertFailover(t, label, run, { recoverWithinMs: 5000 });
  t.equal(figures.lostEarly, 0, `every binding acknowledged more than 1 s before the kill is on the new master (${figures.ackedEarly})`);
  assertTruthfulLog(t, run);
  assertNoHookCallWhileRedisDown(t, run);
  await assertReadyAgain(t, run);
  t.equal(run.service.proc.exitCode, null, 'the service never exited');
  failovers.push(figures);
  await run.service.stop();
});

test('redis sentinel: replication held back for the last second before the kill (asynchronous replication)', async (t) => {
  const label = 'master killed, replication held back for the last second';
  const run = await failoverRun(t, { label, prefix: 'held', holdReplication: true });
  const figures = await assertFailover(t, label, run, { recoverWithinMs: 5000 });
  t.equal(figures.lostEarly, 0, `bindings acknowledged before the hold are all on the new master (${figures.ackedEarly})`);
  t.ok(figures.lostLate > 0, `without WAIT, bindings acknowledged while replication was held back are lost: ${figures.lostLate} of ${figures.ackedLate}`);
  failovers.push(figures);
  await run.service.stop();
});

test('redis sentinel: with REGISTRAR_WAIT_REPLICAS=1 no acknowledged binding is lost', async (t) => {
  const label = 'the same with REGISTRAR_WAIT_REPLICAS=1';
  const run = await failoverRun(t, { label, prefix: 'durable', holdReplication: true,
    env: { REGISTRAR_WAIT_REPLICAS: '1', REGISTRAR_WAIT_TIMEOUT_MS: '200' } });
  // With one replica, the new master has none until the old one rejoins: until then nothing can be acknowledged.
  const figures = await assertFailover(t, label, run, { recoverWithinMs: run.rejoinedAt - run.killAt + 3000 });
  t.equal(figures.lostEarly + figures.lostLate, 0,
    `every acknowledged binding is on the new master (${figures.ackedEarly + figures.ackedLate})`);
  // Those the kill caught waiting for WAIT (or queued behind one) got 503 Redis unavailable: none got a 200.
  const held = run.exchanges.filter((e) => e.cseq === 2 && e.sentAt >= run.killAt - HOLD_MS && e.sentAt < run.killAt);
  t.ok(held.length > 0 && held.every((e) => e.status === 503 && e.retryAfter)
    && held.some((e) => e.xReason === 'Registration not replicated'),
    `while replication is held back, authenticated REGISTERs get 503 Registration not replicated (${JSON.stringify(answersOf(held))})`);
  t.ok(run.service.logs.some((l) => l.msg === 'register outcome' && l.cause === 'replication-timeout'), 'outcome lines say replication-timeout');
  failovers.push(figures);
  await run.service.stop();
});

test('redis sentinel: tear down', async (t) => {
  await bed?.close();
  t.deepEqual(redis?.exits ?? [], [], 'no Redis process exited by itself');
  await redis?.stop();
});

async function failoverRun(t: test.Test, opts: RunOptions): Promise<RunResult> {
  const httpPort = await findFreePort();
  const service = await bed.startService({
    JAMBONES_REDIS_SENTINELS: redis.sentinelList,
    JAMBONES_REDIS_SENTINEL_MASTER_NAME: MASTER_NAME,
    HTTP_PORT: String(httpPort),
    SBC_SOCKET_PATH: path.join(os.tmpdir(), `sidecar-failover-${process.pid}.sock`),
    REGISTRAR_RATE_LIMIT: '0',
    REGISTRAR_NONCE_SECRET: 'failover',
    ...opts.env,
  });
  await service.waitForLog((l) => l.msg === 'redis ready', 10000);
  const sipp = startSippServer({
    scenario: scenarioPath('register-continuous'), target: bed.target, localPort: await findFreePort(),
    rate: RATE, calls: CALLS, keys: { prefix: opts.prefix, domain: REALM }, timeoutSec: 60,
  });
  await sipp.ready;
  await sleep(BASELINE_MS);
  const oldMaster = await redis.master();
  if (opts.holdReplication) {
    redis.holdReplication(oldMaster);
    await sleep(HOLD_MS);
  }
  const killAt = Date.now();
  await redis.kill(oldMaster);
  let promotedAt = 0;
  const newMaster = await redis.waitForFailover(oldMaster, () => { promotedAt = Date.now(); });
  redis.releaseReplication(oldMaster);
  await redis.restartAsReplica(oldMaster, newMaster);
  const rejoinedAt = Date.now();
  const result = await sipp.done;
  if (result.exitCode !== 0 && result.exitCode !== 1) t.comment(describeSippRun(result));
  await sleep(300); // the service writes its log lines every 100 ms
  t.comment(`${opts.label}: promoted ${promotedAt - killAt} ms after the kill, rejoined ${rejoinedAt - killAt} ms after it`);
  return { exchanges: registerExchanges(result.messages), killAt, promotedAt, rejoinedAt, oldMaster, newMaster, service, httpPort };
}

/** The assertions every run shares; returns the run's figures for RELIABILITY.md. */
async function assertFailover(t: test.Test, label: string, run: RunResult, expect: { recoverWithinMs: number }): Promise<FailoverFigures> {
  const { exchanges, killAt } = run;
  const unanswered = exchanges.filter((e) => e.status === undefined);
  t.equal(unanswered.length, 0, `every one of ${exchanges.length} REGISTERs got a final answer`);
  const succeeded = exchanges.find((e) => e.sentAt > killAt && e.status === 200);
  const outageMs = succeeded?.answeredAt !== undefined ? succeeded.answeredAt - killAt : null;
  t.ok(outageMs !== null && outageMs <= expect.recoverWithinMs, `registrations succeed again ${outageMs} ms after the kill`);
  // The service learns of the kill when its connection closes, a moment later: from then on it knows Redis is down.
  const knownDownAt = Math.max(killAt, timeOf(run.service.logs.find((l) => l.msg === 'redis connection lost; reconnecting'
    && timeOf(l) >= killAt - 50) ?? { time: new Date(killAt).toISOString() }));
  // The first answer other than 503 (the challenge of the first registration to succeed) ends the outage.
  const recovered = exchanges.find((e) => e.sentAt > knownDownAt && e.status !== 503);
  const between = exchanges.filter((e) => e.sentAt > knownDownAt && (!recovered || e.sentAt < recovered.sentAt));
  t.ok(between.length > 0 && between.every((e) => e.status === 503 && e.retryAfter !== undefined && e.xReason !== undefined),
    `every answer in between is 503 with Retry-After and X-Reason: ${JSON.stringify(answersOf(between))}`);
  const inFlight = exchanges.filter((e) => e.sentAt <= knownDownAt && (e.answeredAt ?? 0) > killAt);
  t.ok(inFlight.every((e) => e.status === 200 || e.status === 401 || e.status === 503),
    `requests in flight at the kill: ${JSON.stringify(countByStatus(inFlight))} (never a 500)`);
  // From when both have happened: the service back on the new master, and the old master rejoined as a replica.
  const settled = Math.max(run.rejoinedAt, succeeded?.sentAt ?? Infinity);
  const afterRejoin = exchanges.filter((e) => e.sentAt > settled);
  t.ok(afterRejoin.length > 0 && afterRejoin.every((e) => e.status === 200 || e.status === 401),
    `the old master rejoining disturbs nothing: ${JSON.stringify(answersOf(afterRejoin))} after it`);
  if (!afterRejoin.every((e) => e.status === 200 || e.status === 401)) {
    // What a post-mortem needs (SENTINEL_BED_KEEP=1 also keeps the Sentinels' logs): the service's view of Redis.
    t.comment(JSON.stringify(run.service.logs.filter((l) => /redis/.test(String(l.msg)))
      .map((l) => [timeOf(l) - run.rejoinedAt, l.msg, l.master ?? l.to ?? ''])));
  }
  await assertCountedExactly(t, run);
  const acked = exchanges.filter((e) => e.status === 200);
  const early = acked.filter((e) => (e.answeredAt ?? 0) < killAt - 1000);
  const late = acked.filter((e) => !early.includes(e) && e.sentAt <= killAt);
  return {
    run: label, promotionMs: run.promotedAt - killAt, outageMs, answers: answersOf(between),
    ackedEarly: early.length, lostEarly: await lostOf(run, early), ackedLate: late.length, lostLate: await lostOf(run, late),
  };
}

/** sip_register_responses_total and the `register outcome` lines, against the final answers sipp received. */
async function assertCountedExactly(t: test.Test, run: RunResult): Promise<void> {
  const seen = countByStatus(run.exchanges);
  t.deepEqual(countByStatus(registerOutcomes(run.service)), seen, `one outcome line per answer sipp saw: ${JSON.stringify(seen)}`);
  const metrics = await httpGet(run.httpPort, '/metrics');
  const counted: Record<string, number> = {};
  for (const match of metrics.body.matchAll(/^sip_register_responses_total\{status="(\d+)"\} (\d+)$/gm)) counted[match[1]] = Number(match[2]);
  t.deepEqual(counted, seen, 'sip_register_responses_total counts exactly the same');
}

/** Answers by status, 503s by X-Reason. */
function answersOf(exchanges: RegisterExchange[]): Record<string, number> {
  const answers: Record<string, number> = {};
  for (const e of exchanges) {
    const key = e.status === 503 ? `503 ${e.xReason ?? ''}`.trim() : String(e.status);
    answers[key] = (answers[key] ?? 0) + 1;
  }
  return answers;
}

/** How many of these acknowledged bindings the new master lacks. */
async function lostOf(run: RunResult, acked: RegisterExchange[]): Promise<number> {
  if (acked.length === 0) return 0;
  const replies = await redis.ask(run.newMaster.address, async (client) => {
    const pipeline = client.pipeline();
    for (const e of acked) pipeline.exists(keys.user(e.aor));
    return (await pipeline.exec()) ?? [];
  }, testRedisDb());
  return replies.filter(([err, found]) => err || found !== 1).length;
}

function assertTruthfulLog(t: test.Test, run: RunResult): void {
  const after = run.service.logs.filter((l) => Date.parse(String(l.time)) >= run.killAt);
  t.notOk(after.some((l) => JSON.stringify(l).includes('All sentinels are unreachable')),
    'no "All sentinels are unreachable" while every Sentinel answers');
  const moved = after.find((l) => l.msg === 'redis master moved; reconnected to the new master');
  t.deepEqual(moved && { from: moved.from, to: moved.to },
    { from: `127.0.0.1:${run.oldMaster.address}`, to: `127.0.0.1:${run.newMaster.address}` }, 'the log says where the master moved');
  t.ok(after.some((l) => l.msg === 'the redis master the sentinels name does not answer; waiting for them to promote a replica'),
    'and, meanwhile, that the master the Sentinels name does not answer');
}

function assertNoHookCallWhileRedisDown(t: test.Test, run: RunResult): void {
  const logs = run.service.logs;
  const lost = logs.find((l) => l.msg === 'redis connection lost; reconnecting' && timeOf(l) >= run.killAt - 50);
  const back = logs.find((l) => l.msg === 'redis ready' && lost !== undefined && timeOf(l) > timeOf(lost));
  t.ok(lost && back, 'the service saw Redis go and come back');
  if (!lost || !back) return;
  const calls = bed.hook.requests.filter((r) => r.receivedAt > timeOf(lost) + 100 && r.receivedAt < timeOf(back));
  t.equal(calls.length, 0, `no hook call while Redis was known down (${timeOf(back) - timeOf(lost)} ms)`);
}

async function assertReadyAgain(t: test.Test, run: RunResult): Promise<void> {
  const ready = await httpGet(run.httpPort, '/ready');
  t.equal(ready.status, 200, `/ready: ${ready.body}`);
  t.equal((JSON.parse(ready.body) as { checks?: Record<string, string> }).checks?.redis, 'ok', '/ready reports Redis again');
}

function timeOf(line: ServiceLogLine): number {
  return Date.parse(String(line.time));
}

function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
