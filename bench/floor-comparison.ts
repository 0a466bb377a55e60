/**
 * The service against the floor (bench/floor-app.ts) in one run: the same sipp loads, at the same rates,
 * through the same drachtio, one app connected at a time, the two sides alternating (floor first on odd runs,
 * service first on even ones) so that both see the same machine. Each side's CPU per operation is its own
 * process's user+system time over the operations it answered; the ratio is service / floor.
 *
 * Exchanges: an authenticated registration (REGISTER, 401, REGISTER with credentials, 200), a refresh of a
 * live binding from its address:port with its Contact (REGISTER, 200: the service's fast path), and an
 * OPTIONS (200).
 */
import path from 'node:path';
/* eslint-disable @typescript-eslint/no-require-imports -- the test helpers read MYSQL_TEST_DATABASE/REDIS_TEST_DB when loaded, after run.ts set them */
const { startService, connectedToDrachtio } = require('../test/support/service') as typeof import('../test/support/service');
const { TestDb } = require('../test/support/test-db') as typeof import('../test/support/test-db');
const { createTestRedis } = require('../test/support/test-redis') as typeof import('../test/support/test-redis');
/* eslint-enable @typescript-eslint/no-require-imports */
import { cpuTimes } from './process-stats';
import { authScenario, optionsScenario, primeScenario, refreshOnlyScenario } from './scenarios';
import { median, runLoad } from './sipp-load';
import { breakdown, readProfile } from './profile-breakdown';
import { benchServiceEnv, startHelper } from './bench-processes';
import fs from 'node:fs';
import os from 'node:os';

export type Exchange = 'auth' | 'refresh' | 'options';
export const EXCHANGES: Exchange[] = ['auth', 'refresh', 'options'];
/** The goal of issue #15: the service's CPU per exchange at most this many times the floor's. */
export const GOAL: Record<Exchange, number> = { auth: 1.8, refresh: 1.3, options: 1.3 };

export interface FloorComparisonOptions {
  drachtio: { host: string; port: number; secret: string; sipTarget: string };
  startHook: () => Promise<{ port: number; stop(): Promise<void> }>;
  /** Operations per second of each exchange; the highest clean rate is one of them. */
  rates: number[];
  seconds: number;
  runs: number;
  /** Extra node options for the service (e.g. --cpu-prof). */
  serviceNodeArgs?: string[];
  log: (line: string) => void;
}

export interface SideRun { side: 'floor' | 'service'; rate: number; run: number; exchange: Exchange; cpuMsPerOp: number; ops: number; failures: number }

export interface FloorComparison {
  seconds: number;
  runs: SideRun[];
  /** Per rate and exchange: the medians of each side and their ratio. */
  table: Array<{ rate: number; exchange: Exchange; floorMs: number; serviceMs: number; ratio: number; failures: number }>;
  /** Where the service's CPU per authenticated registration goes, from a CPU profile of a run at `rate`. */
  profile?: { rate: number; components: Array<{ component: string; share: number }> };
}

const REALM = 'floor.bench.example.com';
const USERS = Array.from({ length: 2000 }, (_, i) => [`user${i}`, REALM]);
const WARM_UP_SECONDS = 3;
/** The refreshes' registrations are made at this rate, unmeasured, before the refreshes. */
const PRIME_RATE = 500;
const SIPP_PORT = 15070;

export async function runFloorComparison(opts: FloorComparisonOptions): Promise<FloorComparison> {
  const hook = await opts.startHook();
  const redis = createTestRedis();
  const runs: SideRun[] = [];
  let profile: FloorComparison['profile'];
  try {
    const db = await TestDb.connect();
    await db.truncateAll();
    await db.seedAccount({ sip_realm: REALM, registration_hook: { url: `http://127.0.0.1:${hook.port}/auth`, method: 'POST' } });
    await db.close();
    let address = 0;
    for (const rate of opts.rates) {
      for (let run = 0; run < opts.runs; run++) {
        const sides: Array<'floor' | 'service'> = run % 2 === 0 ? ['floor', 'service'] : ['service', 'floor'];
        for (const side of sides) {
          await redis.flushdb();
          const app = side === 'floor' ? await startFloor(opts) : await startBenchService(opts);
          try {
            // sipp binds port 5060 of its address when it can: a load from the address of an earlier one would
            // repeat its Contacts (a refresh, answered 200 where the scenario expects a 401), so each load has its own.
            const block = address++ % 250;
            const ips = [1, 2, 3, 4].map((net) => `127.${net}.0.${block + 1}`);
            for (const measured of await measureSide(opts, app.pid, rate, ips)) {
              runs.push({ side, rate, run, ...measured });
              opts.log(`  ${rate}/s ${side} ${measured.exchange}: ${measured.ops} ok, ${measured.failures} failed, ${measured.cpuMsPerOp.toFixed(3)} ms CPU each`);
            }
          } finally {
            await app.stop();
          }
        }
      }
    }
    profile = await profileAuth(opts, PROFILE_RATE);
  } finally {
    await hook.stop();
    await redis.flushdb();
    redis.disconnect();
  }
  return { seconds: opts.seconds, runs, table: tabulate(opts.rates, runs), profile };
}

/** The rate of the profiled run: one users see, where the wake-ups of each REGISTER still count. */
const PROFILE_RATE = 300;

/**
 * One more run of the service alone with V8's profiler on (which slows it, so none of the figures above comes
 * from it): authenticated registrations at `rate`, and the share of each component in the CPU it used.
 */
async function profileAuth(opts: FloorComparisonOptions, rate: number): Promise<FloorComparison['profile']> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-profile-'));
  try {
    const app = await startBenchService({ ...opts, serviceNodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
    try {
      const load = (seconds: number, ip: string) => runLoad({ scenarioXml: authScenario(), target: opts.drachtio.sipTarget, rate,
        calls: Math.round(rate * seconds), csv: USERS, localIp: ip, timeoutSec: seconds + 20, maxConcurrent: 5000 });
      await load(WARM_UP_SECONDS, '127.5.0.1');
      await load(opts.seconds, '127.5.0.2');
    } finally {
      await app.stop();
    }
    const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) return undefined;
    const rows = breakdown(readProfile(path.join(dir, file))).filter((row) => !row.component.startsWith('module loading'));
    const total = rows.reduce((sum, row) => sum + row.ms, 0);
    opts.log(`  profiled at ${rate}/s: ${rows.map((row) => `${row.component.split(' (')[0]} ${((100 * row.ms) / total).toFixed(0)} %`).join(', ')}`);
    return { rate, components: rows.map((row) => ({ component: row.component, share: row.ms / total })) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `ips`: one address for the warm-up, one for the registrations, one for the refreshes, one for OPTIONS. */
async function measureSide(opts: FloorComparisonOptions, pid: number, rate: number, ips: string[]): Promise<Array<Omit<SideRun, 'side' | 'rate' | 'run'>>> {
  const target = opts.drachtio.sipTarget;
  const [warmUpIp, authIp, refreshIp, optionsIp] = ips;
  const load = (scenarioXml: string, loadRate: number, seconds: number, ip: string, port?: number) => runLoad({ scenarioXml, target, rate: loadRate,
    calls: Math.round(loadRate * seconds), csv: USERS, localIp: ip, localPort: port, timeoutSec: seconds + 20, maxConcurrent: 5000 });
  const measured = async (exchange: Exchange, run: () => Promise<{ successful: number; failed: number }>) => {
    const before = cpuTimes(pid);
    const result = await run();
    const after = cpuTimes(pid);
    const cpu = after.user - before.user + after.system - before.system;
    return { exchange, cpuMsPerOp: (cpu * 1000) / Math.max(1, result.successful), ops: result.successful, failures: result.failed };
  };
  // A fresh process compiles its hot paths during its first thousands of requests: not what is compared here.
  await load(authScenario(), Math.max(rate, 300), WARM_UP_SECONDS, warmUpIp);
  await load(optionsScenario(), Math.max(rate, 300), 1, warmUpIp);
  const auth = await measured('auth', () => load(authScenario(), rate, opts.seconds, authIp));
  // every user registered once from one address:port and one Contact, then refreshed from there
  await load(primeScenario(), PRIME_RATE, USERS.length / PRIME_RATE, refreshIp, SIPP_PORT);
  const refresh = await measured('refresh', () => load(refreshOnlyScenario(), rate, opts.seconds, refreshIp, SIPP_PORT));
  const options = await measured('options', () => load(optionsScenario(), rate, opts.seconds, optionsIp));
  return [auth, refresh, options];
}

function tabulate(rates: number[], runs: SideRun[]): FloorComparison['table'] {
  const table: FloorComparison['table'] = [];
  for (const rate of rates) {
    for (const exchange of EXCHANGES) {
      const of = (side: SideRun['side']) => runs.filter((r) => r.side === side && r.rate === rate && r.exchange === exchange);
      const floorMs = median(of('floor').map((r) => r.cpuMsPerOp));
      const serviceMs = median(of('service').map((r) => r.cpuMsPerOp));
      const failures = [...of('floor'), ...of('service')].reduce((sum, r) => sum + r.failures, 0);
      table.push({ rate, exchange, floorMs, serviceMs, ratio: serviceMs / floorMs, failures });
    }
  }
  return table;
}

interface App { pid: number; stop(): Promise<void> }

function startFloor(opts: FloorComparisonOptions): Promise<App> {
  const { host, port, secret } = opts.drachtio;
  return startHelper('floor app', [path.join(__dirname, 'floor-app.js'), host, String(port), secret]);
}

async function startBenchService(opts: FloorComparisonOptions): Promise<App> {
  const service = startService({ ...benchServiceEnv(opts.drachtio), HTTP_PORT: '0' }, { nodeArgs: opts.serviceNodeArgs });
  await service.waitForLog(connectedToDrachtio, 15000);
  await service.waitForLog((line) => line.msg === 'redis ready', 5000);
  service.captureLogs(false);
  return { pid: service.proc.pid as number, stop: async () => { await service.stop(); } };
}
