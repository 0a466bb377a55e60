/**
 * `npm run bench`: drives the built service with sipp through the drachtio stand-in (or a real
 * drachtio-server with --drachtio host:port:secret) and writes BENCHMARKS.md and bench-results.json.
 * Every figure is the median of 3 runs; CPU per operation is the service process's own CPU time
 * (from /proc) divided by the operations it answered, so it does not depend on the stand-in's speed.
 */
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import { execSync } from 'node:child_process';

process.env.MYSQL_TEST_DATABASE ??= 'jambones_bench';
process.env.REDIS_TEST_DB ??= '8';

/* eslint-disable @typescript-eslint/no-require-imports -- the test helpers read the env above when loaded */
const { DrachtioStandIn } = require('../test/support/drachtio') as typeof import('../test/support/drachtio');
const { createTestDatabase, dropTestDatabase, TestDb } = require('../test/support/test-db') as typeof import('../test/support/test-db');
const { createTestRedis } = require('../test/support/test-redis') as typeof import('../test/support/test-redis');
const { startService, baseServiceEnv, connectedToDrachtio } = require('../test/support/service') as typeof import('../test/support/service');
/* eslint-enable @typescript-eslint/no-require-imports */
import { runLoad, median, percentile, LoadResult } from './sipp-load';
import { cpuSeconds, memoryMb } from './process-stats';
import { authScenario, refreshScenario, optionsScenario, REFRESHES_PER_CALL } from './scenarios';

const REALM = 'bench.example.com';
const USERS = Array.from({ length: 2000 }, (_, i) => [`user${i}`, REALM]);
const RUNS = 3;

interface Measured { rate: number; cpuMsPerOp: number; failures: number; ops: number; seconds: number }

async function main(): Promise<void> {
  const drachtioArg = process.argv.find((a) => a.startsWith('--drachtio='))?.split('=')[1]
    ?? (process.argv.includes('--drachtio') ? process.argv[process.argv.indexOf('--drachtio') + 1] : undefined);
  const standIn = drachtioArg ? undefined : new DrachtioStandIn({ secret: 'cymru' });
  await standIn?.start();
  const [dHost, dPort, dSecret] = drachtioArg ? drachtioArg.split(':') : ['127.0.0.1', String(standIn?.adminPort), 'cymru'];
  const sipTarget = standIn ? `127.0.0.1:${standIn.sipPort}` : (process.env.BENCH_SIP_TARGET ?? `${dHost}:5060`);

  await createTestDatabase();
  const db = await TestDb.connect();
  const hook = await startFastHook();
  await db.seedAccount({ sip_realm: REALM, registration_hook: { url: `http://127.0.0.1:${hook.port}/auth`, method: 'POST' } });
  await db.close();
  const redis = createTestRedis();
  await redis.flushdb();

  const service = startService({
    ...baseServiceEnv({ port: Number(dPort), secret: dSecret }),
    DRACHTIO_HOST: dHost,
    JAMBONES_LOGLEVEL: process.env.BENCH_LOGLEVEL ?? 'info',
    REGISTRAR_RATE_LIMIT: '0',
    REGISTRAR_EXPIRES_JITTER_PERCENT: '0',
    REGISTRAR_NONCE_SECRET: 'bench',
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  const pid = service.proc.pid as number;

  const measure = async (scenarioXml: string, rate: number, seconds: number, opsPerCall: number, ip: string): Promise<{ result: LoadResult; cpu: number }> => {
    const before = cpuSeconds(pid);
    const result = await runLoad({ scenarioXml, target: sipTarget, rate, calls: Math.round(rate * seconds), csv: USERS,
      localIp: ip, timeoutSec: seconds + 20, maxConcurrent: 5000 });
    const cpu = cpuSeconds(pid) - before;
    return { result, cpu: cpu / Math.max(1, result.successful * opsPerCall) };
  };

  log('1/3 authenticated registrations: searching the highest clean rate');
  let best = 0;
  for (const rate of [200, 400, 600, 800, 1000, 1300, 1600, 2000]) {
    const { result } = await measure(authScenario(), rate, 5, 1, '127.0.0.101');
    const failureRatio = result.failed / Math.max(1, result.failed + result.successful);
    const achieved = result.successful / (result.durationMs / 1000);
    log(`  ${rate}/s offered: ${result.successful} ok, ${result.failed} failed, ${achieved.toFixed(0)}/s achieved`);
    if (failureRatio >= 0.001 || achieved < rate * 0.9) break;
    best = rate;
  }
  const auth: Measured[] = [];
  for (let run = 0; run < RUNS; run++) {
    const { result, cpu } = await measure(authScenario(), best, 30, 1, `127.0.0.${110 + run}`);
    auth.push({ rate: result.successful / (result.durationMs / 1000), cpuMsPerOp: cpu * 1000, failures: result.failed, ops: result.successful, seconds: result.durationMs / 1000 });
    log(`  run ${run + 1} at ${best}/s for 30 s: ${result.successful} ok, ${result.failed} failed, ${(cpu * 1000).toFixed(3)} ms CPU each`);
  }
  const latency: number[][] = [];
  for (let run = 0; run < RUNS; run++) {
    const { result } = await measure(authScenario(), Math.max(1, Math.round(best / 2)), 10, 1, `127.0.0.${120 + run}`);
    latency.push([percentile(result.responseTimesMs, 50), percentile(result.responseTimesMs, 95), percentile(result.responseTimesMs, 99)]);
  }
  const authPeak = memoryMb(pid).peak;

  log('2/3 fast-path refreshes');
  const refresh: Measured[] = [];
  const authCpu = median(auth.map((a) => a.cpuMsPerOp)) / 1000;
  const refreshCallRate = 100;
  for (let run = 0; run < RUNS; run++) {
    const before = cpuSeconds(pid);
    const result = await runLoad({ scenarioXml: refreshScenario(), target: sipTarget, rate: refreshCallRate, calls: refreshCallRate * 10,
      csv: USERS, localIp: `127.0.0.${130 + run}`, timeoutSec: 40, maxConcurrent: 5000 });
    const refreshes = result.successful * REFRESHES_PER_CALL;
    const cpu = cpuSeconds(pid) - before - result.successful * authCpu;
    refresh.push({ rate: refreshes / (result.durationMs / 1000), cpuMsPerOp: (cpu / Math.max(1, refreshes)) * 1000, failures: result.failed, ops: refreshes, seconds: result.durationMs / 1000 });
  }

  log('3/3 OPTIONS');
  const options: Measured[] = [];
  for (let run = 0; run < RUNS; run++) {
    const { result, cpu } = await measure(optionsScenario(), 2000, 10, 1, `127.0.0.${140 + run}`);
    options.push({ rate: result.successful / (result.durationMs / 1000), cpuMsPerOp: cpu * 1000, failures: result.failed, ops: result.successful, seconds: result.durationMs / 1000 });
  }
  const memory = memoryMb(pid);
  const liveBindings = await redis.zcard('active-user');

  await service.stop();
  await standIn?.stop();
  await new Promise<void>((resolve) => hook.server.close(() => resolve()));
  await redis.flushdb();
  redis.disconnect();
  await dropTestDatabase();

  const report = {
    date: new Date().toISOString(),
    command: `npm run bench${drachtioArg ? ` -- --drachtio ${dHost}:${dPort}:***` : ''}`,
    machine: machine(),
    drachtio: drachtioArg ? 'real drachtio-server' : 'test stand-in (test/support/drachtio)',
    auth: { bestCleanRate: best, runs: auth, medianRate: median(auth.map((a) => a.rate)), medianCpuMsPerOp: median(auth.map((a) => a.cpuMsPerOp)),
      latencyAtHalfRateMs: { p50: median(latency.map((l) => l[0])), p95: median(latency.map((l) => l[1])), p99: median(latency.map((l) => l[2])) } },
    refresh: { runs: refresh, medianRate: median(refresh.map((r) => r.rate)), medianCpuMsPerOp: median(refresh.map((r) => r.cpuMsPerOp)) },
    options: { runs: options, medianRate: median(options.map((o) => o.rate)), medianCpuMsPerOp: median(options.map((o) => o.cpuMsPerOp)) },
    memory: { peakRssMbDuringAuth: authPeak, peakRssMb: memory.peak, rssMbAtEnd: memory.current, liveBindingsAtEnd: liveBindings },
  };
  fs.writeFileSync('bench-results.json', `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync('BENCHMARKS.md', markdown(report));
  log('wrote BENCHMARKS.md and bench-results.json');
}

function machine(): Record<string, string | number> {
  const sipp = (() => { try { return execSync('sipp -v 2>&1 | grep -m1 SIPp').toString().trim(); } catch { return 'unknown'; } })();
  return { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version, os: `${os.type()} ${os.release()}`, sipp };
}

async function startFastHook(): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"ok"}');
    });
  });
  server.keepAliveTimeout = 60000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

type Report = {
  date: string; command: string; machine: Record<string, string | number>; drachtio: string;
  auth: { bestCleanRate: number; medianRate: number; medianCpuMsPerOp: number; latencyAtHalfRateMs: { p50: number; p95: number; p99: number } };
  refresh: { medianRate: number; medianCpuMsPerOp: number };
  options: { medianRate: number; medianCpuMsPerOp: number };
  memory: { peakRssMbDuringAuth: number; peakRssMb: number; rssMbAtEnd: number; liveBindingsAtEnd: number };
};

function markdown(r: Report): string {
  const f = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
  return `# Benchmarks

Produced by \`${r.command}\` on ${r.date}. Each figure is the median of 3 runs. SIP load: sipp 3.6 over UDP from
loopback addresses, through the ${r.drachtio}, to the built service (\`dist/app.js\`) with a local registration hook
that approves every request. CPU per operation is the service process's own user+system CPU time (from
\`/proc/<pid>/stat\`) over the operations it answered.

Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB, ${r.machine.os}, Node ${r.machine.node}, ${r.machine.sipp}.

| Measure | Result | Target |
|---|---|---|
| Authenticated registrations (401 + 200, 2,000 distinct users): highest rate with < 0.1 % failures (5 s steps) | ${r.auth.bestCleanRate}/s offered, ${f(r.auth.medianRate, 0)}/s achieved over 30 s | (reference: ~875/s) |
| CPU per authenticated registration | ${f(r.auth.medianCpuMsPerOp)} ms | ≤ 0.4 ms (reference 1.1–1.5 ms) |
| Latency at half that rate, p50 / p95 / p99 | ${f(r.auth.latencyAtHalfRateMs.p50, 1)} / ${f(r.auth.latencyAtHalfRateMs.p95, 1)} / ${f(r.auth.latencyAtHalfRateMs.p99, 1)} ms | p99 < 20 ms |
| Fast-path refreshes answered | ${f(r.refresh.medianRate, 0)}/s (offered load, not a ceiling) | |
| CPU per fast-path refresh | ${f(r.refresh.medianCpuMsPerOp)} ms | ≤ 0.15 ms |
| OPTIONS answered | ${f(r.options.medianRate, 0)}/s (offered 2,000/s) | |
| CPU per OPTIONS | ${f(r.options.medianCpuMsPerOp)} ms | ≤ 0.04 ms |
| Peak RSS during registrations / whole run | ${f(r.memory.peakRssMbDuringAuth, 1)} / ${f(r.memory.peakRssMb, 1)} MB (${r.memory.liveBindingsAtEnd} live bindings at the end) | < 200 MB |
| regbot: 5,000 gateways | not measured yet | < 60 s |

Latency is sipp's time from the first REGISTER to the 200 (two round trips, including the hook call).
The raw numbers of every run are in \`bench-results.json\`.
`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
