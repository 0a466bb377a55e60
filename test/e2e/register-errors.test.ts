/**
 * When what the registrar depends on breaks, devices get a definite answer and the service keeps serving.
 * Every dependency outage is answered alike: 503 with Retry-After and an X-Reason naming what is missing.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed, registerOutcomes } from '../support/registrar-bed';
import { expectSippSuccess, registerRun, optionsRun, receivedResponses, headerOf } from '../support/sipp';
import { startTcpProxy } from '../support/tcp-proxy';
import { createUdpSipClient, registerText, sipHeader, statusLine } from '../support/udp-sip-client';
import { buildAuthorization, parseChallenge } from '../../lib/sip/digest';

const REALM = 'err.example.com';
let bed: RegistrarBed;

test('errors: Redis unreachable → 503 with Retry-After and X-Reason, one outcome line with its cause; the service keeps serving', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  const service = await bed.startService({ JAMBONES_REDIS_PORT: '1' });
  const result = await expectSippSuccess(t, registerRun('register-noauth', {
    target: bed.target, devices: { user: 'u', password: 'pw', domain: REALM }, expect: 503, timeoutSec: 20,
  }), 'REGISTER while Redis is down: 503 at once, without a challenge');
  const answer = receivedResponses(result).find((msg) => msg.startsWith('SIP/2.0 503')) ?? '';
  t.equal(headerOf(answer, 'Retry-After'), '5', 'Retry-After: 5');
  t.equal(headerOf(answer, 'X-Reason'), 'Redis unavailable', 'X-Reason: Redis unavailable');
  const outcome = await service.waitForLog((line) => line.msg === 'register outcome', 3000).catch(() => undefined);
  t.equal(outcome?.status, 503, 'one register outcome line');
  t.equal(outcome?.cause, 'redis-unavailable', 'with the cause as a short field');
  t.ok(typeof outcome?.callId === 'string', 'and the Call-ID');
  t.notOk(service.logs.some((line) => JSON.stringify(line).includes('"stack"')), 'no stack trace logged for an outage');
  t.equal(bed.hook.requests.length, 0, 'the hook was not called');
  await expectSippSuccess(t, optionsRun({ target: bed.target }), 'OPTIONS still answered');
  t.equal(service.proc.exitCode, null, 'still running');
  await bed.close();
});

test('errors: Redis lost while the account is looked up → 503, and the hook is not called for a doomed request', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  const redisProxy = await startTcpProxy(6379);
  const mysqlProxy = await startTcpProxy(Number(process.env.MYSQL_PORT ?? 3306));
  const service = await bed.startService({
    JAMBONES_REDIS_PORT: String(redisProxy.port), JAMBONES_MYSQL_PORT: String(mysqlProxy.port),
    REGISTRAR_ACCOUNT_CACHE_TTL_MS: '0', REGISTRAR_NONCE_SECRET: 'errors',
  });
  await service.waitForLog((line) => line.msg === 'redis ready', 5000);
  const client = await createUdpSipClient('127.0.0.1', { host: '127.0.0.1', port: bed.standIn.sipPort });
  const callId = `lost-${Date.now()}`;
  const first = await client.request(registerText({ user: 'u', realm: REALM, client, cseq: 1, callId }), 3000);
  const challenge = parseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '');
  t.equal(statusLine(first), 401, 'challenged while everything is up');
  if (!challenge.ok) return t.fail('no challenge');
  const authorization = buildAuthorization({ challenge: challenge.value, username: 'u', password: 'pw', method: 'REGISTER',
    uri: `sip:${REALM}`, cnonce: 'c0ffee' });
  // MySQL answers 600 ms late: the nonce check is done (Redis up) long before the account lookup returns,
  // and Redis is gone by then.
  mysqlProxy.delay(600);
  const pending = client.request(registerText({ user: 'u', realm: REALM, client, cseq: 2, callId, authorization }), 8000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await redisProxy.cut();
  const answer = await pending;
  t.equal(statusLine(answer), 503, `answered ${statusLine(answer)}`);
  t.equal(sipHeader(answer, 'X-Reason'), 'Redis unavailable', 'X-Reason: Redis unavailable');
  t.ok(sipHeader(answer, 'Retry-After'), 'with Retry-After');
  t.equal(bed.hook.requests.length, 0, 'the registration hook was not called');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.deepEqual(registerOutcomes(service).map((line) => line.status), [401, 503], 'one outcome line per answer');
  client.close();
  await bed.close();
  await redisProxy.close();
  await mysqlProxy.close();
});

test('errors: MySQL unreachable → 503 with Retry-After and X-Reason instead of a misleading 403', async (t) => {
  bed = await createRegistrarBed();
  const service = await bed.startService({ JAMBONES_MYSQL_PORT: '1' });
  const result = await expectSippSuccess(t, registerRun('register-noauth', {
    target: bed.target, devices: { user: 'u', domain: REALM }, expect: 503, timeoutSec: 20,
  }), 'REGISTER while MySQL is down');
  const answer = receivedResponses(result).find((msg) => msg.startsWith('SIP/2.0 503')) ?? '';
  t.equal(headerOf(answer, 'Retry-After'), '30', 'Retry-After: 30');
  t.equal(headerOf(answer, 'X-Reason'), 'Database unavailable', 'X-Reason: Database unavailable');
  t.ok(await service.waitForLog((line) => line.msg === 'account lookup failed', 3000).catch(() => undefined), 'logged');
  await bed.close();
});
