/**
 * The service's foundation end to end: the built app against the drachtio stand-in, with sipp as the
 * SIP peer. OPTIONS over UDP and TCP, reconnection after drachtio restarts, graceful shutdown and
 * configuration errors.
 */
import test from 'tape';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { expectSippSuccess, optionsRun, receivedResponses, headerOf } from '../support/sipp';

const SECRET = 'cymru';

async function startStandIn(ports: { adminPort?: number; sipPort?: number } = {}): Promise<DrachtioStandIn> {
  const standIn = new DrachtioStandIn({ secret: SECRET, ...ports });
  await standIn.start();
  return standIn;
}

function target(standIn: DrachtioStandIn): string {
  return `127.0.0.1:${standIn.sipPort}`;
}

let standIn: DrachtioStandIn;
let service: RunningService;

test('foundation: the service connects to drachtio and routes OPTIONS and REGISTER', async (t) => {
  standIn = await startStandIn();
  service = startService(baseServiceEnv({ port: standIn.adminPort, secret: SECRET }));
  const connected = await service.waitForLog(connectedToDrachtio, 15000);
  t.equal(connected.hostport, standIn.hostports, 'the handshake hostports are kept');
  t.equal(standIn.connectedApps(), 1, 'one app authenticated');
});

test('foundation: OPTIONS over UDP gets 200', async (t) => {
  const result = await expectSippSuccess(t, optionsRun({ target: target(standIn), transport: 'u1' }), 'OPTIONS/UDP');
  const [response] = receivedResponses(result);
  t.ok(response?.startsWith('SIP/2.0 200'), 'the answer is 200 OK');
  t.ok(headerOf(response ?? '', 'To')?.includes(';tag='), 'the 200 carries a To tag');
});

test('foundation: OPTIONS over TCP gets 200', async (t) => {
  await expectSippSuccess(t, optionsRun({ target: target(standIn), transport: 't1' }), 'OPTIONS/TCP');
});

test('foundation: after drachtio restarts the service reconnects by itself and answers again', async (t) => {
  const ports = { adminPort: standIn.adminPort, sipPort: standIn.sipPort };
  const logsBefore = service.logs.length;
  await standIn.stop();
  await service.waitForLog((line) => line.msg === 'disconnected from drachtio-server; reconnecting', 5000, logsBefore);
  await new Promise((resolve) => setTimeout(resolve, 700));
  standIn = await startStandIn(ports);
  const started = Date.now();
  await service.waitForLog(connectedToDrachtio, 10000, logsBefore);
  t.pass(`reconnected ${Date.now() - started} ms after drachtio came back`);
  await expectSippSuccess(t, optionsRun({ target: target(standIn), transport: 'u1' }), 'OPTIONS after reconnect');
});

test('foundation: SIGTERM stops the service cleanly within 5 s', async (t) => {
  const { code, signal, ms } = await service.stop('SIGTERM');
  t.equal(code, 0, 'exit code 0');
  t.equal(signal, null, 'exited by itself, not killed');
  t.ok(ms < 5000, `exited in ${ms} ms`);
  t.ok(service.logs.some((line) => line.msg === 'shutdown complete'), 'logged the shutdown');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(standIn.connectedApps(), 0, 'the drachtio connection is closed');
  await standIn.stop();
});

test('foundation: a missing required variable stops start-up with exit 1 and names it', async (t) => {
  const env = baseServiceEnv({ port: 9, secret: SECRET });
  delete env.DRACHTIO_HOST;
  const missing = startService(env);
  const { code } = await missing.exited;
  t.equal(code, 1, 'exit code 1');
  t.match(missing.stderr(), /configuration error: DRACHTIO_HOST is required/, 'names DRACHTIO_HOST');
});

test('foundation: every invalid value gets its own line and no secret is printed', async (t) => {
  const env = { ...baseServiceEnv({ port: 9, secret: 'do-not-print-me' }), DRACHTIO_PORT: 'abc', JAMBONES_LOGLEVEL: 'loud' };
  const invalid = startService(env);
  const { code } = await invalid.exited;
  t.equal(code, 1, 'exit code 1');
  const lines = invalid.stderr().trim().split('\n');
  t.equal(lines.length, 2, 'one line per problem');
  t.match(lines.join('\n'), /DRACHTIO_PORT must be a whole number/);
  t.match(lines.join('\n'), /JAMBONES_LOGLEVEL must be one of/);
  t.notOk(invalid.stderr().includes('do-not-print-me'), 'the secret is not printed');
});
