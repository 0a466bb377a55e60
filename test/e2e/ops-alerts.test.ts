/**
 * Alerts written to a real InfluxDB 1.x (started here when none runs) through @jambonz/time-series, and
 * read back with its query API: each alert the registrar writes, with the reference's type, tags and
 * message. The device-limit alert is read back after the periodic flush (7 s with NODE_ENV=test); the
 * webhook alerts after SIGTERM, which must flush what is pending before the process exits.
 */
import test from 'tape';
import createTimeSeries, { AlertRow, TimeSeriesClient } from '@jambonz/time-series';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { expectSippSuccess, registerRun, findFreePort } from '../support/sipp';
import { ensureInfluxDb, InfluxDbHandle } from '../support/influxdb';
import type { SeededAccount } from '../support/test-db';

const LIMITED = 'limited.alerts.example.com';
const FAILING = 'failing.alerts.example.com';
const UNREACHABLE = 'unreachable.alerts.example.com';
let bed: RegistrarBed;
let influx: InfluxDbHandle;
let series: TimeSeriesClient;
let limited: SeededAccount;
let failing: SeededAccount;
let unreachable: SeededAccount;
let closedHookUrl = '';

async function alertsOf(accountSid: string): Promise<AlertRow[]> {
  const result = await series.queryAlerts({ account_sid: accountSid, page: 1, page_size: 20, days: 1 });
  return result.data;
}

/** Polls InfluxDB until the account has an alert or `timeoutMs` passes. */
async function waitForAlerts(accountSid: string, timeoutMs: number): Promise<AlertRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await alertsOf(accountSid);
    if (rows.length > 0 || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every failure here comes after the digest challenge: hook errors, and the device limit (checked once authenticated). */
async function register(t: test.Test, user: string, domain: string, expect: number): Promise<void> {
  const scenario = expect === 200 ? 'register-auth' : 'register-auth-fail';
  await expectSippSuccess(t, registerRun(scenario, {
    target: bed.target, devices: { user, password: 'pw', domain }, expect, localPort: await findFreePort(),
  }), `${user}@${domain} → ${expect}`);
}

test('ops alerts: set up InfluxDB and a hosted service writing alerts to it', async (t) => {
  influx = await ensureInfluxDb();
  series = createTimeSeries(null, { host: influx.host });
  bed = await createRegistrarBed();
  await bed.db.seedProducts();
  closedHookUrl = `http://127.0.0.1:${await findFreePort()}/auth`;
  limited = await bed.db.seedAccount({ sip_realm: LIMITED, registration_hook: { url: bed.hook.url('/auth') }, device_to_call_ratio: 0 });
  failing = await bed.db.seedAccount({ sip_realm: FAILING, registration_hook: { url: bed.hook.url('/fail') } });
  unreachable = await bed.db.seedAccount({ sip_realm: UNREACHABLE, registration_hook: { url: closedHookUrl } });
  await bed.db.seedSubscription(limited.account_sid, { device: 1, voice_call_session: 5 });
  for (const account of [failing, unreachable]) await bed.db.seedSubscription(account.account_sid, { voice_call_session: 10 });
  bed.hook.respondWith((req) => (req.path.startsWith('/fail') ? { status: 500, body: 'boom' } : { body: { status: 'ok' } }));
  await bed.startService({ JAMBONES_HOSTING: '1', JAMBONES_TIME_SERIES_HOST: influx.host, NODE_ENV: 'test', HTTP_PORT: '0' });
  t.pass(`InfluxDB ${influx.startedHere ? 'started by the test' : 'already running'}`);
});

test('ops alerts: account-device-limit reaches InfluxDB with the periodic flush', async (t) => {
  await register(t, 'first', LIMITED, 200);
  await register(t, 'second', LIMITED, 503);
  const rows = await waitForAlerts(limited.account_sid, 12000);
  t.equal(rows.length, 1, 'one alert');
  t.equal(rows[0]?.alert_type, 'account-device-limit');
  t.equal(rows[0]?.message, 'you have exceeded your account limit of 1 registered devices; please consider upgrading your plan',
    'the reference message (worded by @jambonz/time-series)');
  t.equal(rows[0]?.service_provider_sid, limited.service_provider_sid, 'tagged with the service provider');
  t.ok(await bed.service?.waitForLog((l) => (l.alert as { alert_type?: string } | undefined)?.alert_type === 'account-device-limit', 3000).catch(() => undefined),
    'and logged');
});

test('ops alerts: webhook alerts are flushed to InfluxDB on SIGTERM', async (t) => {
  await register(t, 'erin', FAILING, 500);
  await register(t, 'frank', UNREACHABLE, 503);
  t.deepEqual(await alertsOf(failing.account_sid), [], 'nothing written before the flush');
  const stopped = await bed.service!.stop();
  bed.service = undefined;
  t.equal(stopped.code, 0, 'exit 0');

  const [failure] = await alertsOf(failing.account_sid);
  t.equal(failure?.alert_type, 'webhook-failure');
  t.equal(failure?.message, `${bed.hook.url('/fail')} returned 500`, 'message "<url> returned <status>"');
  t.notOk(failure?.service_provider_sid, 'tagged with the account only, as the reference does');

  const [connection] = await alertsOf(unreachable.account_sid);
  t.equal(connection?.alert_type, 'webhook-connection-failure');
  t.equal(connection?.message, `failed to connect to ${closedHookUrl}`, 'message "failed to connect to <url>"');
  t.ok(connection?.detail, `with the cause as detail (${connection?.detail})`);
});

test('ops alerts: tear down', async (t) => {
  await bed.close();
  await influx.stop();
  t.pass('closed');
});
