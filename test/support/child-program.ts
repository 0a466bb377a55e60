/**
 * Third-party programs (baresip, linphonec, kamailio, sipvicious) run by the tests: each in a temporary
 * directory of its own (also its HOME, so nothing of the user's or another run's configuration is read),
 * with its output kept, waited on by what it prints, and stopped by its PID only (other engineers run the
 * same programs on the same machine), with a SIGKILL if SIGTERM is not enough. Every run is bounded in time.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wakeups } from './wakeups';

export interface ProgramRun {
  proc: ChildProcess;
  /** The run's own directory (also its HOME); removed by stop(). */
  dir: string;
  /** stdout and stderr interleaved, as received. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output from `fromIndex` on. */
  waitForOutput(pattern: RegExp, timeoutMs?: number, fromIndex?: number): Promise<RegExpMatchArray>;
  /** Resolves when the program has exited on its own (or rejects after `timeoutMs`). */
  waitForExit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (or `signal`), SIGKILL after `graceMs`; resolves once it has exited; removes its directory. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ProgramOptions {
  /** Arguments, or a function of the run's directory. */
  args: string[] | ((dir: string) => string[]);
  /** Files to write into the run's directory before starting (name → content), or a function of that directory. */
  files?: Record<string, string> | ((dir: string) => Record<string, string>);
  /** Extra environment; HOME is the run's directory unless given. */
  env?: Record<string, string>;
  /** stdin: 'ignore' (default) or 'pipe' for commands. */
  stdin?: 'ignore' | 'pipe';
  /** The run is killed after this long whatever happens (default 60 s). */
  maxRunMs?: number;
  /** Prefix of the run's directory name. */
  name?: string;
}

/** Fails fast, with the package to install, when a program the tests drive is missing. */
export function requireProgram(command: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${command} is not installed (Debian package ${debianPackage}; .ci/run installs it)`);
  return found;
}

export function startProgram(command: string, opts: ProgramOptions): ProgramRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name ?? path.basename(command)}-`));
  const files = typeof opts.files === 'function' ? opts.files(dir) : opts.files ?? {};
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  const args = typeof opts.args === 'function' ? opts.args(dir) : opts.args;
  const proc = spawn(command, args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', ...opts.env },
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const wakeups = new Wakeups();
  const collect = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    wakeups.notify();
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  proc.on('error', (err) => collect(Buffer.from(`\n[spawn error] ${err.message}\n`)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      clearTimeout(guard);
      wakeups.notify();
      resolve({ code, signal });
    });
  });
  // The bound on every run: a program that hangs must not hang the suite.
  const guard = setTimeout(() => proc.kill('SIGKILL'), opts.maxRunMs ?? 60000);

  const running = () => proc.exitCode === null && proc.signalCode === null;
  const describe = () => `${path.basename(command)} output so far:\n${out.slice(-3000)}`;

  return {
    proc,
    dir,
    output: () => out,
    waitForOutput: (pattern, timeoutMs = 10000, fromIndex = 0) => wakeups.until(() => {
      const match = out.slice(fromIndex).match(pattern);
      if (match) return match;
      if (!running()) throw new Error(`${path.basename(command)} exited before printing ${pattern}; ${describe()}`);
      return undefined;
    }, timeoutMs, () => `waiting for ${pattern}; ${describe()}`),
    waitForExit: (timeoutMs = 10000) => wakeups.until(
      () => (running() ? undefined : { code: proc.exitCode, signal: proc.signalCode }), timeoutMs, describe),
    exited,
    stop: async (signal = 'SIGTERM', graceMs = 5000) => {
      if (running()) proc.kill(signal);
      const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(killer);
      fs.rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
}
