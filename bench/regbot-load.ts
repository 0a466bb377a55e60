/**
 * The regbot phase of the benchmark: thousands of carriers that require registration, answered by a few
 * sipp UAS "carriers" that challenge every REGISTER with a 401 and grant a short expiry in the 200, so the
 * regbot's refreshes fall inside the steady-state window. Measured per run (a fresh service each time):
 * how long until every register_status says ok, the service's CPU per 1,000 registered trunks in steady
 * state, and its peak RSS.
 */
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
/* eslint-disable @typescript-eslint/no-require-imports -- the test helpers read MYSQL_TEST_DATABASE/REDIS_TEST_DB when loaded, after run.ts set them */
const { TestDb } = require('../test/support/test-db') as typeof import('../test/support/test-db');
const { startService, baseServiceEnv, connectedToDrachtio } = require('../test/support/service') as typeof import('../test/support/service');
const { findFreePort } = require('../test/support/sipp') as typeof import('../test/support/sipp');
/* eslint-enable @typescript-eslint/no-require-imports */
import type { TestDb as TestDbConnection } from '../test/support/test-db';
import { cpuSeconds, memoryMb } from './process-stats';
import { median } from './sipp-load';

export interface RegbotBenchOptions {
  /** `pid`: the local stand-in's process, whose CPU is reported too (none with a real drachtio-server). */
  drachtio: { host: string; port: number; secret: string; pid?: number };
  redis: Redis;
  gateways: number;
  /** sipp UAS processes sharing the gateways; each answers gateways / carriers Call-IDs. */
  carriers: number;
  /** What the carriers grant in the 200's Contact; the regbot refreshes at about half of it. */
  expiresSec: number;
  steadyWindowSec: number;
  runs: number;
  /** Time allowed for all gateways to register before a run counts as failed. */
  registerTimeoutSec: number;
  /** Directory for V8 CPU profiles of the service (node --cpu-prof); none when undefined. */
  cpuProfileDir?: string;
  log: (line: string) => void;
}

export interface RegbotRun {
  /** From spawning the service until every register_status says ok (NaN when the timeout hit). */
  secondsFromStart: number;
  /** From the regbot's first reconcile (its first REGISTERs) until every register_status says ok. */
  secondsFromFirstRegister: number;
  registered: number;
  /** Service CPU over the steady-state window, per second of window and per 1,000 registered trunks. */
  cpuMsPerSecondPer1000Trunks: number;
  /** Successful refreshes (401 + 200 exchanges) the service logged inside the window. */
  refreshesInWindow: number;
  cpuMsPerRefresh: number;
  peakRssMb: number;
  /**
   * CPU seconds until every trunk had registered: the service's, and this process's (which hosts the
   * drachtio stand-in that carries every REGISTER), to tell which side limits the start-up.
   */
  serviceCpuSecondsToRegister: number;
  standInCpuSecondsToRegister?: number;
  /** RSS when every trunk had registered, and at the end of the steady-state window. */
  rssMbAllRegistered: number;
  rssMbSteady: number;
  /** V8 heap in use and total, and memory outside the heap (Buffers), from the service's /metrics at the end. */
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

export interface RegbotResult {
  gateways: number;
  carriers: number;
  expiresSec: number;
  steadyWindowSec: number;
  pacing: string;
  runs: RegbotRun[];
  medianSecondsFromStart: number;
  medianSecondsFromFirstRegister: number;
  medianCpuMsPerSecondPer1000Trunks: number;
  medianCpuMsPerRefresh: number;
  medianPeakRssMb: number;
  medianRssMbSteady: number;
  medianHeapUsedMb: number;
  medianHeapTotalMb: number;
  medianServiceCpuSecondsToRegister: number;
  /** The stand-in's CPU until all were registered; undefined against a real drachtio-server. */
  medianStandInCpuSecondsToRegister?: number;
}

const REALM = 'carrier.bench.example.com';
const PASSWORD = 'bench-pw';
const OK_PREFIX = '{"status":"ok"';

export async function runRegbotBench(opts: RegbotBenchOptions): Promise<RegbotResult> {
  const carriers = await startCarriers(opts.carriers, opts.expiresSec);
  const db = await TestDb.connect();
  try {
    await db.truncateAll();
    const trunks = Array.from({ length: opts.gateways }, (_, i) => ({
      username: `trunk${i}`, password: PASSWORD, realm: REALM, ipv4: '127.0.0.1', port: carriers[i % carriers.length].port,
    }));
    const seeded = Date.now();
    await db.seedRegisteringCarriers(trunks);
    opts.log(`  seeded ${opts.gateways} carriers + gateways in ${Date.now() - seeded} ms; ${carriers.length} sipp carriers`);
    const runs: RegbotRun[] = [];
    for (let run = 0; run < opts.runs; run++) {
      await db.exec('UPDATE voip_carriers SET register_status = NULL');
      await opts.redis.flushdb();
      runs.push(await measureRun(db, opts, run));
      const r = runs[runs.length - 1];
      opts.log(`  run ${run + 1}: all ${r.registered} ok ${r.secondsFromStart.toFixed(1)} s after start (${r.secondsFromFirstRegister.toFixed(1)} s after the first REGISTERs); `
        + `steady ${r.cpuMsPerSecondPer1000Trunks.toFixed(1)} ms CPU/s per 1,000 trunks, ${r.refreshesInWindow} refreshes in ${opts.steadyWindowSec} s `
        + `(${r.cpuMsPerRefresh.toFixed(3)} ms each); CPU until all registered: service ${r.serviceCpuSecondsToRegister.toFixed(1)} s, stand-in ${r.standInCpuSecondsToRegister?.toFixed(1) ?? 'n/a'} s; RSS peak ${r.peakRssMb.toFixed(1)} MB, ${r.rssMbAllRegistered.toFixed(1)} MB when all registered, `
        + `${r.rssMbSteady.toFixed(1)} MB at the end (V8 heap ${r.heapUsedMb.toFixed(1)} used / ${r.heapTotalMb.toFixed(1)} MB, external ${r.externalMb.toFixed(1)} MB)`);
    }
    await db.truncateAll();
    return {
      gateways: opts.gateways, carriers: opts.carriers, expiresSec: opts.expiresSec, steadyWindowSec: opts.steadyWindowSec,
      pacing: 'off (REGBOT_NEW_PER_SECOND=0)', runs,
      medianSecondsFromStart: median(runs.map((r) => r.secondsFromStart)),
      medianSecondsFromFirstRegister: median(runs.map((r) => r.secondsFromFirstRegister)),
      medianCpuMsPerSecondPer1000Trunks: median(runs.map((r) => r.cpuMsPerSecondPer1000Trunks)),
      medianCpuMsPerRefresh: median(runs.map((r) => r.cpuMsPerRefresh)),
      medianPeakRssMb: median(runs.map((r) => r.peakRssMb)),
      medianRssMbSteady: median(runs.map((r) => r.rssMbSteady)),
      medianHeapUsedMb: median(runs.map((r) => r.heapUsedMb)),
      medianHeapTotalMb: median(runs.map((r) => r.heapTotalMb)),
      medianServiceCpuSecondsToRegister: median(runs.map((r) => r.serviceCpuSecondsToRegister)),
      medianStandInCpuSecondsToRegister: opts.drachtio.pid === undefined ? undefined : median(runs.map((r) => r.standInCpuSecondsToRegister ?? 0)),
    };
  } finally {
    await db.close();
    for (const carrier of carriers) carrier.proc.kill('SIGTERM');
    for (const carrier of carriers) fs.rmSync(carrier.dir, { recursive: true, force: true });
  }
}

async function measureRun(db: TestDbConnection, opts: RegbotBenchOptions, run: number): Promise<RegbotRun> {
  const httpPort = await findFreePort();
  const started = Date.now();
  const service = startService({
    HTTP_PORT: String(httpPort),
    ...baseServiceEnv({ port: opts.drachtio.port, secret: opts.drachtio.secret }),
    DRACHTIO_HOST: opts.drachtio.host,
    JAMBONES_LOGLEVEL: 'info',
    // pacing off as issue 8 asks; BENCH_REGBOT_NEW_PER_SECOND only for experiments
    REGBOT_NEW_PER_SECOND: process.env.BENCH_REGBOT_NEW_PER_SECOND ?? '0',
    // each run starts from scratch; 5,000 un-REGISTERs at shutdown would only slow the bench down
    REGBOT_UNREGISTER_ON_SHUTDOWN: '0',
  }, { nodeArgs: [
    ...(opts.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfileDir, '--cpu-prof-name', `regbot-run${run + 1}.cpuprofile`] : []),
    // e.g. "--heapsnapshot-signal=SIGUSR2" to look at the service's heap during the steady-state window
    ...(process.env.BENCH_SERVICE_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ] });
  try {
    await service.waitForLog(connectedToDrachtio, 15000);
    const pid = service.proc.pid as number;
    const standInCpuBefore = opts.drachtio.pid === undefined ? 0 : cpuSeconds(opts.drachtio.pid);
    const allOkAt = await waitAllRegistered(db, opts.gateways, opts.registerTimeoutSec * 1000);
    const reconciled = service.logs.find((l) => l.msg === 'regbot: reconciled');
    // pino writes ISO times; the reconcile that starts every registration logs right after scheduling them
    const firstRegisterAt = typeof reconciled?.time === 'string' ? Date.parse(reconciled.time) : started;
    const registered = await countOk(db);
    const serviceCpuSecondsToRegister = cpuSeconds(pid);
    const standInCpu = opts.drachtio.pid === undefined ? undefined : cpuSeconds(opts.drachtio.pid) - standInCpuBefore;
    const rssMbAllRegistered = memoryMb(pid).current;

    const logsBefore = service.logs.length;
    const cpuBefore = cpuSeconds(pid);
    await sleep(opts.steadyWindowSec * 1000);
    const cpu = cpuSeconds(pid) - cpuBefore;
    // log lines reach us within 100 ms; the few at the window's edges do not move the figure
    const refreshes = service.logs.slice(logsBefore).filter((l) => l.msg === 'regbot: registered').length;
    const { peak: peakRssMb, current: rssMbSteady } = memoryMb(pid);
    const heap = await heapFigures(httpPort);
    const thousands = Math.max(1, registered) / 1000;
    return {
      secondsFromStart: allOkAt === undefined ? NaN : (allOkAt - started) / 1000,
      secondsFromFirstRegister: allOkAt === undefined ? NaN : (allOkAt - firstRegisterAt) / 1000,
      registered,
      cpuMsPerSecondPer1000Trunks: (cpu * 1000) / opts.steadyWindowSec / thousands,
      refreshesInWindow: refreshes,
      cpuMsPerRefresh: (cpu * 1000) / Math.max(1, refreshes),
      peakRssMb,
      serviceCpuSecondsToRegister,
      standInCpuSecondsToRegister: standInCpu,
      rssMbAllRegistered,
      rssMbSteady,
      ...heap,
    };
  } finally {
    await service.stop();
  }
}

/** From prom-client's default metrics; NaN when the ops server does not answer. */
async function heapFigures(httpPort: number): Promise<{ heapUsedMb: number; heapTotalMb: number; externalMb: number }> {
  const text = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((res) => res.text()).catch(() => '');
  const mb = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { heapUsedMb: mb('nodejs_heap_size_used_bytes'), heapTotalMb: mb('nodejs_heap_size_total_bytes'), externalMb: mb('nodejs_external_memory_bytes') };
}

/** Polls MySQL until `expected` carriers say ok; returns when (ms since epoch), or undefined on timeout. */
async function waitAllRegistered(db: TestDbConnection, expected: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await countOk(db) >= expected) return Date.now();
    await sleep(200);
  }
  return undefined;
}

async function countOk(db: TestDbConnection): Promise<number> {
  return db.count('voip_carriers', 'register_status LIKE ?', [`${OK_PREFIX}%`]);
}

interface CarrierProcess {
  proc: ChildProcess;
  port: number;
  dir: string;
}

/** sipp UAS carriers on 127.0.0.1, without message traces (they would slow sipp more than the service). */
async function startCarriers(count: number, expiresSec: number): Promise<CarrierProcess[]> {
  const carriers: CarrierProcess[] = [];
  for (let i = 0; i < count; i++) {
    const port = await findFreePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-bench-carrier-'));
    const scenario = path.join(dir, 'carrier.xml');
    fs.writeFileSync(scenario, carrierScenario());
    const proc = spawn('sipp', ['-sf', scenario, '-i', '127.0.0.1', '-p', String(port), '-t', 'u1', '-nostdin',
      '-key', 'expires', String(expiresSec), '-timeout', '3600s', '-max_recv_loops', '10000', '-max_sched_loops', '10000'],
    { cwd: dir, stdio: 'ignore' });
    carriers.push({ proc, port, dir });
  }
  await sleep(500);
  for (const carrier of carriers) {
    if (carrier.proc.exitCode !== null) throw new Error(`sipp carrier on port ${carrier.port} exited (${carrier.proc.exitCode})`);
  }
  return carriers;
}

const HEAD = ['[last_Via:]', '[last_From:]', '[last_To:];tag=[pid]SIPpTag01[call_number]', '[last_Call-ID:]', '[last_CSeq:]'];

/**
 * One sipp call per Call-ID (the regbot keeps its Call-ID for every refresh): every REGISTER is challenged
 * with a 401, the authenticated retry gets a 200 whose Contact echoes ours with expires=[expires], and the
 * call loops for the next refresh. The digest is not verified: sipp cannot for our per-trunk users, and
 * the regbot's digest is covered by the e2e tests.
 */
export function carrierScenario(): string {
  const response = (status: string, extra: string[]) => ['  <send><![CDATA[',
    ...[status, ...HEAD, ...extra, 'Content-Length: 0', '', ''].map((line) => `      ${line}`), '  ]]></send>'];
  return ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="bench-carrier">',
    '  <label id="loop"/>',
    '  <recv request="REGISTER"/>',
    ...response('SIP/2.0 401 Unauthorized', ['WWW-Authenticate: Digest realm="carrier.bench", nonce="n[call_number]x[cseq]", algorithm=MD5']),
    '  <recv request="REGISTER">',
    '    <action><ereg regexp="&lt;([^>]*)>" search_in="hdr" header="Contact:" assign_to="contact,uri"/></action>',
    '  </recv>',
    ...response('SIP/2.0 200 OK', ['Contact: <[$uri]>;expires=[expires]']),
    '  <Reference variables="contact"/>',
    '  <nop next="loop"/>',
    '</scenario>', ''].join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
