/**
 * The stand-in as its own process (dist/test/support/drachtio/main.js).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import test from 'tape';
import { RawAdminClient, SECRET, withTimeout } from './helpers';

const MAIN = path.resolve(__dirname, '..', 'support', 'drachtio', 'main.js');

test('main: prints one JSON line with the ports when ready and exits 0 on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [MAIN, '--secret', SECRET, '--admin-port', '0', '--sip-port', '0', '--ws-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const lines = readline.createInterface({ input: child.stdout });
    const first = await withTimeout(new Promise<string>((resolve) => lines.once('line', resolve)), 5000, 'the ready line');
    const ports = JSON.parse(first) as { adminPort: number; sipPort: number; wsPort: number };
    t.deepEqual(Object.keys(ports), ['adminPort', 'sipPort', 'wsPort']);
    t.ok(ports.adminPort > 0 && ports.sipPort > 0 && ports.wsPort > 0, 'ephemeral ports reported');
    const app = await RawAdminClient.connect(ports.adminPort);
    const reply = await app.reply(app.send(`authenticate|${SECRET}|`));
    t.equal(reply.tokens[4], `tcp/127.0.0.1:${ports.sipPort},udp/127.0.0.1:${ports.sipPort},ws/127.0.0.1:${ports.wsPort}`);
    child.kill('SIGTERM');
    await app.waitClosed();
    t.pass('the app connection was closed by the shutdown');
    t.equal(await withTimeout(exited, 5000, 'the process to exit'), 0, 'exit code 0');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('main: a missing secret is an error (exit 2)', async (t) => {
  const child = spawn(process.execPath, [MAIN, '--admin-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const code = await withTimeout(new Promise<number | null>((resolve) => child.on('exit', resolve)), 5000, 'the process to exit');
  t.equal(code, 2);
});
