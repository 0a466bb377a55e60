/**
 * When what the registrar depends on breaks, devices get a definite answer and the service keeps serving.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { expectSippSuccess, registerRun, optionsRun } from '../support/sipp';

const REALM = 'err.example.com';
let bed: RegistrarBed;

test('errors: Redis unreachable → 500 for the REGISTER, logged with its Call-ID; the service keeps serving', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  const service = await bed.startService({ JAMBONES_REDIS_PORT: '1' });
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'u', password: 'pw', domain: REALM }, expect: 500, timeoutSec: 20,
  }), 'REGISTER while Redis is down');
  const failure = await service.waitForLog((line) => line.msg === 'unexpected error handling REGISTER', 3000).catch(() => undefined);
  t.ok(failure, 'the error is logged');
  t.ok(typeof failure?.callId === 'string', 'with the Call-ID');
  await expectSippSuccess(t, optionsRun({ target: bed.target }), 'OPTIONS still answered');
  t.equal(service.proc.exitCode, null, 'still running');
  await bed.close();
});

test('errors: MySQL unreachable → 503 with Retry-After instead of a misleading 403', async (t) => {
  bed = await createRegistrarBed();
  const service = await bed.startService({ JAMBONES_MYSQL_PORT: '1' });
  await expectSippSuccess(t, registerRun('register-noauth', {
    target: bed.target, devices: { user: 'u', domain: REALM }, expect: 503, timeoutSec: 20,
  }), 'REGISTER while MySQL is down');
  t.ok(await service.waitForLog((line) => line.msg === 'account lookup failed', 3000).catch(() => undefined), 'logged');
  await bed.close();
});
