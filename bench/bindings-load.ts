/**
 * The service's memory with 100,000 live bindings in Redis. Registering that many devices through sipp
 * would take minutes per run, so the bindings are written through the project's own BindingStore, with
 * records shaped as the REGISTER handler builds them: the keys, hashes, legacy `user:<aor>` mirrors and
 * zsets are exactly the service's. A couple of thousand extra bindings lapse within seconds, so that the
 * service's background jobs (legacy re-mirror of lapsed AoRs, then the expired-binding pruner) have real
 * work when they pass over the keyspace; RSS is read after their first pass.
 */
import type Redis from 'ioredis';
/* eslint-disable @typescript-eslint/no-require-imports -- the test helpers read MYSQL_TEST_DATABASE/REDIS_TEST_DB when loaded, after run.ts set them */
const { startService, baseServiceEnv, connectedToDrachtio } = require('../test/support/service') as typeof import('../test/support/service');
const { findFreePort } = require('../test/support/sipp') as typeof import('../test/support/sipp');
/* eslint-enable @typescript-eslint/no-require-imports */
import { BindingStore, BindingInput } from '../lib/store/binding-store';
import { keys } from '../lib/store/keys';
import { memoryMb } from './process-stats';
import { median } from './sipp-load';

export interface BindingsBenchOptions {
  drachtio: { host: string; port: number; secret: string };
  redis: Redis;
  liveBindings: number;
  /** Bindings that expire a second after being written, for the pruner to remove. */
  lapsingBindings: number;
  runs: number;
  /** The pruner's period in the service (app.ts: 30 s) plus slack. */
  prunerWaitSec: number;
  log: (line: string) => void;
}

export interface BindingsRun {
  rssMbAtConnect: number;
  rssMbAfterPrunerPass: number;
  peakRssMb: number;
  secondsUntilPrunerPass: number;
  liveBindings: number;
}

export interface BindingsResult {
  liveBindings: number;
  lapsingBindingsPerRun: number;
  fillSeconds: number;
  redisUsedMemoryMb: number;
  runs: BindingsRun[];
  medianRssMbAfterPrunerPass: number;
  medianPeakRssMb: number;
}

const REALM = 'bindings.bench.example.com';
const WRITE_BATCH = 1000;

export async function runBindingsBench(opts: BindingsBenchOptions): Promise<BindingsResult> {
  const { redis } = opts;
  await redis.flushdb();
  const store = new BindingStore(redis, { maxBindings: 10, overflow: 'evict-oldest' });
  const fillStarted = Date.now();
  await writeBindings(store, 'user', opts.liveBindings, 3600);
  const fillSeconds = (Date.now() - fillStarted) / 1000;
  opts.log(`  wrote ${opts.liveBindings} bindings through BindingStore in ${fillSeconds.toFixed(1)} s`);

  const runs: BindingsRun[] = [];
  for (let run = 0; run < opts.runs; run++) {
    await writeBindings(store, `lapsing${run}-`, opts.lapsingBindings, 1);
    runs.push(await measureRun(opts));
    const r = runs[runs.length - 1];
    opts.log(`  run ${run + 1}: ${r.liveBindings} live; RSS ${r.rssMbAtConnect.toFixed(1)} MB at connect, ${r.rssMbAfterPrunerPass.toFixed(1)} MB after the pruner's pass `
      + `(${r.secondsUntilPrunerPass.toFixed(0)} s), peak ${r.peakRssMb.toFixed(1)} MB`);
  }
  const redisUsedMemoryMb = await usedMemoryMb(redis);
  await redis.flushdb();
  return {
    liveBindings: opts.liveBindings, lapsingBindingsPerRun: opts.lapsingBindings, fillSeconds, redisUsedMemoryMb, runs,
    medianRssMbAfterPrunerPass: median(runs.map((r) => r.rssMbAfterPrunerPass)),
    medianPeakRssMb: median(runs.map((r) => r.peakRssMb)),
  };
}

async function measureRun(opts: BindingsBenchOptions): Promise<BindingsRun> {
  const service = startService({
    // the ops server's default port 3000 may be taken by another service on this machine
    HTTP_PORT: String(await findFreePort()),
    ...baseServiceEnv({ port: opts.drachtio.port, secret: opts.drachtio.secret }),
    DRACHTIO_HOST: opts.drachtio.host,
    JAMBONES_LOGLEVEL: 'info',
  });
  try {
    await service.waitForLog(connectedToDrachtio, 15000);
    const pid = service.proc.pid as number;
    const connectedAt = Date.now();
    const rssMbAtConnect = memoryMb(pid).current;
    const passed = await waitForPrunerPass(opts.redis, opts.liveBindings, opts.prunerWaitSec * 1000);
    if (!passed) throw new Error(`the service did not prune the lapsed bindings within ${opts.prunerWaitSec} s`);
    // the pass ends with the ZREMRANGEBYSCORE we saw; give its replies a moment to be collected
    await sleep(1000);
    const memory = memoryMb(pid);
    return {
      rssMbAtConnect,
      rssMbAfterPrunerPass: memory.current,
      peakRssMb: memory.peak,
      secondsUntilPrunerPass: (Date.now() - connectedAt) / 1000,
      liveBindings: await opts.redis.zcard(keys.activeUsers),
    };
  } finally {
    await service.stop();
  }
}

/** The pruner has passed once no member of `active-user` is past its expiry and only the live ones are left. */
async function waitForPrunerPass(redis: Redis, live: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [lapsed, total] = await Promise.all([redis.zcount(keys.activeUsers, '-inf', Date.now()), redis.zcard(keys.activeUsers)]);
    if (lapsed === 0 && total === live) return true;
    await sleep(500);
  }
  return false;
}

/** `count` devices `<prefix><i>@REALM`, one binding each, written WRITE_BATCH at a time. */
async function writeBindings(store: BindingStore, prefix: string, count: number, expires: number): Promise<void> {
  const now = Date.now();
  for (let start = 0; start < count; start += WRITE_BATCH) {
    const writes: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(count, start + WRITE_BATCH); i++) {
      const user = `${prefix}${i}`;
      writes.push(store.apply(`${user}@${REALM}`, REALM, { upserts: [deviceBinding(user, i, expires, now)] }, now));
    }
    await Promise.all(writes);
  }
}

/** A UDP device behind a NAT address, as the REGISTER handler would store it after a 200. */
function deviceBinding(user: string, i: number, expires: number, now: number): BindingInput {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const port = 5060 + (i % 1000);
  const contact = `sip:${user}@${ip}:${port};transport=udp`;
  const callId = `${user}-bench-call-id@${ip}`;
  return {
    key: contact,
    contact,
    expires,
    callId,
    cseq: 2,
    source: `${ip}:${port}`,
    transport: 'udp',
    legacy: {
      contact,
      sbcAddress: '127.0.0.1:5060',
      protocol: 'udp',
      proxy: `sip:${ip}:${port}`,
      allow_direct_app_calling: true,
      allow_direct_queue_calling: true,
      allow_direct_user_calling: true,
      expiryTime: now + expires * 1000,
      callId,
      receivedOn: '127.0.0.1:5060',
      grantedExpires: expires,
    },
  };
}

async function usedMemoryMb(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 2 ** 20;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
