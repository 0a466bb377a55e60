/**
 * docker/grafana/dashboards/sip-sidecar.json against the running service: every metric any panel or variable
 * queries is one the built service's /metrics exports (scraped after sipp registered a device, so the
 * REGISTER and hook series have samples too), and the dashboard covers what operators watch.
 */
import test from 'tape';
import fs from 'node:fs';
import path from 'node:path';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { expectSippSuccess, findFreePort, registerRun } from '../support/sipp';
import { repoRoot } from '../support/test-db';
import { exportedSeriesNames, metricNamesOf } from '../support/promql';

interface Panel { title: string; type: string; targets?: { expr: string }[]; panels?: Panel[] }
interface Dashboard { panels: Panel[]; templating: { list: { query: { query: string } | string }[] } }

const DASHBOARD = path.join(repoRoot(), 'docker', 'grafana', 'dashboards', 'sip-sidecar.json');
const REALM = 'grafana.example.com';
/** Series Prometheus itself adds to every scrape. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
/** What the issue asks the dashboard to show, by the metric that shows it. */
const REQUIRED = {
  'REGISTER rate by status': 'sip_register_responses_total',
  'REGISTER latency percentiles': 'sip_register_duration_seconds_bucket',
  'hook latency': 'registration_hook_duration_seconds_bucket',
  'hook failures': 'registration_hook_failures_total',
  bans: 'sip_bans_total',
  'live registrations': 'registrations_active',
  'regbot gateways by state': 'regbot_gateways',
  'cluster members': 'cluster_feature_servers',
  'process CPU': 'process_cpu_seconds_total',
  'process RSS': 'process_resident_memory_bytes',
  'event-loop lag': 'nodejs_eventloop_lag_p99_seconds',
};

let bed: RegistrarBed;

function queries(dashboard: Dashboard): { where: string; expr: string }[] {
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const fromPanels = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr })));
  const fromVariables = dashboard.templating.list.map((variable) => {
    const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
    // label_values(metric{...}, label) reads `metric`
    return { where: 'variable', expr: query.replace(/^label_values\((.*),\s*\w+\)$/, '$1') };
  });
  return [...fromPanels, ...fromVariables];
}

test('grafana dashboard: every metric it queries is exported by the running service', async (t) => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  const port = await findFreePort();
  await bed.startService({ HTTP_PORT: String(port) });
  await expectSippSuccess(t, registerRun('register-auth', {
    target: bed.target, devices: { user: 'alice', password: 'pw', domain: REALM }, localPort: await findFreePort(),
  }), 'a device registers, so the REGISTER and hook series have samples');
  const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const exported = exportedSeriesNames(exposition);
  t.ok(exported.size > 30, `${exported.size} series names exported`);

  const all = queries(dashboard);
  t.ok(all.length >= 20, `${all.length} queries in the dashboard`);
  const used = new Set<string>();
  for (const { where, expr } of all) {
    const names = metricNamesOf(expr);
    t.ok(names.length > 0, `${where}: reads a metric (${expr})`);
    for (const name of names) {
      used.add(name);
      if (!exported.has(name) && !PROMETHEUS_SERIES.has(name)) t.fail(`${where}: ${name} is not exported by the service`);
    }
  }
  t.pass(`every one of ${used.size} metric names is exported: ${[...used].sort().join(', ')}`);
  for (const [topic, metric] of Object.entries(REQUIRED)) t.ok(used.has(metric), `the dashboard shows ${topic} (${metric})`);
});

test('grafana dashboard: metric name extraction', (t) => {
  t.deepEqual(metricNamesOf('histogram_quantile(0.95, sum by (le, path) (rate(sip_register_duration_seconds_bucket{instance=~"$instance"}[5m])))'),
    ['sip_register_duration_seconds_bucket'], 'through functions, grouping, matchers and ranges');
  t.deepEqual(metricNamesOf('count(up{job="sip-sidecar"} == 1) / sum(drachtio_connected) * 1e3'), ['up', 'drachtio_connected'], 'binary operators and numbers');
  t.deepEqual([...exportedSeriesNames('# TYPE a_seconds histogram\n# TYPE b_total counter\n')].sort(),
    ['a_seconds', 'a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b_total'], 'histogram series');
  t.end();
});

test('grafana dashboard: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
