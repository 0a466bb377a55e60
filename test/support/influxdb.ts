/**
 * A real InfluxDB 1.x for the alert tests. When something already answers /ping on 127.0.0.1:8086 (CI's,
 * or a developer's) it is used as it is; otherwise `influxd` (Debian package `influxdb`) is started with
 * a throw-away config and data directory, and stopped again by `stop()`.
 *
 * The port is fixed because the service has only JAMBONES_TIME_SERIES_HOST, as jambonz does: the
 * time-series library always talks to port 8086.
 */
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export const INFLUX_HOST = '127.0.0.1';
export const INFLUX_PORT = 8086;
const INFLUXD = process.env.INFLUXD_BIN || '/usr/bin/influxd';

export interface InfluxDbHandle {
  host: string;
  /** True when this helper started influxd (and `stop()` ends it). */
  startedHere: boolean;
  stop(): Promise<void>;
}

/** Resolves true when InfluxDB answers GET /ping with 204. */
export function pingInflux(timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: INFLUX_HOST, port: INFLUX_PORT, path: '/ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 204);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function ensureInfluxDb(startTimeoutMs = 30000): Promise<InfluxDbHandle> {
  if (await pingInflux()) return { host: INFLUX_HOST, startedHere: false, stop: async () => undefined };
  if (!fs.existsSync(INFLUXD)) {
    throw new Error(`no InfluxDB on ${INFLUX_HOST}:${INFLUX_PORT} and no ${INFLUXD}: apt-get install -y influxdb`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'influx-test-'));
  const config = path.join(dir, 'influxdb.conf');
  fs.writeFileSync(config, influxConfig(dir));
  const proc = spawn(INFLUXD, ['run', '-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  await waitUntilUp(proc, startTimeoutMs, () => stderr);
  return {
    host: INFLUX_HOST,
    startedHere: true,
    stop: async () => {
      await stopProcess(proc);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilUp(proc: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`influxd exited (${proc.exitCode}): ${stderr()}`);
    if (await pingInflux(500)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  proc.kill('SIGKILL');
  throw new Error(`influxd did not answer /ping within ${timeoutMs} ms: ${stderr()}`);
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Everything under `dir`, HTTP on 127.0.0.1 only, no usage reporting and little logging. */
function influxConfig(dir: string): string {
  return [
    'reporting-disabled = true',
    'bind-address = "127.0.0.1:0"',
    '[meta]',
    `  dir = "${path.join(dir, 'meta')}"`,
    '[data]',
    `  dir = "${path.join(dir, 'data')}"`,
    `  wal-dir = "${path.join(dir, 'wal')}"`,
    '  query-log-enabled = false',
    '[http]',
    `  bind-address = "${INFLUX_HOST}:${INFLUX_PORT}"`,
    '  log-enabled = false',
    '[monitor]',
    '  store-enabled = false',
    '[logging]',
    '  level = "warn"',
    '',
  ].join('\n');
}
