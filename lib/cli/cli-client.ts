import net from 'node:net';
import type { CliReply, CliRequest } from './protocol';

const TIMEOUT_MS = 5000;

/**
 * Sends one request to the sidecar's socket and resolves with its one-line JSON reply. Failures read as the
 * reference client's do (`Connection failed: ...`, `Command timed out`, `Invalid response from server`).
 */
export function sendRequest(socketPath: string, request: CliRequest, timeoutMs = TIMEOUT_MS): Promise<CliReply> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let buffer = '';
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => fail(new Error(`Command timed out (no answer from ${socketPath} within ${timeoutMs / 1000} s)`)));
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('error', (err: Error) => fail(new Error(`Connection failed: ${err.message} (is sip-sidecar running?)`)));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      socket.end();
      try {
        resolve(JSON.parse(buffer.slice(0, end)) as CliReply);
      } catch {
        reject(new Error('Invalid response from server'));
      }
    });
    socket.on('end', () => {
      if (!buffer.includes('\n')) fail(new Error('the sidecar closed the connection without answering'));
    });
  });
}
