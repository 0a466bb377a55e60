/**
 * InfluxAlerter without InfluxDB: the reference's point shapes, batching by size, flush of what is
 * pending, and a refused write that is logged and dropped rather than thrown.
 */
import test from 'tape';
import pino from 'pino';
import type { TimeSeriesAlert } from '@jambonz/time-series';
import { InfluxAlerter, toTimeSeriesAlert, CompositeAlerter } from '../../lib/ops/influx-alerter';
import { AlertType, Alerter, Alert } from '../../lib/ops/alerts';

const silent = pino({ level: 'silent' });
const AT = new Date('2026-01-02T03:04:05Z');

function recordingClient(fail = false): { batches: TimeSeriesAlert[][]; writeAlerts(a: TimeSeriesAlert | TimeSeriesAlert[]): Promise<void> } {
  const batches: TimeSeriesAlert[][] = [];
  return {
    batches,
    async writeAlerts(alerts) {
      if (fail) throw new Error('influx down');
      batches.push(Array.isArray(alerts) ? alerts : [alerts]);
    },
  };
}

test('ops alerter: points carry the reference fields per alert type', (t) => {
  const tags = { account_sid: 'acc', service_provider_sid: 'sp', url: 'http://h/auth' };
  t.deepEqual(toTimeSeriesAlert({ ...tags, alert_type: AlertType.WEBHOOK_STATUS_FAILURE, status: 502, message: 'x' }, AT),
    { alert_type: 'webhook-failure', account_sid: 'acc', url: 'http://h/auth', status: 502, timestamp: AT },
    'webhook-failure: account, url, status; the library words the message');
  t.deepEqual(toTimeSeriesAlert({ ...tags, alert_type: AlertType.WEBHOOK_CONNECTION_FAILURE, message: 'x', detail: 'ECONNREFUSED' }, AT),
    { alert_type: 'webhook-connection-failure', account_sid: 'acc', url: 'http://h/auth', detail: 'ECONNREFUSED', timestamp: AT },
    'webhook-connection-failure: account, url, detail');
  t.deepEqual(toTimeSeriesAlert({ account_sid: 'acc', service_provider_sid: 'sp', alert_type: AlertType.ACCOUNT_DEVICE_LIMIT, count: 3, message: 'x' }, AT),
    { alert_type: 'account-device-limit', account_sid: 'acc', service_provider_sid: 'sp', count: 3, timestamp: AT },
    'account-device-limit: account, service provider, count');
  t.deepEqual(toTimeSeriesAlert({ ...tags, alert_type: AlertType.WEBHOOK_STATUS_FAILURE, message: 'bad body' }, AT),
    { alert_type: 'webhook-failure', account_sid: 'acc', message: 'bad body', timestamp: AT },
    'without a status the own message is kept');
  t.deepEqual(toTimeSeriesAlert({ account_sid: 'acc', message: 'Options ping failed' }, AT),
    { account_sid: 'acc', message: 'Options ping failed', timestamp: AT }, 'other alerts pass through');
  t.end();
});

test('ops alerter: batches by size and flushes what is pending', async (t) => {
  const client = recordingClient();
  const alerter = new InfluxAlerter(client, silent, { commitSize: 3, flushIntervalMs: 60000 });
  for (let i = 0; i < 3; i++) alerter.write({ account_sid: `a${i}`, message: 'm' });
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(client.batches.map((b) => b.length), [3], 'the third alert triggers a write of three');
  alerter.write({ account_sid: 'a3', message: 'm' });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(client.batches.length, 1, 'a fourth waits for the next flush');
  await alerter.close();
  t.deepEqual(client.batches.map((b) => b.length), [3, 1], 'close writes the rest');
  await alerter.flush();
  t.equal(client.batches.length, 2, 'an empty flush writes nothing');
});

test('ops alerter: a refused write is dropped, never thrown, and the log alerter still sees every alert', async (t) => {
  const seen: Alert[] = [];
  const log: Alerter = { write: (alert) => seen.push(alert), flush: async () => undefined };
  const influx = new InfluxAlerter(recordingClient(true), silent, { commitSize: 50, flushIntervalMs: 60000 });
  const alerter = new CompositeAlerter(log, influx);
  alerter.write({ alert_type: AlertType.ACCOUNT_DEVICE_LIMIT, account_sid: 'acc', count: 1 });
  await alerter.flush();
  t.equal(seen.length, 1, 'logged');
  await influx.close();
  t.pass('flush resolved although InfluxDB refused');
});
