/**
 * The operations HTTP server of the real service: /health, /ready (200 with everything up; 503 naming
 * drachtio while its stand-in is stopped, and MySQL when it points at a closed port) and /metrics
 * (REGISTER counters after sipp registers, drachtio_connected, Node process metrics).
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed, DRACHTIO_SECRET, ENCRYPTION_SECRET } from '../support/registrar-bed';
import { expectSippSuccess, registerRun, optionsRun, findFreePort } from '../support/sipp';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { DrachtioStandIn } from '../support/drachtio';

const REALM = 'ops.example.com';
let bed: RegistrarBed;
let httpPort = 0;

interface HttpReply { status: number; contentType: string; text: string }

async function get(port: number, path: string): Promise<HttpReply> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

function json(reply: HttpReply): Record<string, unknown> {
  return JSON.parse(reply.text) as Record<string, unknown>;
}

/** The value of one sample line of the Prometheus text, e.g. metric('sip_bans_total'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const opsListening = (line: { msg?: string }): boolean => line.msg === 'ops http server listening (/health, /ready, /metrics)';

test('ops http: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  httpPort = await findFreePort();
  const service = await bed.startService({ HTTP_PORT: String(httpPort) });
  await service.waitForLog(opsListening, 5000);
  t.pass('service up with HTTP_PORT');
});

test('ops http: /health answers 200 {"status":"ok"}', async (t) => {
  const reply = await get(httpPort, '/health');
  t.equal(reply.status, 200);
  t.deepEqual(json(reply), { status: 'ok' });
  t.ok(reply.contentType.startsWith('application/json'), 'JSON');
  t.equal((await get(httpPort, '/nope')).status, 404, 'unknown path → 404');
});

test('ops http: /ready is 200 with drachtio, MySQL and Redis up', async (t) => {
  const reply = await get(httpPort, '/ready');
  t.equal(reply.status, 200, reply.text);
  t.deepEqual(json(reply).checks, { drachtio: 'ok', mysql: 'ok', redis: 'ok' });
});

test('ops http: /metrics counts REGISTER outcomes after a sipp registration', async (t) => {
  await expectSippSuccess(t, registerRun('register-auth', {
    target: bed.target, devices: { user: 'alice', password: 'pw', domain: REALM }, localPort: await findFreePort(),
  }), 'alice registers (401 then 200)');
  const reply = await get(httpPort, '/metrics');
  t.equal(reply.status, 200);
  t.ok(reply.contentType.startsWith('text/plain'), 'Prometheus text format');
  t.equal(sample(reply.text, 'sip_register_responses_total{status="401"}'), 1, 'one 401');
  t.equal(sample(reply.text, 'sip_register_responses_total{status="200"}'), 1, 'one 200');
  t.equal(sample(reply.text, 'sip_register_duration_seconds_count{path="full"}'), 2, 'two latencies observed');
  t.equal(sample(reply.text, 'registration_hook_duration_seconds_count{status="200"}'), 1, 'one hook call, granted');
  t.equal(sample(reply.text, 'drachtio_connected'), 1, 'drachtio_connected 1');
  t.ok(reply.text.includes('process_resident_memory_bytes'), 'Node process metrics');
  t.notOk(reply.text.includes('alice'), 'no AoR in the metrics');
});

test('ops http: /metrics counts OPTIONS answers by status', async (t) => {
  await expectSippSuccess(t, optionsRun({ target: bed.target, calls: 2, localPort: await findFreePort() }), 'two OPTIONS answered');
  t.equal(sample((await get(httpPort, '/metrics')).text, 'sip_options_total{status="200"}'), 2, 'sip_options_total{status="200"} 2');
});

test('ops http: auth failures and registrations_active', async (t) => {
  bed.hook.respondWith({ body: { status: 'fail' } });
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'mallory', password: 'bad', domain: REALM }, localPort: await findFreePort(),
  }), 'mallory is refused');
  bed.hook.reset();
  const text = (await get(httpPort, '/metrics')).text;
  t.equal(sample(text, 'sip_auth_failures_total'), 1, 'one auth failure');
  t.equal(sample(text, 'sip_register_responses_total{status="403"}'), 1, 'one 403');
  t.ok(sample(text, 'registrations_active') !== undefined, 'registrations_active exported');
});

test('ops http: /ready is 503 naming drachtio while the stand-in is stopped', async (t) => {
  const standIn = new DrachtioStandIn({ secret: DRACHTIO_SECRET });
  await standIn.start();
  const port = await findFreePort();
  const service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: DRACHTIO_SECRET }), ENCRYPTION_SECRET, HTTP_PORT: String(port),
  });
  try {
    await service.waitForLog(connectedToDrachtio, 15000);
    await service.waitForLog(opsListening, 5000);
    t.equal((await get(port, '/ready')).status, 200, 'ready while connected');
    await standIn.stop();
    await service.waitForLog((line) => line.msg === 'disconnected from drachtio-server; reconnecting', 5000);
    const reply = await get(port, '/ready');
    t.equal(reply.status, 503, 'not ready without drachtio');
    t.deepEqual(json(reply).notReady, ['drachtio'], 'names drachtio only');
    t.equal((json(reply).checks as Record<string, string>).drachtio, 'disconnected');
    t.equal(sample((await get(port, '/metrics')).text, 'drachtio_connected'), 0, 'drachtio_connected 0');
    t.equal((await get(port, '/health')).status, 200, '/health still 200: the process runs');
  } finally {
    await service.stop();
  }
});

test('ops http: /ready is 503 naming mysql when MySQL is at a closed port', async (t) => {
  const port = await findFreePort();
  const service = await startWith(bed, { HTTP_PORT: String(port), JAMBONES_MYSQL_PORT: String(await findFreePort()) });
  try {
    // Redis connects in parallel with drachtio, a few ms later at times: "mysql only" holds once it has.
    await service.waitForLog((line) => line.msg === 'redis ready', 5000);
    const reply = await get(port, '/ready');
    t.equal(reply.status, 503, reply.text);
    t.deepEqual(json(reply).notReady, ['mysql'], 'names mysql only');
    t.equal((json(reply).checks as Record<string, string>).mysql, 'ECONNREFUSED', 'with the error code');
  } finally {
    await service.stop();
  }
});

test('ops http: HTTP_PORT=0 turns the server off', async (t) => {
  const service = await startWith(bed, { HTTP_PORT: '0' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.notOk(service.logs.some(opsListening), 'no ops server');
  } finally {
    await service.stop();
  }
});

test('ops http: SIGTERM closes the server and the process exits 0', async (t) => {
  const stopped = await bed.service!.stop();
  t.equal(stopped.code, 0, 'exit 0');
  await get(httpPort, '/health').then(() => t.fail('still answering'), () => t.pass('port closed'));
  bed.service = undefined;
});

test('ops http: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});

/** A second service on the bed's stand-in, with some variables changed. */
async function startWith(testBed: RegistrarBed, env: Record<string, string>): Promise<RunningService> {
  const service = startService({
    ...baseServiceEnv({ port: testBed.standIn.adminPort, secret: DRACHTIO_SECRET }), ENCRYPTION_SECRET, ...env,
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  if (env.HTTP_PORT !== '0') await service.waitForLog(opsListening, 5000);
  return service;
}
