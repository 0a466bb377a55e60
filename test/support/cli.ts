/**
 * Drives the operator CLI socket in tests: our CLI binary (dist/lib/cli/cli.js) and the request/reply exchange of
 * jambonz's own CLI client.
 */
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';

const CLI = path.resolve(__dirname, '..', '..', 'lib', 'cli', 'cli.js');

export interface CliRun { code: number | null; stdout: string; stderr: string }

/** Runs our CLI with `args` against `socketPath`. */
export function runCli(socketPath: string, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, SBC_SOCKET_PATH: socketPath }, timeout: 10000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

/**
 * One exchange as jambonz's CLI client makes it: connect, write the request line, take the first chunk that
 * arrives as the whole reply (`JSON.parse(chunk.trim())`), end. A reply split over chunks or spread over several
 * lines fails here as it would fail there.
 */
export function referenceExchange(socketPath: string, requestLine: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error('Command timed out'));
    });
    socket.on('connect', () => socket.write(requestLine));
    socket.on('error', reject);
    socket.once('data', (data: Buffer) => {
      socket.end();
      try {
        resolve(JSON.parse(data.toString().trim()) as Record<string, unknown>);
      } catch {
        reject(new Error(`Invalid response from server: ${data.toString()}`));
      }
    });
  });
}
