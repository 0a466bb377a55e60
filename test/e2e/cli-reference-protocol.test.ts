/**
 * jambonz's own CLI client against our socket, reply by reply: each request line is written exactly as that client
 * writes it (`JSON.stringify({ action, ... }) + '\n'`, one connection per command, the first chunk taken as the
 * reply), each reply is checked for the keys, types and values that client reads, and our CLI binary's printed
 * text is checked against what that client prints for the same reply. The data follow the reference's own
 * test/cli-tests.js (feature servers 192.168.1.10-12 active, .11 drained).
 */
import test from 'tape';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type Redis from 'ioredis';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { createTestRedis, flushTestRedis } from '../support/test-redis';
import { referenceExchange, runCli } from '../support/cli';
import { repoRoot } from '../support/test-db';

const SECRET = 'cymru';
const CLUSTER = 'ref-cli';
const SOCKET = path.join(os.tmpdir(), `sip-sidecar-ref-cli-${process.pid}.sock`);
const ACTIVE = `${CLUSTER}:active-fs`;
const DRAINED = `${CLUSTER}:drained-fs`;

let standIn: DrachtioStandIn;
let redis: Redis;
let service: RunningService;

const send = (line: string) => referenceExchange(SOCKET, line);
const cli = (...args: string[]) => runCli(SOCKET, ...args);
const printed = (stdout: string) => ({ code: 0, stdout, stderr: '' });
const failed = (stderr: string) => ({ code: 1, stdout: '', stderr });

/** `npm run cli <args>` in the repository root, as the reference's README and tests run it (no `--`). */
function npmRunCli(...args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const proc = spawn('npm', ['run', 'cli', ...args], { cwd: repoRoot(), env: { ...process.env, SBC_SOCKET_PATH: SOCKET },
      stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    const killer = setTimeout(() => proc.kill('SIGKILL'), 20000);
    proc.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout });
    });
  });
}

test('reference CLI: set-up (active-fs .10 .11 .12, drained-fs .11)', async (t) => {
  standIn = new DrachtioStandIn({ secret: SECRET });
  await standIn.start();
  redis = createTestRedis();
  await flushTestRedis(redis);
  await redis.sadd(ACTIVE, '192.168.1.10', '192.168.1.11', '192.168.1.12');
  await redis.sadd(DRAINED, '192.168.1.11');
  fs.rmSync(SOCKET, { force: true });
  service = startService({
    ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }),
    JAMBONES_CLUSTER_ID: CLUSTER, HTTP_PORT: '0', SBC_SOCKET_PATH: SOCKET,
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  await service.waitForLog((line) => line.msg === 'CLI socket listening', 5000);
  t.pass('service up');
});

test('reference CLI: help', async (t) => {
  const help = await cli();
  t.equal(help.code, 0, 'exit 0');
  t.ok(help.stdout.startsWith('SBC Runtime CLI\n'), 'the banner the reference\'s tests look for');
  const viaNpm = await npmRunCli();
  t.ok(viaNpm.code === 0 && viaNpm.stdout.includes('SBC Runtime CLI'), '`npm run cli` shows it too');
});

test('reference CLI: fs active ← fs-available', async (t) => {
  const reply = await send('{"action":"fs-available"}\n');
  t.deepEqual(reply, { success: true, available: ['192.168.1.10', '192.168.1.12'] },
    'success, and `available`: the active servers that are not drained (the client reads available.length)');
  t.deepEqual(await cli('fs', 'active'), printed('Available feature servers:\n  🟢 192.168.1.10\n  🟢 192.168.1.12\n'),
    'printed as the reference prints it');
  const viaNpm = await npmRunCli('fs', 'active');
  t.equal(viaNpm.code, 0, '`npm run cli fs active` (no --) exits 0');
  t.ok(viaNpm.stdout.includes('Available feature servers:\n  🟢 192.168.1.10\n'), 'and prints the servers');
});

test('reference CLI: fs drained ← fs-drained', async (t) => {
  t.deepEqual(await send('{"action":"fs-drained"}\n'), { success: true, drained: ['192.168.1.11'] }, '`drained`: string[]');
  t.deepEqual(await cli('fs', 'drained'), printed('Drained servers:\n  🔴 192.168.1.11\n'), 'printed');
});

test('reference CLI: fs drain / fs undrain ← fs-drain / fs-undrain', async (t) => {
  t.deepEqual(await send('{"action":"fs-drain","server":"192.168.1.10"}\n'),
    { success: true, action: 'drain', server: '192.168.1.10', drained: ['192.168.1.10', '192.168.1.11'] },
    'drain: success, action, server, drained (the client joins drained)');
  t.deepEqual(await redis.smembers(DRAINED).then((m) => m.sort()), ['192.168.1.10', '192.168.1.11'], 'in drained-fs');
  t.deepEqual(await send('{"action":"fs-undrain","server":"192.168.1.10"}\n'),
    { success: true, action: 'undrain', server: '192.168.1.10', drained: ['192.168.1.11'] }, 'undrain');
  t.deepEqual(await cli('fs', 'drain', '192.168.1.10'),
    printed('✓ Drained 192.168.1.10\nDrained servers: [192.168.1.10, 192.168.1.11]\n'), 'fs drain printed');
  t.deepEqual(await cli('fs', 'undrain', '192.168.1.10'),
    printed('✓ Undrained 192.168.1.10\nDrained servers: [192.168.1.11]\n'), 'fs undrain printed');
  t.deepEqual(await send('{"action":"fs-drain","server":"invalid-ip"}\n'),
    { success: false, error: 'Invalid IP address: invalid-ip' }, 'an invalid IP: success false and the error');
  t.deepEqual(await cli('fs', 'drain', 'invalid-ip'), failed('Error: Invalid IP address: invalid-ip\n'), 'printed on stderr, exit 1');
  t.deepEqual(await redis.smembers(DRAINED), ['192.168.1.11'], 'drained-fs unchanged');
});

test('reference CLI: fs list ← fs-list', async (t) => {
  t.deepEqual(await send('{"action":"fs-list"}\n'), {
    success: true,
    servers: [
      { server: '192.168.1.10', status: 'active' },
      { server: '192.168.1.11', status: 'drained' },
      { server: '192.168.1.12', status: 'active' },
    ],
    drained: ['192.168.1.11'],
  }, '`servers`: {server, status}[], `drained`: string[]');
  t.deepEqual(await cli('fs', 'list'),
    printed('Feature servers:\n  🟢 192.168.1.10 (active)\n  🔴 192.168.1.11 (drained)\n  🟢 192.168.1.12 (active)\n'), 'printed');
});

test('reference CLI: list / set / get ← list / set / get (runtime configuration)', async (t) => {
  t.deepEqual(await send('{"action":"list"}\n'), { success: true, config: {} }, 'list: `config`, empty at start');
  t.deepEqual(await cli('list'), printed('Runtime Configuration:\n  (no configuration set)\n'), 'printed');
  t.deepEqual(await send('{"action":"set","key":"testKey","value":"testValue"}\n'),
    { success: true, key: 'testKey', value: 'testValue' }, 'set: key and value echoed');
  t.deepEqual(await send('{"action":"get","key":"testKey"}\n'), { success: true, key: 'testKey', value: 'testValue' }, 'get');
  const unset = await send('{"action":"get","key":"neverSet"}\n');
  t.deepEqual(unset, { success: true, key: 'neverSet' }, 'get of a key never set: success, no value');
  t.deepEqual(await cli('set', 'otherKey', 'otherValue'), printed('✓ otherKey = "otherValue"\n'), 'set printed');
  t.deepEqual(await cli('get', 'testKey'), printed('testKey = "testValue"\n'), 'get printed');
  t.deepEqual(await cli('get', 'neverSet'), printed('neverSet = undefined\n'), 'an unset key printed as the reference prints it');
  t.deepEqual(await send('{"action":"list"}\n'), { success: true, config: { testKey: 'testValue', otherKey: 'otherValue' } },
    'list: every key with its value');
  t.deepEqual(await cli('list'), printed('Runtime Configuration:\n  testKey = "testValue"\n  otherKey = "otherValue"\n'),
    'list printed');
  t.deepEqual(await send('{"action":"set","key":"n","value":5}\n'), { success: true, key: 'n', value: 5 },
    'a value of another JSON type is kept as sent');
  t.deepEqual(await cli('get', 'n'), printed('n = 5\n'), 'and printed as JSON');
  t.deepEqual(await send('{"action":"set","value":"x"}\n'), { success: false, error: 'set requires key and value' },
    'no key: an error, not a key named undefined');
});

test('reference CLI: add / remove (socket only)', async (t) => {
  t.deepEqual(await send('{"action":"add","key":"items","item":"a"}\n'),
    { success: true, key: 'items', item: 'a', array: ['a'], added: true }, 'add');
  t.deepEqual(await send('{"action":"add","key":"items","item":"a"}\n'),
    { success: true, key: 'items', item: 'a', array: ['a'], added: false }, 'add again: not added twice');
  await send('{"action":"set","key":"csv","value":"x, y"}\n');
  t.deepEqual(await send('{"action":"add","key":"csv","item":"z"}\n'),
    { success: true, key: 'csv', item: 'z', array: ['x', 'y', 'z'], added: true }, 'a comma-separated string counts as a list');
  t.deepEqual(await send('{"action":"remove","key":"items","item":"a"}\n'),
    { success: true, key: 'items', item: 'a', array: [], removed: true }, 'remove');
  t.deepEqual(await send('{"action":"remove","key":"items","item":"a"}\n'),
    { success: true, key: 'items', item: 'a', array: [], removed: false }, 'remove again: nothing removed');
});

test('reference CLI: error forms', async (t) => {
  t.deepEqual(await send('{"action":"bogus"}\n'), { success: false, error: 'Unknown action' }, 'an unknown action');
  t.deepEqual(await send('not json\n'), { success: false, error: 'Invalid command' }, 'a line that is not JSON');
  t.deepEqual(await cli('unknown-command'), failed('Error: Unknown command: unknown-command. Run without arguments for help.\n'),
    'unknown command');
  t.deepEqual(await cli('fs'), failed('Error: fs command requires an action\n'), 'fs alone');
  t.deepEqual(await cli('fs', 'drain'), failed('Error: drain requires server IP address\n'), 'drain without IP');
  t.deepEqual(await cli('fs', 'nope'), failed('Error: Unknown fs command: nope. Use: drain, undrain, drained, active, list\n'),
    'unknown fs command');
  t.deepEqual(await cli('set', 'k'), failed('Error: set requires key and value\n'), 'set without value');
  t.deepEqual(await cli('get'), failed('Error: get requires key\n'), 'get without key');
});

test('reference CLI: tear-down', async (t) => {
  const stopped = await service.stop();
  t.equal(stopped.code, 0, 'service stopped');
  await standIn.stop();
  await flushTestRedis(redis);
  redis.disconnect();
});
