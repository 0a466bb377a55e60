/**
 * Runs the built service (dist/app.js) as a child process, exactly as `npm start` does, and lets tests
 * wait for its log lines and its exit.
 */
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { testDbEnv } from './test-db';
import { testRedisEnv } from './test-redis';
import { Wakeups } from './wakeups';

export interface ServiceLogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface RunningService {
  proc: ChildProcess;
  /** Every stdout line parsed as JSON (non-JSON lines are kept as `{ msg: line }`). */
  logs: ServiceLogLine[];
  stdout(): string;
  stderr(): string;
  waitForLog(match: (line: ServiceLogLine) => boolean, timeoutMs?: number, fromIndex?: number): Promise<ServiceLogLine>;
  /** Sends `signal` and resolves with the exit code (or the signal name) and how long it took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Stops (or resumes) keeping and parsing the service's stdout. The bench turns it off under load: parsing
   * thousands of lines a second in the same machine took CPU from what it measures.
   */
  captureLogs(on: boolean): void;
}

const APP = path.resolve(__dirname, '..', '..', 'app.js');
const PACKAGE_JSON = path.resolve(__dirname, '..', '..', '..', 'package.json');

/**
 * The node options of `npm start` (package.json: `exec node <options> dist/app.js`), so that tests and the bench
 * run the service as it ships. The leading `exec` makes npm's `sh -c` become node, so signals reach the service.
 */
export function startCommandNodeArgs(): string[] {
  const pkg = JSON.parse(fs.readFileSync(PACKAGE_JSON, 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  const node = words[0] === 'exec' ? words.slice(1) : words;
  if (node[0] !== 'node') throw new Error(`npm start does not run node: ${pkg.scripts.start}`);
  return node.slice(1, -1);
}

/** The environment a test service needs: test MySQL and Redis, the given drachtio stand-in. */
export function baseServiceEnv(drachtio: { port: number; secret: string }): Record<string, string> {
  return {
    DRACHTIO_HOST: '127.0.0.1',
    DRACHTIO_PORT: String(drachtio.port),
    DRACHTIO_SECRET: drachtio.secret,
    DRACHTIO_RECONNECT_MAX_DELAY_MS: '500',
    JAMBONES_LOGLEVEL: 'debug',
    ...testDbEnv(),
    ...testRedisEnv(),
  };
}

export interface StartOptions {
  inheritEnv?: boolean;
  nodeArgs?: string[];
  /**
   * Run `npm start` in the repository root, as the README says, instead of node itself. npm then gets its own
   * process group (pgid = its pid), so a test can find every process of the tree, orphans included.
   */
  npmStart?: boolean;
}

export function startService(env: Record<string, string>, opts: StartOptions = {}): RunningService {
  const childEnv: NodeJS.ProcessEnv = opts.inheritEnv === false ? { PATH: process.env.PATH } : { ...process.env };
  for (const key of Object.keys(childEnv)) {
    if (/^(JAMBONES_|DRACHTIO_|ENCRYPTION_SECRET|JWT_SECRET)/.test(key)) delete childEnv[key];
  }
  Object.assign(childEnv, env);
  if (opts.npmStart && opts.nodeArgs) throw new Error('npm start takes no extra node options');
  const proc = opts.npmStart
    ? spawn('npm', ['start'], { cwd: path.dirname(PACKAGE_JSON), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, [...startCommandNodeArgs(), ...(opts.nodeArgs ?? []), APP], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: ServiceLogLine[] = [];
  const wakeups = new Wakeups();
  let out = '';
  let err = '';
  let partial = '';
  let capturing = true;
  proc.stdout?.on('data', (chunk: Buffer) => {
    // Every service's log goes to one file per run, which the last test searches for secrets.
    if (process.env.SERVICE_LOG_FILE) fs.appendFileSync(process.env.SERVICE_LOG_FILE, chunk);
    if (!capturing) return;
    out += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.filter((l) => l.trim().length > 0)) logs.push(parseLine(line));
    wakeups.notify();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      wakeups.notify();
      resolve({ code, signal });
    });
  });

  const waitForLog: RunningService['waitForLog'] = (match, timeoutMs = 10000, fromIndex = 0) =>
    wakeups.until(() => {
      const found = logs.slice(fromIndex).find(match);
      if (!found && proc.exitCode !== null) throw new Error(`service exited (${proc.exitCode}) before the expected log line; stderr: ${err}`);
      return found;
    }, timeoutMs, () => `waiting for a log line; last lines:\n${out.slice(-3000)}`);

  const stop: RunningService['stop'] = async (signal = 'SIGTERM') => {
    const started = Date.now();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    const killer = setTimeout(() => proc.kill('SIGKILL'), 10000);
    const result = await exited;
    clearTimeout(killer);
    return { ...result, ms: Date.now() - started };
  };

  const captureLogs = (on: boolean): void => {
    capturing = on;
    partial = '';
  };
  return { proc, logs, stdout: () => out, stderr: () => err, waitForLog, stop, exited, captureLogs };
}

function parseLine(line: string): ServiceLogLine {
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === 'object') return parsed as ServiceLogLine;
  } catch {
    // not JSON: keep the text
  }
  return { msg: line };
}

export const connectedToDrachtio = (line: ServiceLogLine): boolean => line.msg === 'connected to drachtio-server';
