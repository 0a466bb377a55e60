/**
 * The operator CLI end to end: the real `dist/lib/cli/cli.js` against the built service's Unix socket,
 * asserting exact output, exit codes, Redis state, the raw JSON-lines protocol, and that a drain made with
 * the CLI takes a feature server out of the cluster on its next OPTIONS (sipp).
 */
import test from 'tape';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { createTestRedis, flushTestRedis } from '../support/test-redis';
import { expectSippSuccess, findFreePort, headerOf, receivedResponses } from '../support/sipp';
import { oneShotScenario } from '../support/sip-requests';
import type { RegistrationRecord } from '../../lib/store/registration-store';
import { BindingStore } from '../../lib/store/binding-store';
import { CliRun, runCli } from '../support/cli';

const SECRET = 'cymru';
const CLUSTER = 'cli-test';
const SOCKET = path.join(os.tmpdir(), `sip-sidecar-cli-test-${process.pid}.sock`);

let standIn: DrachtioStandIn;
let redis: Redis;
let service: RunningService;

function cli(...args: string[]): Promise<CliRun> {
  return runCli(SOCKET, ...args);
}

/** Raw protocol: writes `lines` on one connection and collects `expected` reply lines. */
function rawExchange(lines: string, expected: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(SOCKET);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(lines));
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const replies = buffer.split('\n').filter((l) => l !== '');
      if (replies.length >= expected && buffer.endsWith('\n')) {
        socket.end();
        resolve(replies.map((l) => JSON.parse(l) as unknown));
      }
    });
  });
}

async function fsPing(t: test.Test, ip: string, port: number): Promise<string | undefined> {
  const result = await expectSippSuccess(t, {
    scenario: oneShotScenario({ method: 'OPTIONS', requestUri: 'sip:[remote_ip]:[remote_port]', headers: ['X-FS-Status: open'], expect: 200 }),
    target: `127.0.0.1:${standIn.sipPort}`, localIp: ip, localPort: port,
  }, `feature server ${ip} checks in`);
  return headerOf(receivedResponses(result).pop() ?? '', 'X-Members');
}

test('cli: set-up', async (t) => {
  standIn = new DrachtioStandIn({ secret: SECRET });
  await standIn.start();
  redis = createTestRedis();
  await flushTestRedis(redis);
  fs.rmSync(SOCKET, { force: true });
  service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_CLUSTER_ID: CLUSTER, JAMBONES_NETWORK_CIDR: '127.0.0.0/8', SBC_SOCKET_PATH: SOCKET,
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  await service.waitForLog((line) => line.msg === 'CLI socket listening', 5000);
  t.equal(fs.statSync(SOCKET).mode & 0o777, 0o600, 'the socket is owner-only (0600)');
  t.ok(fs.statSync(SOCKET).isSocket(), 'and is a socket');
});

test('cli: fs drain / drained / undrain', async (t) => {
  t.deepEqual(await cli('fs', 'drained'), { code: 0, stdout: 'No servers are currently drained\n', stderr: '' }, 'nothing drained yet');
  t.deepEqual(await cli('fs', 'drain', '10.0.0.5'), { code: 0, stdout: '✓ Drained 10.0.0.5\nDrained servers: [10.0.0.5]\n', stderr: '' },
    'drain 10.0.0.5');
  t.deepEqual((await cli('fs', 'drain', 'fd00::7')).stdout, '✓ Drained fd00::7\nDrained servers: [10.0.0.5, fd00::7]\n', 'IPv6 too');
  t.deepEqual(await redis.smembers(`${CLUSTER}:drained-fs`).then((m) => m.sort()), ['10.0.0.5', 'fd00::7'], 'drained-fs in Redis');
  t.deepEqual(await cli('fs', 'drained'), { code: 0, stdout: 'Drained servers:\n  🔴 10.0.0.5\n  🔴 fd00::7\n', stderr: '' },
    'fs drained lists them');
  t.deepEqual(await cli('fs', 'undrain', 'fd00::7'), { code: 0, stdout: '✓ Undrained fd00::7\nDrained servers: [10.0.0.5]\n', stderr: '' },
    'undrain');
  t.deepEqual(await redis.smembers(`${CLUSTER}:drained-fs`), ['10.0.0.5'], 'removed from Redis');
});

test('cli: errors use the reference wording and exit 1', async (t) => {
  t.deepEqual(await cli('fs', 'drain', '10.0.0.999'), { code: 1, stdout: '', stderr: 'Error: Invalid IP address: 10.0.0.999\n' },
    'invalid IP');
  t.deepEqual(await cli('fs', 'undrain', 'host.example.com'),
    { code: 1, stdout: '', stderr: 'Error: Invalid IP address: host.example.com\n' }, 'a name is not an IP');
  t.deepEqual(await cli('fs', 'drain'), { code: 1, stdout: '', stderr: 'Error: drain requires server IP address\n' }, 'no IP');
  t.deepEqual(await cli('fs', 'undrain'), { code: 1, stdout: '', stderr: 'Error: undrain requires server IP address\n' },
    'no IP to undrain');
  t.deepEqual(await cli('fs', 'bogus'), { code: 1, stdout: '', stderr: 'Error: Unknown fs command: bogus. Use: drain, undrain, drained, active, list\n' },
    'unknown fs command');
  t.deepEqual(await cli('bogus'), { code: 1, stdout: '', stderr: 'Error: Unknown command: bogus. Run without arguments for help.\n' },
    'unknown command');
  t.deepEqual(await redis.smembers(`${CLUSTER}:drained-fs`), ['10.0.0.5'], 'nothing changed');
  const usage = await cli();
  t.equal(usage.code, 0, 'no arguments: usage, exit 0');
  t.ok(usage.stdout.startsWith('SBC Runtime CLI\n'), 'under the reference\'s banner');
  for (const command of ['fs drain <ip>', 'set <key> <value>', 'registrations list [realm]', 'regbot status']) {
    t.ok(usage.stdout.includes(`npm run cli ${command}`), `usage lists ${command}`);
  }
});

test('cli: fs list and fs active match drained IPs against active ip:port members', async (t) => {
  await redis.sadd(`${CLUSTER}:active-fs`, '10.0.0.5:5060', '10.0.0.6:5060');
  await cli('fs', 'drain', '10.0.0.9');
  t.deepEqual(await cli('fs', 'list'), {
    code: 0, stderr: '',
    stdout: 'Feature servers:\n  🔴 10.0.0.5:5060 (drained)\n  🟢 10.0.0.6:5060 (active)\nOrphaned drained servers:\n  🔴 10.0.0.9 (orphaned)\n',
  }, 'fs list');
  t.deepEqual(await cli('fs', 'active'), { code: 0, stdout: 'Available feature servers:\n  🟢 10.0.0.6:5060\n', stderr: '' }, 'fs active');
  const json = await cli('fs', 'list', '--json');
  t.deepEqual(JSON.parse(json.stdout), {
    success: true, drained: ['10.0.0.5', '10.0.0.9'],
    servers: [{ server: '10.0.0.5:5060', status: 'drained' }, { server: '10.0.0.6:5060', status: 'active' }],
  }, '--json prints the raw reply');
  await redis.del(`${CLUSTER}:active-fs`, `${CLUSTER}:drained-fs`);
  t.deepEqual(await cli('fs', 'list'), { code: 0, stdout: 'No servers configured\n', stderr: '' }, 'empty');
  t.deepEqual(await cli('fs', 'active'), { code: 0, stdout: 'No active feature servers found\n', stderr: '' }, 'empty active');
});

test('cli: a server drained with the CLI leaves the cluster on its next OPTIONS', async (t) => {
  const port = await findFreePort('127.0.0.40');
  t.equal(await fsPing(t, '127.0.0.40', port), '1', 'X-Members: 1 before the drain');
  await cli('fs', 'drain', '127.0.0.40');
  t.equal(await fsPing(t, '127.0.0.40', port), '0', 'X-Members: 0 after it');
  t.deepEqual(await redis.smembers(`${CLUSTER}:active-fs`), [], 'no longer active');
  await cli('fs', 'undrain', '127.0.0.40');
  t.equal(await fsPing(t, '127.0.0.40', port), '1', 'undrained: back on its next ping');
  t.deepEqual(await cli('fs', 'list'), { code: 0, stdout: `Feature servers:\n  🟢 127.0.0.40:${port} (active)\n`, stderr: '' }, 'listed');
});

test('cli: registrations list and show', async (t) => {
  // Written the way the REGISTER handler writes them: through BindingStore, which keeps the jambonz records in step.
  const bindings = new BindingStore(redis, { maxBindings: 10, overflow: 'evict-oldest' });
  const register = async (aor: string, contact: string, expires: number, protocol: RegistrationRecord['protocol']) => {
    const now = Date.now();
    const realm = aor.slice(aor.indexOf('@') + 1);
    const legacy: RegistrationRecord = {
      contact, protocol, proxy: 'sip:192.0.2.10:5060', sbcAddress: 'udp/203.0.113.5:5060',
      allow_direct_app_calling: false, allow_direct_queue_calling: false, allow_direct_user_calling: true,
      expiryTime: now + expires * 1000,
    };
    const result = await bindings.apply(aor, realm, { upserts: [{
      key: contact, contact, expires, callId: `cli-${aor}`, cseq: 1, source: '192.0.2.10:5060', transport: protocol, legacy,
    }] }, now);
    if (!result.ok) throw new Error(`could not store ${aor}`);
  };
  await register('alice@a.example.com', 'sip:alice@192.0.2.10:5060', 300, 'udp');
  await register('bob@a.example.com', 'sip:bob@192.0.2.11:5070;transport=tcp', 600, 'tcp');
  await register('carol@b.example.com', 'sip:carol@192.0.2.12:5060', 900, 'udp');

  const all = await cli('registrations', 'list');
  t.equal(all.code, 0, 'list: exit 0');
  t.match(all.stdout, /^Registrations: 3\n {2}alice@a\.example\.com {2}udp {2}sip:alice@192\.0\.2\.10:5060 {2}expires in (29\d|300) s\n {2}bob@a\.example\.com {2}tcp/,
    'all realms, soonest expiry first');
  const realm = await cli('registrations', 'list', 'b.example.com', '--json');
  const reply = JSON.parse(realm.stdout) as { total: number; registrations: { aor: string; expiresIn: number }[]; truncated: boolean };
  t.equal(reply.total, 1, 'one registration in b.example.com');
  t.deepEqual(reply.registrations.map((r) => r.aor), ['carol@b.example.com'], 'carol');
  t.ok(reply.registrations[0].expiresIn > 890 && reply.registrations[0].expiresIn <= 900, 'with its remaining lifetime');
  t.equal(reply.truncated, false, 'not truncated');
  t.deepEqual(await cli('registrations', 'list', 'none.example.com'),
    { code: 0, stdout: 'No registrations in none.example.com\n', stderr: '' }, 'an empty realm');

  const show = await cli('registrations', 'show', 'bob@a.example.com');
  t.equal(show.code, 0, 'show: exit 0');
  const shown = JSON.parse(show.stdout) as { aor: string; ttl: number; registration: RegistrationRecord };
  t.equal(shown.registration.contact, 'sip:bob@192.0.2.11:5070;transport=tcp', 'the stored record');
  t.ok(shown.ttl > 590 && shown.ttl <= 600, `with its TTL (${shown.ttl})`);
  t.deepEqual(await cli('registrations', 'show', 'nobody@a.example.com'),
    { code: 1, stdout: '', stderr: 'Error: No registration for nobody@a.example.com\n' }, 'unknown AoR');
  t.deepEqual(await cli('registrations', 'show'),
    { code: 1, stdout: '', stderr: 'Error: show requires an address of record (user@realm)\n' }, 'missing AoR');
});

test('cli: the raw protocol answers bad input with an error, in order, without closing', async (t) => {
  const replies = await rawExchange('not json\n{"action":"nope"}\n[1]\n{"action":"fs-drained"}\n{"action":"fs-drain","server":5}\n', 5);
  t.deepEqual(replies, [
    { success: false, error: 'Invalid command' },
    { success: false, error: 'Unknown action' },
    { success: false, error: 'Invalid command' },
    { success: true, drained: [] },
    { success: false, error: 'server IP address is required' },
  ], 'one reply per line, in order');
});

/** Like `printf '...' | socat - UNIX-CONNECT:<socket>`: writes, ends its side at once, reads until the server closes. */
function halfClosedExchange(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: SOCKET, allowHalfOpen: true });
    let received = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error('no close within 5 s')));
    socket.on('connect', () => socket.end(text));
    socket.on('data', (chunk: string) => { received += chunk; });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

test('cli: a client that ends its side after writing (socat, nc -N) still gets every reply, then the server closes', async (t) => {
  const received = await halfClosedExchange('{"action":"fs-drained"}\n{"action":"set","key":"viaSocat","value":"1"}\n{"action":"get","key":"viaSocat"}');
  t.deepEqual(received.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown), [
    { success: true, drained: [] },
    { success: true, key: 'viaSocat', value: '1' },
    { success: true, key: 'viaSocat', value: '1' },
  ], 'answered in order, the last line without its newline too');
});

test('cli: a second sidecar does not steal a socket in use', async (t) => {
  const second = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }), JAMBONES_CLUSTER_ID: CLUSTER, SBC_SOCKET_PATH: SOCKET,
  });
  await second.waitForLog((line) => line.msg === 'another process serves SBC_SOCKET_PATH; CLI disabled', 10000);
  await second.stop();
  t.deepEqual((await cli('fs', 'drained')).stdout, 'No servers are currently drained\n', 'the first sidecar still answers');
});

test('cli: shutdown removes the socket; then the CLI says the sidecar is not running', async (t) => {
  await service.stop();
  t.notOk(fs.existsSync(SOCKET), 'socket removed');
  const run = await cli('fs', 'list');
  t.equal(run.code, 1, 'exit 1');
  t.equal(run.stderr, `Error: Connection failed: connect ENOENT ${SOCKET} (is sip-sidecar running?)\n`,
    'the reference\'s wording, and what to check');
  await standIn.stop();
  await flushTestRedis(redis);
  redis.disconnect();
});
