/**
 * Hosted mode (JAMBONES_HOSTING): bare 403 for unknown realms, and the device limit from the account's
 * subscription, counted per realm exactly, checked once the device has authenticated (jambonz 0.9.7).
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { expectSippSuccess, registerRun, receivedResponses, headerOf, findFreePort } from '../support/sipp';

const HOSTED = 'hosted.example.com';
const LOOKALIKE = 'xhosted.example.com';
const NO_PLAN = 'noplan.example.com';
let bed: RegistrarBed;

async function registerDevice(t: test.Test, user: string, domain: string, expect = 200, localPort?: number) {
  // A device over the limit is refused only after authenticating; an unknown realm before the challenge.
  const scenario = expect === 200 ? 'register-auth' : expect === 503 ? 'register-auth-fail' : 'register-noauth';
  return expectSippSuccess(t, registerRun(scenario, {
    target: bed.target, devices: { user, password: 'pw', domain }, expect, localPort: localPort ?? await findFreePort(),
  }), `${user}@${domain} → ${expect}`);
}

let d2Port = 0;

test('hosted: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedProducts();
  const hook = { url: bed.hook.url('/auth'), method: 'POST' as const };
  const hosted = await bed.db.seedAccount({ sip_realm: HOSTED, registration_hook: hook, device_to_call_ratio: 0 });
  await bed.db.seedSubscription(hosted.account_sid, { device: 2, voice_call_session: 20 });
  const lookalike = await bed.db.seedAccount({ sip_realm: LOOKALIKE, registration_hook: hook });
  await bed.db.seedSubscription(lookalike.account_sid, { voice_call_session: 10 });
  await bed.db.seedAccount({ sip_realm: NO_PLAN, registration_hook: hook });
  await bed.startService({ JAMBONES_HOSTING: '1' });
  t.pass('hosted service connected');
});

test('hosted: an unknown realm gets a bare 403', async (t) => {
  const result = await registerDevice(t, 'x', 'unknown.example.net', 403);
  const [answer] = receivedResponses(result);
  t.equal(headerOf(answer ?? '', 'X-Reason'), undefined, 'no X-Reason in hosted mode');
});

test('hosted: devices of another realm ending in the same name do not count', async (t) => {
  await registerDevice(t, 'l1', LOOKALIKE);
  await registerDevice(t, 'l2', LOOKALIKE);
  await registerDevice(t, 'l3', LOOKALIKE);
  t.equal(await bed.redis.zcard(`active-user:${LOOKALIKE}`), 3);
});

test('hosted: the limit (device=2, ratio 0) admits exactly two devices', async (t) => {
  await registerDevice(t, 'd1', HOSTED);
  d2Port = await findFreePort();
  await registerDevice(t, 'd2', HOSTED, 200, d2Port);
  const refused = await registerDevice(t, 'd3', HOSTED, 503);
  const answer = receivedResponses(refused).find((msg) => msg.startsWith('SIP/2.0 503'));
  t.equal(answer?.split('\r\n')[0], 'SIP/2.0 503 Max Devices Registered', 'reason phrase');
  t.notOk(await bed.redis.exists(`user:d3@${HOSTED}`), 'd3 not stored');
  t.ok(receivedResponses(refused).some((msg) => msg.startsWith('SIP/2.0 401')), 'd3 was challenged first, not refused unauthenticated');
  const hookCalls = bed.hook.requests.filter((r) => (r.json as { username?: string })?.username === 'd3');
  t.equal(hookCalls.length, 1, 'and refused once the hook had authenticated it');
  await registerDevice(t, 'd1', HOSTED);
  t.pass('a registered device may still refresh at the limit');
  const alert = await bed.service?.waitForLog((line) => (line.alert as { alert_type?: string } | undefined)?.alert_type === 'account-device-limit', 3000)
    .catch(() => undefined);
  t.ok(alert, 'an account-device-limit alert was written');
  t.equal((alert?.alert as { count?: number } | undefined)?.count, 2, 'with the limit as count');
});

test('hosted: an unregistered device frees its place', async (t) => {
  await expectSippSuccess(t, registerRun('register-auth', {
    target: bed.target, devices: { user: 'd2', password: 'pw', domain: HOSTED }, expires: 0, expectExpires: 0, localPort: d2Port,
  }), 'd2 unregisters');
  await registerDevice(t, 'd3', HOSTED);
});

test('hosted: an account without a call-session product may register nothing', async (t) => {
  await registerDevice(t, 'n1', NO_PLAN, 503);
});

test('hosted: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
