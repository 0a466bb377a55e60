/**
 * The answer ledger and the router's use of it (issue 14): every final answer, whatever produced it, is sent,
 * counted and written as one outcome line with a short cause; outages are 503 with Retry-After and X-Reason.
 * drachtio-srf's request and response are stood in by plain objects: only send() and finalResponseSent are used.
 */
import test from 'tape';
import { Writable } from 'node:stream';
import type Srf from 'drachtio-srf';
import { AnswerLedger, AnswerRecord } from '../../lib/drachtio/answer-ledger';
import { SipRouter, SipHandler, SrfRequest, SrfResponse } from '../../lib/drachtio/sip-router';
import { createLogger } from '../../lib/ops/logger';
import { DependencyUnavailable } from '../../lib/ops/outage';
import { isRedisUnavailable } from '../../lib/store/redis-client';

interface Sent { status: number; reason?: string; headers: Record<string, string> }

function fakeResponse(): SrfResponse & { sent: Sent[] } {
  const sent: Sent[] = [];
  const res = {
    sent,
    get finalResponseSent() { return sent.length > 0; },
    send(status: number, reasonOrOpts?: string | { headers?: Record<string, string> }, opts?: { headers?: Record<string, string> }) {
      const options = typeof reasonOrOpts === 'string' ? opts : reasonOrOpts;
      sent.push({ status, reason: typeof reasonOrOpts === 'string' ? reasonOrOpts : undefined, headers: options?.headers ?? {} });
    },
  };
  return res as unknown as SrfResponse & { sent: Sent[] };
}

function fakeRequest(method: string): SrfRequest {
  return { method, headers: {}, get: (name: string) => (name === 'Call-ID' ? 'call-1' : undefined) } as unknown as SrfRequest;
}

function bed(level: 'info' | 'debug' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  } });
  const { logger } = createLogger(level, sink);
  const counted: { method: string; status: number; fastPath?: boolean }[] = [];
  const metrics = {
    registerAnswered: (status: number, _latencyMs: number, fastPath: boolean) => counted.push({ method: 'REGISTER', status, fastPath }),
    optionsAnswered: (status: number) => counted.push({ method: 'OPTIONS', status }),
  };
  const ledger = new AnswerLedger(metrics, logger, (err) => (isRedisUnavailable(err) ? 'redis' : undefined));
  const records: AnswerRecord[] = [];
  ledger.onAnswer((record) => records.push(record));
  let route: ((req: SrfRequest, res: SrfResponse) => void) | undefined;
  const srf = { use: (_method: string, fn: typeof route) => { route = fn; } } as unknown as Srf;
  const router = new SipRouter(srf, logger, ledger);
  const dispatch = async (method: 'register' | 'options', handler: SipHandler) => {
    router.on(method, handler);
    const res = fakeResponse();
    route?.(fakeRequest(method.toUpperCase()), res);
    await new Promise((resolve) => setImmediate(resolve));
    return res;
  };
  const context = () => ({ logger, receivedAt: Date.now() });
  return { lines, counted, records, ledger, router, dispatch, context };
}

test('answer ledger: an answer is sent, counted and written as one outcome line; listeners hear of it', (t) => {
  const { lines, counted, records, ledger, context } = bed();
  const res = fakeResponse();
  ledger.answer('REGISTER', res, context(), { status: 200, headers: { Expires: '60' }, fastPath: true },
    { aor: 'a@example.com', expires: 60 });
  t.deepEqual(res.sent, [{ status: 200, reason: undefined, headers: { Expires: '60' } }], 'sent');
  t.deepEqual(counted, [{ method: 'REGISTER', status: 200, fastPath: true }], 'counted');
  const outcome = lines.filter((l) => l.msg === 'register outcome');
  t.equal(outcome.length, 1, 'one outcome line');
  t.equal(outcome[0].aor, 'a@example.com', 'with the request facts');
  t.equal(records.length, 1, 'one record for listeners');
  t.equal(records[0].method, 'REGISTER');
  t.end();
});

test('answer ledger: an outage is 503 with Retry-After, X-Reason and a cause; a bug is 500 with its stack logged once', (t) => {
  const { lines, ledger, context } = bed();
  const c = context();
  const redis = ledger.failure(new Error("Stream isn't writeable and enableOfflineQueue options is false"), c);
  t.deepEqual([redis.status, redis.headers, redis.cause], [503, { 'Retry-After': '5', 'X-Reason': 'Redis unavailable' }, 'redis-unavailable']);
  const mysql = ledger.failure(new DependencyUnavailable('mysql', 'connect ECONNREFUSED'), c);
  t.deepEqual([mysql.status, mysql.headers, mysql.cause], [503, { 'Retry-After': '30', 'X-Reason': 'Database unavailable' }, 'mysql-unavailable']);
  const replicas = ledger.failure(new DependencyUnavailable('redis-replicas', '0 of 1'), c);
  t.deepEqual([replicas.status, replicas.headers?.['X-Reason'], replicas.cause], [503, 'Registration not replicated', 'replication-timeout']);
  t.equal(lines.length, 0, 'outages log nothing of their own (the outcome line says it)');
  const bug = ledger.failure(new TypeError('x is undefined'), c);
  t.deepEqual([bug.status, bug.cause, bug.detail], [500, 'internal-error', 'x is undefined']);
  t.equal(lines.filter((l) => JSON.stringify(l).includes('"stack"')).length, 1, 'the bug is logged with its stack');
  t.end();
});

test('answer ledger: a routine OPTIONS 200 is written only at debug level; any other OPTIONS answer at info', (t) => {
  const quiet = bed('info');
  const c = quiet.context();
  quiet.ledger.answer('OPTIONS', fakeResponse(), c, { status: 200 });
  quiet.ledger.answer('OPTIONS', fakeResponse(), c, { status: 503, cause: 'redis-unavailable' });
  t.deepEqual(quiet.lines.map((l) => [l.msg, l.status]), [['options outcome', 503]], 'info: only the 503');
  t.deepEqual(quiet.counted.map((x) => x.status), [200, 503], 'both counted');
  const verbose = bed('debug');
  verbose.ledger.answer('OPTIONS', fakeResponse(), verbose.context(), { status: 200 });
  t.deepEqual(verbose.lines.map((l) => l.msg), ['options outcome'], 'debug: the 200 too');
  t.end();
});

test('router: a handler that throws on a Redis outage gets its 503 through the ledger: counted and logged like any answer', async (t) => {
  const { lines, counted, dispatch } = bed();
  const res = await dispatch('register', async () => { throw new Error('Connection is closed.'); });
  t.equal(res.sent.length, 1, 'one answer');
  t.equal(res.sent[0].status, 503, '503');
  t.deepEqual(res.sent[0].headers, { 'Retry-After': '5', 'X-Reason': 'Redis unavailable' }, 'with Retry-After and X-Reason');
  t.deepEqual(counted, [{ method: 'REGISTER', status: 503, fastPath: false }], 'counted in the metrics');
  const outcome = lines.find((l) => l.msg === 'register outcome');
  t.equal(outcome?.cause, 'redis-unavailable', 'one outcome line with the cause');
  t.equal(outcome?.callId, 'call-1', 'and the Call-ID');
  t.notOk(lines.some((l) => JSON.stringify(l).includes('"stack"')), 'no stack trace');
  t.end();
});

test('router: a bug in a handler is a counted 500; a handler that already answered is not answered twice', async (t) => {
  const { counted, dispatch } = bed();
  const res = await dispatch('options', () => { throw new TypeError('boom'); });
  t.deepEqual(res.sent.map((s) => s.status), [500], '500');
  t.deepEqual(counted, [{ method: 'OPTIONS', status: 500 }], 'counted');
  const answered = bed();
  const twice = await answered.dispatch('register', (_req, response, c) => {
    answered.ledger.answer('REGISTER', response, c, { status: 200 });
    throw new Error('after the answer');
  });
  t.deepEqual(twice.sent.map((s) => s.status), [200], 'the first answer stands');
  t.deepEqual(answered.counted.map((x) => x.status), [200], 'counted once');
  t.end();
});

test('router: while draining, requests get 503 Retry-After through the ledger (counted, cause shutting-down)', async (t) => {
  const { counted, lines, router, dispatch } = bed();
  await router.drain(10);
  const res = await dispatch('register', () => undefined);
  t.deepEqual(res.sent.map((s) => [s.status, s.headers['Retry-After']]), [[503, '5']]);
  t.deepEqual(counted.map((x) => x.status), [503], 'counted');
  t.equal(lines.find((l) => l.msg === 'register outcome')?.cause, 'shutting-down', 'outcome line with its cause');
  t.end();
});
