/**
 * docker/docker-compose.yml and docker/Dockerfile checked against the code, since no Docker engine runs
 * here: every variable the compose file gives the sidecar is one the config reads (and together they
 * pass loadConfig), host names are compose services, ports and secrets agree between the sidecar, the
 * drachtio config, MySQL and the demo seed, mounted files exist, and the image is multi-stage,
 * production-only, non-root, with a HEALTHCHECK on /health. Prometheus scrapes the sidecar, and Grafana is
 * provisioned with that Prometheus and the dashboard.
 */
import test from 'tape';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { knownVariableNames, loadConfig } from '../../lib/config/config';
import { startCommandNodeArgs } from '../support/service';
import { repoRoot, schemaPath } from '../support/test-db';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  command?: string | string[];
}

const root = repoRoot();
const dockerDir = path.join(root, 'docker');
const compose = parse(fs.readFileSync(path.join(dockerDir, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };
const services = compose.services;
const sidecar = services.sidecar;
const sidecarEnv = sidecar.environment ?? {};
const dockerfile = fs.readFileSync(path.join(dockerDir, 'Dockerfile'), 'utf8');
const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const drachtioConf = fs.readFileSync(path.join(dockerDir, 'drachtio.conf.xml'), 'utf8');

/** Host paths of a service's bind mounts, resolved from docker/ as compose does. */
function mountSources(service: ComposeService): { source: string; target: string }[] {
  return (service.volumes ?? []).map((volume) => {
    const [source, target] = volume.split(':');
    return { source: path.resolve(dockerDir, source), target };
  });
}

/** The `ENV A=1 \ B=2` names and values of the final stage. */
function dockerfileEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of finalStage.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
    for (const pair of match[1].replace(/\\\n/g, ' ').trim().split(/\s+/)) {
      const [name, value] = pair.split('=');
      env[name] = value;
    }
  }
  return env;
}

test('docker: the compose file has the whole demo stack', (t) => {
  t.ok(services.drachtio.image?.startsWith('drachtio/drachtio-server'), 'official drachtio-server image');
  t.ok(services.mysql.image?.startsWith('mysql:'), 'MySQL');
  t.ok(services.redis.image?.startsWith('redis:'), 'Redis');
  t.equal(services.influxdb.image, 'influxdb:1.8', 'InfluxDB 1.8');
  t.ok(services['demo-hook'], 'demo registration hook');
  t.equal(sidecar.build?.dockerfile, 'docker/Dockerfile', 'sidecar built from docker/Dockerfile');
  t.equal(path.resolve(dockerDir, sidecar.build?.context ?? ''), root, 'with the repository as context');
  t.end();
});

test('docker: every variable set for the sidecar is one the config reads, and together they load', (t) => {
  const known = new Set(knownVariableNames());
  const unknown = [...Object.keys(sidecarEnv), ...Object.keys(dockerfileEnv())].filter((name) => !known.has(name));
  t.deepEqual(unknown, [], 'no unknown variable in docker-compose.yml or the Dockerfile');
  t.doesNotThrow(() => loadConfig({ ...dockerfileEnv(), ...sidecarEnv }), 'loadConfig accepts the compose environment');
  t.end();
});

test('docker: .env.example lists only variables the config reads', (t) => {
  const known = new Set(knownVariableNames());
  const listed = [...fs.readFileSync(path.join(root, '.env.example'), 'utf8').matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
  t.ok(listed.length > 50, `${listed.length} variables listed`);
  t.deepEqual(listed.filter((name) => !known.has(name)), [], 'none unknown');
  t.end();
});

test('docs/configuration.md: every variable the config reads is named in full (a search for it finds it)', (t) => {
  const reference = fs.readFileSync(path.join(root, 'docs', 'configuration.md'), 'utf8');
  const missing = knownVariableNames().filter((name) => !reference.includes(`\`${name}\``));
  t.deepEqual(missing, [], 'no variable missing from docs/configuration.md, none named only by a suffix');
  t.end();
});

test('docker: host names are compose services', (t) => {
  for (const name of ['DRACHTIO_HOST', 'JAMBONES_MYSQL_HOST', 'JAMBONES_REDIS_HOST', 'JAMBONES_TIME_SERIES_HOST']) {
    t.ok(services[sidecarEnv[name]], `${name}=${sidecarEnv[name]} is a service`);
  }
  t.end();
});

test('docker: ports and credentials agree', (t) => {
  const config = loadConfig({ ...dockerfileEnv(), ...sidecarEnv });
  const admin = /<admin port="(\d+)" secret="([^"]+)">([^<]+)<\/admin>/.exec(drachtioConf);
  t.equal(config.drachtio.port, Number(admin?.[1]), 'DRACHTIO_PORT is drachtio\'s admin port');
  t.equal(config.drachtio.secret, admin?.[2], 'DRACHTIO_SECRET is drachtio\'s admin secret');
  t.equal(admin?.[3], '0.0.0.0', 'drachtio\'s admin port listens beyond the container');
  t.ok(/<contact>sip:\*:5060;transport=udp,tcp<\/contact>/.test(drachtioConf), 'SIP on 5060 udp and tcp');
  t.deepEqual(services.drachtio.ports, ['5060:5060/udp', '5060:5060/tcp'], 'SIP published');
  t.ok(sidecar.ports?.includes(`${config.httpPort}:${config.httpPort}`), 'HTTP_PORT published');
  t.ok(new RegExp(`^EXPOSE ${config.httpPort}$`, 'm').test(finalStage), 'and exposed by the image');
  const mysqlEnv = services.mysql.environment ?? {};
  t.equal(config.mysql.read.port, 3306, 'MySQL port');
  t.equal(config.mysql.read.user, mysqlEnv.MYSQL_USER, 'MySQL user');
  t.equal(config.mysql.read.password, mysqlEnv.MYSQL_PASSWORD, 'MySQL password');
  t.equal(config.mysql.read.database, mysqlEnv.MYSQL_DATABASE, 'MySQL database');
  t.equal(config.redis.port, 6379, 'Redis port');
  t.end();
});

test('docker: MySQL is initialised with db/schema.sql and the demo seed', (t) => {
  const mounts = mountSources(services.mysql);
  const schema = mounts.find((m) => m.target.endsWith('-schema.sql'));
  const seed = mounts.find((m) => m.target.endsWith('-seed.sql'));
  t.equal(schema?.source, schemaPath(), 'the schema the tests load');
  t.ok(schema && seed && schema.target < seed.target, 'schema loads before the seed');
  t.ok(seed && fs.existsSync(seed.source), 'seed file exists');
  const seedSql = fs.readFileSync(seed?.source ?? '', 'utf8');
  const hook = /'http:\/\/([\w-]+):(\d+)(\/\w+)'/.exec(seedSql);
  t.ok(hook && services[hook[1]], 'the seeded registration hook is a compose service');
  t.equal(hook?.[2], services['demo-hook'].environment?.PORT, 'on the port the demo hook listens on');
  t.ok(/'sip\.demo\.test'/.test(seedSql), 'demo realm sip.demo.test');
  for (const service of [services.drachtio, services['demo-hook']]) {
    for (const mount of mountSources(service)) t.ok(fs.existsSync(mount.source), `${path.relative(root, mount.source)} exists`);
  }
  t.end();
});

test('docker: the image is multi-stage, production-only, non-root, with a HEALTHCHECK on /health', (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string; scripts: { start: string } };
  // npm runs the script with `sh -c`; dash forks node instead of becoming it, and npm's SIGTERM would kill only sh.
  t.ok(/^exec node /.test(pkg.scripts.start), 'npm start execs node, so npm\'s signals reach the service');
  t.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2, 'two stages');
  t.ok(/npm ci --omit=dev/.test(finalStage), 'production dependencies only in the final stage');
  t.ok(/COPY --from=build \/app\/dist/.test(finalStage), 'compiled output copied from the build stage');
  t.ok(/^USER node$/m.test(finalStage), 'runs as the node user');
  t.ok(/^HEALTHCHECK [\s\S]*\/health/m.test(finalStage), 'HEALTHCHECK asks /health');
  const startArgs = startCommandNodeArgs();
  t.ok(startArgs.length > 0, `npm start passes node options (${startArgs.join(' ')})`);
  t.ok(finalStage.includes(`CMD ${JSON.stringify(['node', ...startArgs, pkg.main]).replace(/","/g, '", "')}`),
    `starts ${pkg.main} (package.json main) with the node options of npm start`);
  for (const match of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of match[1].split(/\s+/)) t.ok(fs.existsSync(path.join(root, source)), `COPY source ${source} exists`);
  }
  const ignore = fs.readFileSync(path.join(dockerDir, 'Dockerfile.dockerignore'), 'utf8');
  t.ok(/^node_modules$/m.test(ignore) && /^dist$/m.test(ignore), 'node_modules and dist stay out of the context');
  t.end();
});

test('docker: Prometheus scrapes the sidecar; Grafana is provisioned with it and the dashboard', (t) => {
  const config = loadConfig({ ...dockerfileEnv(), ...sidecarEnv });
  const prometheus = services.prometheus;
  const grafana = services.grafana;
  t.ok(prometheus?.image?.startsWith('prom/prometheus:'), 'Prometheus');
  t.ok(grafana?.image?.startsWith('grafana/grafana:'), 'Grafana');
  for (const service of [prometheus, grafana]) {
    for (const mount of mountSources(service)) t.ok(fs.existsSync(mount.source), `${path.relative(root, mount.source)} exists`);
  }
  const promConfigMount = mountSources(prometheus).find((m) => m.target === '/etc/prometheus/prometheus.yml');
  const promConfig = parse(fs.readFileSync(promConfigMount?.source ?? '', 'utf8')) as
    { scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] };
  const job = promConfig.scrape_configs.find((c) => c.job_name === 'sip-sidecar');
  t.deepEqual(job?.static_configs.flatMap((c) => c.targets), [`sidecar:${config.httpPort}`], 'scrapes the sidecar service on HTTP_PORT');
  t.equal(job?.metrics_path ?? '/metrics', '/metrics', 'at /metrics');

  const mountOf = (suffix: string) => mountSources(grafana).find((m) => m.source.endsWith(suffix));
  const datasourceDir = mountOf(path.join('grafana', 'provisioning', 'datasources'));
  const dashboardsProvider = mountOf(path.join('grafana', 'provisioning', 'dashboards'));
  const dashboardsDir = mountOf(path.join('grafana', 'dashboards'));
  t.equal(datasourceDir?.target, '/etc/grafana/provisioning/datasources', 'datasources provisioned');
  t.equal(dashboardsProvider?.target, '/etc/grafana/provisioning/dashboards', 'dashboard provider provisioned');
  const datasources = fs.readdirSync(datasourceDir?.source ?? '').flatMap((file) =>
    (parse(fs.readFileSync(path.join(datasourceDir?.source ?? '', file), 'utf8')) as { datasources: { uid: string; type: string; url: string }[] }).datasources);
  const source = datasources.find((d) => d.type === 'prometheus');
  const url = new URL(source?.url ?? 'http://invalid');
  t.ok(services[url.hostname] === prometheus, `the datasource points at the prometheus service (${source?.url})`);
  t.equal(url.port, '9090', 'on Prometheus\' port');
  const providers = fs.readdirSync(dashboardsProvider?.source ?? '').flatMap((file) =>
    (parse(fs.readFileSync(path.join(dashboardsProvider?.source ?? '', file), 'utf8')) as { providers: { options: { path: string } }[] }).providers);
  t.ok(providers.some((p) => p.options.path === dashboardsDir?.target), 'the provider loads the mounted dashboards directory');
  const dashboards = fs.readdirSync(dashboardsDir?.source ?? '').filter((file) => file.endsWith('.json'));
  t.deepEqual(dashboards, ['sip-sidecar.json'], 'the sip-sidecar dashboard');
  const dashboard = JSON.parse(fs.readFileSync(path.join(dashboardsDir?.source ?? '', 'sip-sidecar.json'), 'utf8')) as
    { panels: { title: string; type: string; datasource?: { uid: string } }[] };
  const wrong = dashboard.panels.filter((p) => p.type !== 'row' && p.datasource?.uid !== source?.uid).map((p) => p.title);
  t.deepEqual(wrong, [], `every panel queries the provisioned datasource (uid ${source?.uid})`);
  const hostPorts = Object.values(services).flatMap((service) => (service.ports ?? []).map((port) => port.split(':')[0] + (port.includes('/udp') ? '/udp' : '')));
  t.equal(new Set(hostPorts).size, hostPorts.length, `no host port published twice (${hostPorts.join(', ')})`);
  t.end();
});
