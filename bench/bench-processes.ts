/**
 * What the bench's phases start alike: the service with the bench's settings, and helper processes (the
 * stand-in, the hook, the floor) that say they are ready by printing one line.
 */
import { spawn } from 'node:child_process';
/* eslint-disable @typescript-eslint/no-require-imports -- the test helpers read MYSQL_TEST_DATABASE/REDIS_TEST_DB when loaded, after run.ts set them */
const { baseServiceEnv } = require('../test/support/service') as typeof import('../test/support/service');
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The service's environment in every phase: no per-source rate limit and no storm jitter (sipp sends every
 * user from one address and expects the lifetime it asked for), a fixed nonce secret, info-level logs
 * (`BENCH_LOGLEVEL` to change).
 */
export function benchServiceEnv(drachtio: { host: string; port: number; secret: string }): Record<string, string> {
  return {
    ...baseServiceEnv({ port: drachtio.port, secret: drachtio.secret }),
    DRACHTIO_HOST: drachtio.host,
    JAMBONES_LOGLEVEL: process.env.BENCH_LOGLEVEL ?? 'info',
    REGISTRAR_RATE_LIMIT: '0',
    REGISTRAR_EXPIRES_JITTER_PERCENT: '0',
    REGISTRAR_NONCE_SECRET: 'bench',
  };
}

export interface HelperProcess {
  pid: number;
  /** What the process printed first (its ready line). */
  firstOutput: string;
  stop(): Promise<void>;
}

/** Runs `node <args>` and resolves once it prints its first output; rejects if it exits before. */
export async function startHelper(name: string, args: string[]): Promise<HelperProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const firstOutput = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString()));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { pid: child.pid as number, firstOutput, stop: () => { child.kill('SIGTERM'); return exited; } };
}

/** A figure with `digits` decimals, or n/a. */
export function fixed(n: number | undefined, digits = 3): string {
  return n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}
