/**
 * jambonz's StatsD metrics with ENABLE_METRICS=1, received by a UDP listener standing in for the
 * StatsD agent: REGISTER response times (total, and "cached" for the refresh fast path) tagged with
 * the status, the hook's response time, and the registered-user gauge, with STATS_PREFIX and STATS_TAGS.
 */
import test from 'tape';
import dgram from 'node:dgram';
import { AddressInfo } from 'node:net';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { expectSippSuccess, registerRun, findFreePort } from '../support/sipp';
import { registerThenRefreshScenario } from '../support/sip-requests';

const REALM = 'statsd.example.com';
let bed: RegistrarBed;
let agent: dgram.Socket;
const lines: string[] = [];

/** Resolves with the first received line matching `pattern`, waiting up to `timeoutMs`. */
async function received(pattern: RegExp, timeoutMs = 3000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = lines.find((l) => pattern.test(l));
    if (line || Date.now() > deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('ops statsd: set up a UDP agent and a service with ENABLE_METRICS=1', async (t) => {
  agent = dgram.createSocket('udp4');
  agent.on('message', (msg) => lines.push(...msg.toString().split('\n').filter((l) => l.length > 0)));
  await new Promise<void>((resolve) => agent.bind(0, '127.0.0.1', () => resolve()));
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  await bed.startService({
    ENABLE_METRICS: '1', STATS_HOST: '127.0.0.1', STATS_PORT: String((agent.address() as AddressInfo).port),
    STATS_PREFIX: 'sidecar.', STATS_TAGS: 'env:test,region:eu', HTTP_PORT: '0',
  });
  t.pass('up');
});

test('ops statsd: sbc.users.count is sent at start', async (t) => {
  t.ok(await received(/^sidecar\.sbc\.users\.count:\d+\|g\|#env:test,region:eu$/), 'gauge with the global tags');
});

test('ops statsd: a full REGISTER sends sbc.registration.total.response_time with its status', async (t) => {
  await expectSippSuccess(t, registerRun('register-auth', {
    target: bed.target, devices: { user: 'bob', password: 'pw', domain: REALM }, localPort: await findFreePort(),
  }), 'bob registers');
  t.ok(await received(/^sidecar\.sbc\.registration\.total\.response_time:\d+\|h\|#env:test,region:eu,status:401$/), '401');
  t.ok(await received(/^sidecar\.sbc\.registration\.total\.response_time:\d+\|h\|#env:test,region:eu,status:200$/), '200');
  t.ok(await received(/^sidecar\.app\.hook\.response_time:\d+\|h\|#env:test,region:eu,hook_type:auth,status:200$/),
    'app.hook.response_time tagged hook_type:auth, status:200');
  t.notOk(lines.some((l) => l.includes('bob')), 'no AoR in any metric');
});

test('ops statsd: a fast-path refresh is sbc.registration.cached.response_time', async (t) => {
  await expectSippSuccess(t, {
    scenario: registerThenRefreshScenario(), target: bed.target, localPort: await findFreePort(),
    injectionCsv: [['carol', 'pw', REALM]],
  }, 'carol registers then refreshes');
  t.ok(await received(/^sidecar\.sbc\.registration\.cached\.response_time:\d+\|h\|#env:test,region:eu,status:200$/),
    'cached 200');
});

test('ops statsd: a hook error counts in app.hook.error.count', async (t) => {
  bed.hook.respondWith({ status: 503, body: 'down' });
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'dave', password: 'pw', domain: REALM }, localPort: await findFreePort(), expect: 503,
  }), 'dave gets the hook\'s 503');
  bed.hook.reset();
  t.ok(await received(/^sidecar\.app\.hook\.error\.count:1\|c\|#env:test,region:eu,hook_type:auth,status:503$/), 'error count');
});

test('ops statsd: tear down', async (t) => {
  await bed.close();
  agent.close();
  t.pass('closed');
});
