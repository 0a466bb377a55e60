/**
 * sipp under load: only statistics and per-call response times are traced, since a message trace
 * would slow sipp down more than the service under test.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LoadOptions {
  scenarioXml: string;
  target: string;
  rate: number;
  calls: number;
  maxConcurrent?: number;
  csv?: string[][];
  localIp?: string;
  /** sipp's own port (default: one the system picks), for scenarios that must come from the same address:port. */
  localPort?: number;
  timeoutSec: number;
}

export interface LoadResult {
  successful: number;
  failed: number;
  durationMs: number;
  /** Response times (ms) from start_rtd to rtd, one per successful call. */
  responseTimesMs: number[];
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-bench-'));
  const scenario = path.join(dir, 'scenario.xml');
  fs.writeFileSync(scenario, opts.scenarioXml);
  const args = [opts.target, '-sf', scenario, '-t', 'u1', '-r', String(opts.rate), '-m', String(opts.calls),
    '-nostdin', '-trace_stat', '-stf', path.join(dir, 'stat.csv'), '-trace_rtt', '-rtt_freq', '1',
    '-timeout', `${opts.timeoutSec}s`, '-timeout_error', '-max_recv_loops', '10000', '-max_sched_loops', '10000',
    // sipp's default 64 KB socket buffer drops the stand-in's answers in bursts (then resends after 0.5 s)
    '-buff_size', String(4 * 1024 * 1024)];
  if (opts.maxConcurrent) args.push('-l', String(opts.maxConcurrent));
  if (opts.localIp) args.push('-i', opts.localIp);
  if (opts.localPort) args.push('-p', String(opts.localPort));
  if (opts.csv) {
    const csvPath = path.join(dir, 'users.csv');
    fs.writeFileSync(csvPath, ['SEQUENTIAL', ...opts.csv.map((row) => row.join(';'))].join('\n') + '\n');
    args.push('-inf', csvPath);
  }
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const child = spawn('sipp', args, { cwd: dir, stdio: 'ignore' });
    child.on('exit', () => resolve());
  });
  const durationMs = Date.now() - started;
  const result = { ...readStats(path.join(dir, 'stat.csv')), durationMs, responseTimesMs: readRtt(dir) };
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

function readStats(file: string): { successful: number; failed: number } {
  if (!fs.existsSync(file)) return { successful: 0, failed: 0 };
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n');
  const header = rows[0].split(';');
  const last = rows[rows.length - 1].split(';');
  const column = (name: string) => Number(last[header.indexOf(name)] ?? 0);
  return { successful: column('SuccessfulCall(C)'), failed: column('FailedCall(C)') };
}

function readRtt(dir: string): number[] {
  const file = fs.readdirSync(dir).find((name) => name.endsWith('_rtt.csv'));
  if (!file) return [];
  return fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n').slice(1)
    .map((line) => Number(line.split(';')[1])).filter((ms) => Number.isFinite(ms));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values: number[]): number {
  return percentile(values, 50);
}
