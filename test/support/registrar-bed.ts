/**
 * A registrar test bed: drachtio stand-in, a registration hook on localhost, the built service, and
 * clients for the test MySQL database and Redis. Tests seed accounts before `start()` so the service's
 * account cache never holds stale rows.
 */
import fs from 'node:fs';
import type Redis from 'ioredis';
import { DrachtioStandIn } from './drachtio';
import { startHookServer, HookServer } from './hook-server';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from './service';
import { TestDb } from './test-db';
import { createTestRedis, flushTestRedis } from './test-redis';
import { scenarioPath, ScenarioName } from './sipp';

export const DRACHTIO_SECRET = 'cymru';
export const ENCRYPTION_SECRET = 'test-secret';

export interface RegistrarBed {
  standIn: DrachtioStandIn;
  hook: HookServer;
  db: TestDb;
  redis: Redis;
  service?: RunningService;
  target: string;
  startService(env?: Record<string, string>): Promise<RunningService>;
  close(): Promise<void>;
}

export async function createRegistrarBed(opts: { wsPort?: number | false } = {}): Promise<RegistrarBed> {
  const standIn = new DrachtioStandIn({ secret: DRACHTIO_SECRET, wsPort: opts.wsPort ?? false });
  await standIn.start();
  const hook = await startHookServer();
  const db = await TestDb.connect();
  await db.truncateAll();
  const redis = createTestRedis();
  await flushTestRedis(redis);
  const bed: RegistrarBed = {
    standIn,
    hook,
    db,
    redis,
    target: `127.0.0.1:${standIn.sipPort}`,
    async startService(env = {}) {
      const service = startService({
        ...baseServiceEnv({ port: standIn.adminPort, secret: DRACHTIO_SECRET }),
        ENCRYPTION_SECRET,
        // Exact expiries are asserted everywhere; the jitter has its own test.
        REGISTRAR_EXPIRES_JITTER_PERCENT: '0',
        ...env,
      });
      await service.waitForLog(connectedToDrachtio, 15000);
      bed.service = service;
      return service;
    },
    async close() {
      await bed.service?.stop();
      await standIn.stop();
      await hook.stop();
      await flushTestRedis(redis);
      await db.truncateAll();
      await db.close();
      redis.disconnect();
    },
  };
  return bed;
}

/** A packaged scenario with some of its lines replaced, as an inline scenario for runSipp. */
export function scenarioWith(name: ScenarioName, replacements: [string, string][]): string {
  let xml = fs.readFileSync(scenarioPath(name), 'utf8');
  for (const [from, to] of replacements) {
    if (!xml.includes(from)) throw new Error(`scenario ${name} has no "${from}"`);
    xml = xml.split(from).join(to);
  }
  return xml;
}

/** The log lines the service wrote for REGISTER outcomes, newest last. */
export function registerOutcomes(service: RunningService): { status?: number; aor?: string; expires?: number }[] {
  return service.logs.filter((line) => line.msg === 'register outcome') as { status?: number; aor?: string; expires?: number }[];
}
