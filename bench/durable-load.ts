/**
 * The cost of durable acknowledgement (REGISTRAR_WAIT_REPLICAS=1): authenticated registrations against a Redis
 * master with one replica (real redis-server processes of their own, connected directly), once without WAIT and
 * once with it, at the same rate and alternately, so that both see the same machine. CPU per registration is the
 * service's own, as everywhere in the bench; latency is sipp's (REGISTER, 401, REGISTER, 200).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the test helpers read MYSQL_TEST_DATABASE/REDIS_TEST_DB when loaded, after run.ts set them */
const { startService, connectedToDrachtio } = require('../test/support/service') as typeof import('../test/support/service');
const { TestDb } = require('../test/support/test-db') as typeof import('../test/support/test-db');
const { testRedisDb } = require('../test/support/test-redis') as typeof import('../test/support/test-redis');
const { RedisSentinelBed } = require('../test/support/redis-sentinel-bed') as typeof import('../test/support/redis-sentinel-bed');
/* eslint-enable @typescript-eslint/no-require-imports */
import { cpuTimes } from './process-stats';
import { benchServiceEnv, fixed } from './bench-processes';
import { authScenario } from './scenarios';
import { median, percentile, runLoad } from './sipp-load';

export interface DurableBenchOptions {
  drachtio: { host: string; port: number; secret: string; sipTarget: string };
  /** Starts a registration hook that approves everything (run.ts's, in a process of its own). */
  startHook: () => Promise<{ port: number; stop(): Promise<void> }>;
  /** Registrations per second offered in every run. */
  rate: number;
  seconds: number;
  runs: number;
  log: (line: string) => void;
}

interface Percentiles { p50: number; p95: number; p99: number }

export interface DurableRun { wait: boolean; cpuMsPerOp: number; ops: number; failures: number; latencyMs: Percentiles }

export interface DurableResult {
  rate: number;
  seconds: number;
  runs: DurableRun[];
  without: { medianCpuMsPerOp: number; latencyMs: Percentiles };
  with: { medianCpuMsPerOp: number; latencyMs: Percentiles };
}

const REALM = 'durable.bench.example.com';
const WARM_UP_SECONDS = 3;
const USERS = Array.from({ length: 2000 }, (_, i) => [`user${i}`, REALM]);

export async function runDurableBench(opts: DurableBenchOptions): Promise<DurableResult> {
  const redis = await RedisSentinelBed.start({ sentinels: false, links: false });
  const hook = await opts.startHook();
  try {
    const db = await TestDb.connect();
    await db.truncateAll();
    await db.seedAccount({ sip_realm: REALM, registration_hook: { url: `http://127.0.0.1:${hook.port}/auth`, method: 'POST' } });
    await db.close();
    const master = redis.dataNodes[0];
    const runs: DurableRun[] = [];
    for (let run = 0; run < opts.runs; run++) {
      for (const wait of [false, true]) {
        await redis.ask(master.port, (client) => client.flushdb(), testRedisDb());
        runs.push(await measure(opts, master.port, wait, `127.0.0.${150 + run * 2 + (wait ? 1 : 0)}`));
        const last = runs[runs.length - 1];
        opts.log(`  ${wait ? 'with' : 'without'} WAIT: ${last.ops} ok, ${last.failures} failed, ${last.cpuMsPerOp.toFixed(3)} ms CPU each, `
          + `latency p50/p95/p99 ${last.latencyMs.p50}/${last.latencyMs.p95}/${last.latencyMs.p99} ms`);
      }
    }
    return { rate: opts.rate, seconds: opts.seconds, runs, without: summary(runs.filter((r) => !r.wait)), with: summary(runs.filter((r) => r.wait)) };
  } finally {
    await hook.stop();
    await redis.stop();
  }
}

async function measure(opts: DurableBenchOptions, redisPort: number, wait: boolean, localIp: string): Promise<DurableRun> {
  const { drachtio } = opts;
  const service = startService({
    ...benchServiceEnv(drachtio),
    JAMBONES_REDIS_PORT: String(redisPort),
    HTTP_PORT: '0',
    ...(wait ? { REGISTRAR_WAIT_REPLICAS: '1', REGISTRAR_WAIT_TIMEOUT_MS: '200' } : {}),
  });
  try {
    await service.waitForLog(connectedToDrachtio, 15000);
    await service.waitForLog((line) => line.msg === 'redis ready', 5000);
    service.captureLogs(false);
    const pid = service.proc.pid as number;
    const load = (seconds: number) => runLoad({ scenarioXml: authScenario(), target: drachtio.sipTarget, rate: opts.rate,
      calls: Math.round(opts.rate * seconds), csv: USERS, localIp, timeoutSec: seconds + 20, maxConcurrent: 5000 });
    // A fresh process compiles its hot paths during its first thousands of REGISTERs: not what is compared here.
    await load(WARM_UP_SECONDS);
    const before = cpuTimes(pid);
    const result = await load(opts.seconds);
    const after = cpuTimes(pid);
    const cpu = (after.user - before.user + after.system - before.system) / Math.max(1, result.successful);
    const times = result.responseTimesMs;
    return { wait, cpuMsPerOp: cpu * 1000, ops: result.successful, failures: result.failed,
      latencyMs: { p50: percentile(times, 50), p95: percentile(times, 95), p99: percentile(times, 99) } };
  } finally {
    await service.stop();
  }
}

function summary(runs: DurableRun[]): { medianCpuMsPerOp: number; latencyMs: Percentiles } {
  return {
    medianCpuMsPerOp: median(runs.map((r) => r.cpuMsPerOp)),
    latencyMs: { p50: median(runs.map((r) => r.latencyMs.p50)), p95: median(runs.map((r) => r.latencyMs.p95)),
      p99: median(runs.map((r) => r.latencyMs.p99)) },
  };
}

const f = fixed;

/** The BENCHMARKS.md table row. */
export function durableRow(d: (DurableResult & { date: string }) | undefined): string {
  if (!d) return '| Durable acknowledgement (`REGISTRAR_WAIT_REPLICAS=1`): CPU per registration with and without | not measured yet | |\n';
  const side = (wait: boolean) => {
    const runs = d.runs.filter((r) => r.wait === wait).map((r) => r.cpuMsPerOp);
    const s = wait ? d.with : d.without;
    return `${f(s.medianCpuMsPerOp)} ms (runs ${f(Math.min(...runs))}–${f(Math.max(...runs))}), `
      + `${f(s.latencyMs.p50, 0)} / ${f(s.latencyMs.p95, 0)} / ${f(s.latencyMs.p99, 0)} ms`;
  };
  const extra = d.with.medianCpuMsPerOp - d.without.medianCpuMsPerOp;
  return `| Durable acknowledgement (\`REGISTRAR_WAIT_REPLICAS=1\`, one replica) at ${d.rate} registrations/s: CPU per registration, latency p50 / p95 / p99 | with WAIT ${side(true)}; without ${side(false)}; difference ${extra >= 0 ? '+' : ''}${f(extra)} ms | |
`;
}

/** The BENCHMARKS.md note under the table. */
export function durableNotes(d: (DurableResult & { date: string }) | undefined): string {
  if (!d) return '';
  return `
Durable acknowledgement: a Redis master and one replica of the bench's own (\`redis-server\`, no persistence, same machine),
the service connected directly to the master, ${d.seconds} s of authenticated registrations at ${d.rate}/s per run (after ${WARM_UP_SECONDS} s of
warm-up on a fresh service), runs without and with \`REGISTRAR_WAIT_REPLICAS=1\` alternating (${d.runs.length / 2} of each; medians). With it, binding writes go over a second
connection and each batch of them waits for Redis's \`WAIT\` (the replica's acknowledgement) before the 200. A difference
smaller than the spread between runs of the same side is the noise of the machine, not a cost. Compare the two sides with
each other only: this phase may have run on another day and machine than the rows above it (see the dates at the top).
`;
}
