/**
 * `npm run bench`: drives the built service with sipp through the drachtio stand-in (or a real
 * drachtio-server with --drachtio host:port:secret) and writes BENCHMARKS.md and bench-results.json.
 * Every figure is the median of 3 runs; CPU per operation is the service process's own CPU time
 * (from /proc) divided by the operations it answered, so it does not depend on the stand-in's speed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execSync } from 'node:child_process';

process.env.MYSQL_TEST_DATABASE ??= 'jambones_bench';
process.env.REDIS_TEST_DB ??= '8';

/* eslint-disable @typescript-eslint/no-require-imports -- the test helpers read the env above when loaded */
const { createTestDatabase, dropTestDatabase, TestDb } = require('../test/support/test-db') as typeof import('../test/support/test-db');
const { createTestRedis } = require('../test/support/test-redis') as typeof import('../test/support/test-redis');
const { startService, connectedToDrachtio, startCommandNodeArgs } = require('../test/support/service') as typeof import('../test/support/service');
/* eslint-enable @typescript-eslint/no-require-imports */
import { runLoad, median, percentile, LoadResult } from './sipp-load';
import { cpuTimes, memoryMb } from './process-stats';
import { authScenario, refreshScenario, optionsScenario, REFRESHES_PER_CALL } from './scenarios';
import { runRegbotBench, RegbotResult } from './regbot-load';
import { runBindingsBench, BindingsResult } from './bindings-load';
import { runDurableBench, DurableResult, durableRow, durableNotes } from './durable-load';
import { runFloorComparison, FloorComparison } from './floor-comparison';
import { floorSection } from './floor-report';
import { benchServiceEnv, fixed, startHelper } from './bench-processes';

const REALM = 'bench.example.com';
const USERS = Array.from({ length: 2000 }, (_, i) => [`user${i}`, REALM]);
/** `--runs N` for quicker iterations; the published figures are medians of 3. */
const RUNS = Number(argValue('runs') ?? 3);

/** `systemShare`: the part of the service's CPU spent in the kernel (socket reads and writes, mostly). */
interface Measured { rate: number; cpuMsPerOp: number; failures: number; ops: number; seconds: number; systemShare?: number }

const PHASES = ['registrar', 'floor', 'regbot', 'bindings', 'durable'] as const;
type Phase = typeof PHASES[number];

/** `--name value` or `--name=value`. */
function argValue(name: string): string | undefined {
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** `--only regbot,bindings` runs only those phases; the others keep their figures from bench-results.json. */
function selectedPhases(): Set<Phase> {
  const only = argValue('only');
  if (!only) return new Set(PHASES);
  const names = only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(PHASES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`--only: unknown phase ${unknown.join(', ')} (phases: ${PHASES.join(', ')})`);
  return new Set(names as Phase[]);
}

interface Drachtio { host: string; port: number; secret: string; sipTarget: string; pid?: number }

async function main(): Promise<void> {
  if (process.argv.includes('--report-only')) {
    // BENCHMARKS.md again from bench-results.json, e.g. after merging figures by hand
    fs.writeFileSync('BENCHMARKS.md', markdown(readPreviousReport()));
    log('wrote BENCHMARKS.md from bench-results.json');
    return;
  }
  const phases = selectedPhases();
  const drachtioArg = argValue('drachtio');
  const standIn = drachtioArg ? undefined : await startStandInProcess('cymru');
  const [dHost, dPort, dSecret] = drachtioArg ? drachtioArg.split(':') : ['127.0.0.1', String(standIn?.adminPort), 'cymru'];
  const drachtio: Drachtio = { host: dHost, port: Number(dPort), secret: dSecret,
    sipTarget: standIn ? `127.0.0.1:${standIn.sipPort}` : (process.env.BENCH_SIP_TARGET ?? `${dHost}:5060`), pid: standIn?.pid };

  await createTestDatabase();
  const redis = createTestRedis();
  const previous = readPreviousReport();
  const command = `node dist/bench/run.js${drachtioArg ? ` --drachtio ${dHost}:${dPort}:***` : ''}${argValue('only') ? ` --only ${argValue('only')}` : ''}`;
  const report: Partial<Report> = { ...previous, registrarDate: previous.registrarDate ?? previous.date, date: new Date().toISOString(), machine: machine(),
    drachtio: drachtioArg ? 'real drachtio-server' : 'test stand-in (test/support/drachtio)', serviceNodeArgs: startCommandNodeArgs() };
  try {
    if (phases.has('registrar')) {
      Object.assign(report, await registrarPhase(drachtio, redis, argValue('cpu-prof')), { registrarDate: report.date });
    }
    if (phases.has('floor')) {
      // The fixed rates users see, and the highest clean rate of this run's registrar phase (or, with
      // --only floor, the last one found; only the rate is taken from there, never a figure).
      const best = report.auth?.bestCleanRate;
      const rates = (argValue('floor-rates') ?? '100,300').split(',').map(Number).filter((r) => r > 0);
      if (best && !rates.includes(best)) rates.push(best);
      log(`floor: the service against a drachtio-srf app that only challenges and answers, at ${rates.join(', ')}/s`);
      report.floor = { date: new Date().toISOString(), bestCleanRate: best, ...await runFloorComparison({
        drachtio, startHook: startFastHook, rates, seconds: Number(argValue('floor-seconds') ?? 10), runs: RUNS, log,
        serviceNodeArgs: argValue('cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', argValue('cpu-prof') as string] : undefined,
      }) };
    }
    if (phases.has('regbot')) {
      log('4/5 regbot: 5,000 gateways');
      report.regbot = { date: new Date().toISOString(), ...await runRegbotBench({
        drachtio, redis, gateways: 5000, carriers: 5, expiresSec: 60, steadyWindowSec: 30, runs: RUNS, registerTimeoutSec: 120,
        cpuProfileDir: argValue('cpu-prof'), log,
      }) };
    }
    if (phases.has('bindings')) {
      log('5/5 RSS with 100,000 live bindings');
      report.bindings = { date: new Date().toISOString(), ...await runBindingsBench({
        drachtio, redis, liveBindings: 100_000, lapsingBindings: 2000, runs: RUNS, prunerWaitSec: 45, log,
      }) };
    }
    if (phases.has('durable')) {
      log('durable acknowledgement: registrations with REGISTRAR_WAIT_REPLICAS=1 against the same without it');
      report.durable = { date: new Date().toISOString(), ...await runDurableBench({
        drachtio, startHook: startFastHook, rate: 300, seconds: 10, runs: RUNS, log }) };
    }
  } finally {
    await standIn?.stop();
    await redis.flushdb();
    redis.disconnect();
    await dropTestDatabase();
  }
  report.command = command;
  fs.writeFileSync('bench-results.json', `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync('BENCHMARKS.md', markdown(report));
  log('wrote BENCHMARKS.md and bench-results.json');
}

/**
 * The stand-in in its own process, as drachtio-server is: in the bench's process its SIP relaying waited
 * behind the parsing of the service's log lines, which added latency that no real deployment has.
 */
async function startStandInProcess(secret: string): Promise<{ adminPort: number; sipPort: number; pid: number; stop(): Promise<void> }> {
  const main = path.join(__dirname, '..', 'test', 'support', 'drachtio', 'main.js');
  const standIn = await startHelper('drachtio stand-in', [main, '--secret', secret]);
  const ports = JSON.parse(standIn.firstOutput) as { adminPort: number; sipPort: number };
  return { ...ports, pid: standIn.pid, stop: standIn.stop };
}

/** The last report, whose figures stand for the phases left out with --only. */
function readPreviousReport(): Partial<Report> {
  try {
    return JSON.parse(fs.readFileSync('bench-results.json', 'utf8')) as Partial<Report>;
  } catch {
    return {};
  }
}

type RegistrarFigures = Pick<Report, 'auth' | 'refresh' | 'options' | 'memory'>;

/** Phases 1-3: authenticated registrations, fast-path refreshes and OPTIONS against one service. */
async function registrarPhase(drachtio: Drachtio, redis: ReturnType<typeof createTestRedis>, cpuProfileDir?: string): Promise<RegistrarFigures> {
  const { sipTarget } = drachtio;
  const db = await TestDb.connect();
  await db.truncateAll();
  const hook = await startFastHook();
  await db.seedAccount({ sip_realm: REALM, registration_hook: { url: `http://127.0.0.1:${hook.port}/auth`, method: 'POST' } });
  await db.close();
  await redis.flushdb();

  const service = startService(benchServiceEnv(drachtio), { nodeArgs: [
    ...(cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir, '--cpu-prof-name', 'registrar.cpuprofile'] : []),
    ...(process.env.BENCH_SERVICE_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ] });
  await service.waitForLog(connectedToDrachtio, 15000);
  const pid = service.proc.pid as number;
  service.captureLogs(false);

  // Every run starts from no bindings: each run registers from its own source address, so without this every
  // AoR would collect one more binding per run, and later runs would pay for longer binding lists.
  const measure = async (scenarioXml: string, rate: number, seconds: number, opsPerCall: number, ip: string): Promise<{ result: LoadResult; cpu: number; systemShare: number }> => {
    await redis.flushdb();
    const before = cpuTimes(pid);
    const result = await runLoad({ scenarioXml, target: sipTarget, rate, calls: Math.round(rate * seconds), csv: USERS,
      localIp: ip, timeoutSec: seconds + 20, maxConcurrent: 5000 });
    const after = cpuTimes(pid);
    const user = after.user - before.user;
    const system = after.system - before.system;
    return { result, cpu: (user + system) / Math.max(1, result.successful * opsPerCall), systemShare: system / Math.max(1e-9, user + system) };
  };

  /**
   * The highest of `steps` (calls per second) answered for 5 s with < 0.1 % failed calls and at least 90 % of
   * the offered rate; the first step when none is.
   */
  const searchCleanRate = async (scenarioXml: string, steps: number[], ip: string, unit: string): Promise<number> => {
    let found = 0;
    for (const rate of steps) {
      const { result } = await measure(scenarioXml, rate, 5, 1, ip);
      const failureRatio = result.failed / Math.max(1, result.failed + result.successful);
      const achieved = result.successful / (result.durationMs / 1000);
      log(`  ${rate} ${unit}/s offered: ${result.successful} ok, ${result.failed} failed, ${achieved.toFixed(0)}/s achieved`);
      if (failureRatio >= 0.001 || achieved < rate * 0.9) break;
      found = rate;
    }
    return found || steps[0];
  };

  log('1/5 authenticated registrations: searching the highest clean rate');
  let best = await searchCleanRate(authScenario(), [400, 800, 1300, 1600, 2000], '127.0.0.101', 'registrations');
  // The 5 s steps only find a candidate: the rate reported must hold for 30 s with < 0.1 % failures, so a
  // 30 s run that fails more steps the rate down by 20 % (after a pause for the backlog to clear) and starts
  // the runs again, three times at most (the whole bench must stay under 10 minutes). After that the runs stand as
  // measured, and the table shows their failure percentage.
  let auth: Measured[] = [];
  let attempts = 0;
  while (auth.length < RUNS) {
    const { result, cpu, systemShare } = await measure(authScenario(), best, 30, 1, `127.0.0.${110 + (attempts % 10)}`);
    attempts++;
    const run = { rate: result.successful / (result.durationMs / 1000), cpuMsPerOp: cpu * 1000, failures: result.failed, ops: result.successful,
      seconds: result.durationMs / 1000, systemShare };
    log(`  ${best}/s for 30 s: ${result.successful} ok, ${result.failed} failed, ${(cpu * 1000).toFixed(3)} ms CPU each (${(systemShare * 100).toFixed(0)} % system)`);
    if (result.failed / Math.max(1, result.failed + result.successful) >= 0.001 && attempts <= 3) {
      best = Math.round((best * 0.8) / 10) * 10;
      auth = [];
      log(`  not clean over 30 s: pausing 5 s, then ${best}/s`);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      continue;
    }
    auth.push(run);
  }
  const latency: number[][] = [];
  const serviceLatency: number[][] = [];
  const halfRateCpu: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // The service's lines are only collected during the run and read after it, so that reading them takes no CPU from it.
    const chunks: Buffer[] = [];
    const collect = (chunk: Buffer): void => { chunks.push(chunk); };
    service.proc.stdout?.on('data', collect);
    const { result, cpu } = await measure(authScenario(), Math.max(1, Math.round(best / 2)), 10, 1, `127.0.0.${120 + run}`);
    service.proc.stdout?.off('data', collect);
    halfRateCpu.push(cpu * 1000);
    latency.push([percentile(result.responseTimesMs, 50), percentile(result.responseTimesMs, 95), percentile(result.responseTimesMs, 99)]);
    // the service's own time from receiving each REGISTER to answering it, to tell its delays from the stand-in's and sipp's
    const answered = registerLatencies(Buffer.concat(chunks).toString());
    serviceLatency.push([percentile(answered, 50), percentile(answered, 95), percentile(answered, 99)]);
    log(`  latency at ${Math.round(best / 2)}/s: sipp p50/p95/p99 ${latency[run].join('/')} ms; service per REGISTER ${serviceLatency[run].join('/')} ms`);
  }
  const authPeak = memoryMb(pid).peak;

  // CPU per operation falls as the rate rises (more messages per socket read and per event-loop turn), so
  // refreshes and OPTIONS are measured, like registrations, at the highest rate this machine answers cleanly.
  log('2/5 fast-path refreshes: searching the highest clean rate');
  const refreshCalls = await searchCleanRate(refreshScenario(), [200, 350, 500], '127.0.0.129', 'calls (1 registration + 10 refreshes)');
  const refresh: Measured[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Each call registers first: that part's CPU is measured alone at the same call rate and taken off.
    const alone = await measure(authScenario(), refreshCalls, 10, 1, `127.0.0.${130 + run}`);
    const { result, cpu, systemShare } = await measure(refreshScenario(), refreshCalls, 10, 1, `127.0.0.${133 + run}`);
    const refreshes = result.successful * REFRESHES_PER_CALL;
    const cpuMsPerRefresh = ((cpu - alone.cpu) / REFRESHES_PER_CALL) * 1000;
    refresh.push({ rate: refreshes / (result.durationMs / 1000), cpuMsPerOp: cpuMsPerRefresh, failures: result.failed, ops: refreshes,
      seconds: result.durationMs / 1000, systemShare });
    log(`  ${refreshCalls * REFRESHES_PER_CALL} refreshes/s: ${refreshes} ok, ${result.failed} calls failed, ${cpuMsPerRefresh.toFixed(3)} ms CPU each`);
  }

  log('3/5 OPTIONS: searching the highest clean rate');
  const optionsRate = await searchCleanRate(optionsScenario(), [3000, 6000, 10000], '127.0.0.139', 'OPTIONS');
  const options: Measured[] = [];
  for (let run = 0; run < RUNS; run++) {
    const { result, cpu, systemShare } = await measure(optionsScenario(), optionsRate, 10, 1, `127.0.0.${140 + run}`);
    options.push({ rate: result.successful / (result.durationMs / 1000), cpuMsPerOp: cpu * 1000, failures: result.failed, ops: result.successful,
      seconds: result.durationMs / 1000, systemShare });
    log(`  ${optionsRate} OPTIONS/s: ${result.successful} ok, ${result.failed} failed, ${(cpu * 1000).toFixed(3)} ms CPU each`);
  }
  const memory = memoryMb(pid);
  const liveBindings = await redis.zcard('active-user');

  await service.stop();
  await hook.stop();
  await redis.flushdb();

  return {
    auth: { bestCleanRate: best, runs: auth, medianRate: median(auth.map((a) => a.rate)), medianCpuMsPerOp: median(auth.map((a) => a.cpuMsPerOp)),
      latencyAtHalfRateMs: { p50: median(latency.map((l) => l[0])), p95: median(latency.map((l) => l[1])), p99: median(latency.map((l) => l[2])) },
      serviceLatencyAtHalfRateMs: { p50: median(serviceLatency.map((l) => l[0])), p95: median(serviceLatency.map((l) => l[1])), p99: median(serviceLatency.map((l) => l[2])) },
      cpuMsPerOpAtHalfRate: median(halfRateCpu) },
    refresh: { runs: refresh, medianRate: median(refresh.map((r) => r.rate)), medianCpuMsPerOp: median(refresh.map((r) => r.cpuMsPerOp)) },
    options: { runs: options, medianRate: median(options.map((o) => o.rate)), medianCpuMsPerOp: median(options.map((o) => o.cpuMsPerOp)) },
    memory: { peakRssMbDuringAuth: authPeak, peakRssMb: memory.peak, rssMbAtEnd: memory.current, liveBindingsAtEnd: liveBindings },
  };
}

function machine(): Record<string, string | number> {
  const sipp = (() => { try { return execSync('sipp -v 2>&1 | grep -m1 SIPp').toString().trim(); } catch { return 'unknown'; } })();
  return { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version, os: `${os.type()} ${os.release()}`, sipp };
}

/**
 * The registration hook that approves everything, in its own process: a real hook is another server, and
 * sharing the bench's event loop with the stand-in made it the bottleneck (its latency filled the service's
 * in-flight bound, and the service rightly answered 503).
 */
const FAST_HOOK_SOURCE = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"status":"ok"}'); });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

async function startFastHook(): Promise<{ port: number; stop(): Promise<void> }> {
  const hook = await startHelper('bench hook', ['-e', FAST_HOOK_SOURCE]);
  return { port: Number(hook.firstOutput.trim()), stop: hook.stop };
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface Percentiles { p50: number; p95: number; p99: number }

type Report = {
  /** The node options of npm start, which the bench runs the service with. */
  serviceNodeArgs?: string[];
  date: string; command: string; machine: Record<string, string | number>; drachtio: string;
  auth: { bestCleanRate: number; runs: Measured[]; medianRate: number; medianCpuMsPerOp: number; latencyAtHalfRateMs: Percentiles;
    /** The service's own receive-to-answer time per REGISTER (each of the two), from its log lines. */
    serviceLatencyAtHalfRateMs?: Percentiles; cpuMsPerOpAtHalfRate?: number };
  refresh: { runs: Measured[]; medianRate: number; medianCpuMsPerOp: number };
  options: { runs: Measured[]; medianRate: number; medianCpuMsPerOp: number };
  memory: { peakRssMbDuringAuth: number; peakRssMb: number; rssMbAtEnd: number; liveBindingsAtEnd: number };
  /** When the registrar figures (phases 1-3) were measured; `date` is the last run of any phase. */
  registrarDate?: string;
  regbot?: RegbotResult & { date: string };
  bindings?: BindingsResult & { date: string };
  durable?: DurableResult & { date: string };
  floor?: FloorComparison & { date: string; bestCleanRate?: number };
};

const f = fixed;

/** latencyMs of every `register outcome` line in a stretch of the service's stdout. */
function registerLatencies(stdout: string): number[] {
  const latencies: number[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes('"register outcome"')) continue;
    try {
      const parsed = JSON.parse(line) as { latencyMs?: unknown };
      if (typeof parsed.latencyMs === 'number') latencies.push(parsed.latencyMs);
    } catch {
      // a line cut by the start or the end of the collection
    }
  }
  return latencies;
}

function pct(p: Percentiles): string {
  return `${f(p.p50, 1)} / ${f(p.p95, 1)} / ${f(p.p99, 1)}`;
}

function regbotRows(g: Report['regbot']): string {
  if (!g) return '| regbot: 5,000 gateways | not measured yet | < 60 s |\n';
  const trunks = g.gateways.toLocaleString('en-US');
  return `| regbot: ${trunks} gateways registered, pacing off (time from service start until every \`register_status\` says ok) | ${f(g.medianSecondsFromStart, 1)} s (${f(g.medianSecondsFromFirstRegister, 1)} s from the first REGISTERs) | < 60 s |
| regbot: CPU per 1,000 registered trunks in steady state (carriers grant ${g.expiresSec} s, refresh at about half; ${g.steadyWindowSec} s window) | ${f(g.medianCpuMsPerSecondPer1000Trunks, 1)} ms CPU per second (${f(g.medianCpuMsPerSecondPer1000Trunks / 10, 2)} % of one core); ${f(g.medianCpuMsPerRefresh)} ms per refresh (401 + 200) | |
| Peak RSS during regbot, ${trunks} gateways | ${f(g.medianPeakRssMb, 1)} MB | < 200 MB |
`;
}

function bindingsRow(b: Report['bindings']): string {
  if (!b) return '| RSS with 100,000 live bindings | not measured yet | < 200 MB |\n';
  return `| RSS with ${b.liveBindings.toLocaleString('en-US')} live bindings, after a re-mirror + pruner pass over them | ${f(b.medianRssMbAfterPrunerPass, 1)} MB (peak ${f(b.medianPeakRssMb, 1)} MB; Redis holds ${f(b.redisUsedMemoryMb, 0)} MB) | < 200 MB |
`;
}

function markdown(r: Partial<Report>): string {
  if (!r.auth || !r.refresh || !r.options || !r.memory || !r.machine) {
    throw new Error('no registrar figures: run without --only (or with --only registrar) once first');
  }
  const registrarDate = r.registrarDate ?? r.date ?? '';
  // phases run separately (--only) keep the figures of the others, measured by an earlier run
  const phaseDates: Array<[string, string | undefined]> = [['registrar rows', registrarDate], ['floor comparison', r.floor?.date],
    ['regbot rows', r.regbot?.date], ['bindings row', r.bindings?.date], ['durable row', r.durable?.date]];
  const separate = phaseDates.some(([, d]) => d !== undefined && Math.abs(Date.parse(d) - Date.parse(registrarDate)) > 15 * 60_000);
  const when = separate
    ? `(the last run; phases measured by separate runs: ${phaseDates.filter(([, d]) => d).map(([rows, d]) => `${rows} on ${d}`).join(', ')})`
    : `on ${r.date}`;
  return `# Benchmarks

Produced by \`${r.command}\` ${when}. Each figure is the median of 3 runs. SIP load: sipp 3.6 over UDP from
loopback addresses, through the ${r.drachtio}, to the built service (\`dist/app.js\`) with a local registration hook
that approves every request. The service runs with the node options of \`npm start\` (${r.serviceNodeArgs?.join(' ') || 'none'}). CPU per
operation is the service process's own user+system CPU time (from \`/proc/<pid>/stat\`) over the operations it answered.

Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB, ${r.machine.os}, Node ${r.machine.node}, ${r.machine.sipp}.

${floorSection(r.floor)}
| Measure | Result | Target |
|---|---|---|
| Authenticated registrations (401 + 200, 2,000 distinct users): highest rate with < 0.1 % failures over 30 s | ${r.auth.bestCleanRate}/s offered, ${f(r.auth.medianRate, 0)}/s achieved over 30 s, ${f(authFailurePercent(r.auth), 2)} % failed | |
| CPU per authenticated registration | ${f(r.auth.medianCpuMsPerOp)} ms${r.auth.cpuMsPerOpAtHalfRate === undefined ? '' : ` (${f(r.auth.cpuMsPerOpAtHalfRate)} ms at half that rate)`} | ratio to the floor: see above |
| Latency at half that rate, p50 / p95 / p99 | ${pct(r.auth.latencyAtHalfRateMs)} ms${r.auth.serviceLatencyAtHalfRateMs ? ` (the service's own time per REGISTER: ${pct(r.auth.serviceLatencyAtHalfRateMs)} ms)` : ''} | p99 < 20 ms |
| Fast-path refreshes: highest rate with < 0.1 % failures (5 s steps: 2,000, 3,500, 5,000/s) | ${f(r.refresh.medianRate, 0)}/s | |
| CPU per fast-path refresh | ${f(r.refresh.medianCpuMsPerOp)} ms | ratio to the floor: see above |
| OPTIONS: highest rate with < 0.1 % failures (5 s steps: 3,000, 6,000, 10,000/s) | ${f(r.options.medianRate, 0)}/s | |
| CPU per OPTIONS | ${f(r.options.medianCpuMsPerOp)} ms | ratio to the floor: see above |
| Peak RSS during registrations / whole run | ${f(r.memory.peakRssMbDuringAuth, 1)} / ${f(r.memory.peakRssMb, 1)} MB (${r.memory.liveBindingsAtEnd} live bindings at the end) | < 200 MB |
${regbotRows(r.regbot)}${bindingsRow(r.bindings)}${durableRow(r.durable)}
Latency is sipp's time from the first REGISTER to the 200 (two round trips, including the hook call); the service's own
time is from its log lines (received → answered, each REGISTER of the two), so the rest is sipp, the stand-in and the
scheduler of a machine whose two cores run all of them. CPU per operation falls as the rate rises (more messages per socket
read and per event-loop turn), so every CPU figure is taken at the highest clean rate; a fast-path refresh's CPU is a
refresh call's (1 registration + 10 refreshes) minus a registration-only run's at the same call rate, over 10.
${regbotNotes(r.regbot)}${bindingsNotes(r.bindings)}${durableNotes(r.durable)}
The raw numbers of every run are in \`bench-results.json\`.
`;
}

function regbotNotes(g: Report['regbot']): string {
  if (!g) return '';
  return `
regbot: ${g.gateways} carriers with one UDP gateway each, answered by ${g.carriers} sipp UAS carriers that challenge every
REGISTER with a 401 and grant ${g.expiresSec} s in the 200's Contact; a fresh service (and Redis lease) per run, pacing off. Until all
were registered the service used ${f(g.medianServiceCpuSecondsToRegister, 1)} s of CPU${g.medianStandInCpuSecondsToRegister === undefined ? '' : ` and the stand-in
${f(g.medianStandInCpuSecondsToRegister, 1)} s`}. Steady-state CPU is the service's CPU over
${g.steadyWindowSec} s after all are registered, divided by the window and by the registered trunks / 1,000; it scales with the refresh
rate, so a carrier granting 3,600 s costs about ${f(g.expiresSec / 3600 * g.medianCpuMsPerSecondPer1000Trunks, 2)} ms per second per 1,000 trunks. RSS at the end of the window:
${f(g.medianRssMbSteady, 1)} MB, of which the V8 heap is ${f(g.medianHeapTotalMb, 1)} MB with ${f(g.medianHeapUsedMb, 1)} MB in use (mostly garbage not yet collected:
a heap snapshot after GC holds about 28 MB).
`;
}

function bindingsNotes(b: Report['bindings']): string {
  if (!b) return '';
  return `
Bindings: ${b.liveBindings} devices written through the service's own BindingStore (the records, hashes, \`user:\` mirrors
and zsets the REGISTER handler writes; ${f(b.fillSeconds, 0)} s), plus ${b.lapsingBindingsPerRun} that lapse before each run, so the service's
re-mirror and expired-binding pruner (every 30 s) have work; RSS is read once they are gone.
`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/** Failed calls over all the 30 s authenticated-registration runs, in percent. */
function authFailurePercent(auth: Report['auth']): number {
  const failed = auth.runs.reduce((sum, run) => sum + run.failures, 0);
  const total = auth.runs.reduce((sum, run) => sum + run.failures + run.ops, 0);
  return (100 * failed) / Math.max(1, total);
}
