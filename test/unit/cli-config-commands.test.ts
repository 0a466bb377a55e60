import test from 'tape';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ConfigCommands, MAX_CONFIG_KEYS, MAX_LIST_ITEMS } from '../../lib/cli/config-commands';

function recordingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
  return { logger: pino({ level: 'info' }, sink), lines };
}

test('runtime config: bounded in keys and list items; an existing key can still be changed', (t) => {
  const config = new ConfigCommands(pino({ level: 'silent' }));
  const stored = Array.from({ length: MAX_CONFIG_KEYS }, (_, i) => config.set(`k${i}`, i).success);
  t.ok(stored.every(Boolean), `${MAX_CONFIG_KEYS} keys stored`);
  t.deepEqual(config.set('one-more', 'x'), { success: false, error: `runtime config holds ${MAX_CONFIG_KEYS} keys already` },
    'a new key past the limit is refused');
  t.deepEqual(config.set('k0', 'changed'), { success: true, key: 'k0', value: 'changed' }, 'an existing key is changed');
  t.equal(config.add('new-list', 'a').success, false, 'add cannot create a key past the limit either');

  const lists = new ConfigCommands(pino({ level: 'silent' }));
  for (let i = 0; i < MAX_LIST_ITEMS; i++) lists.add('list', i);
  t.deepEqual(lists.add('list', 'x'), { success: false, error: `list holds ${MAX_LIST_ITEMS} items already` }, 'a full list');
  t.equal(lists.add('list', 0).added, false, 'an item already there is still answered');
  t.end();
});

test('runtime config: a change logs its key, never its value', (t) => {
  const { logger, lines } = recordingLogger();
  const config = new ConfigCommands(logger);
  config.set('carrierPassword', 'hunter2-secret');
  config.add('tokens', 'tok-123');
  t.equal(lines.length, 2, 'one line per change');
  t.ok(lines[0].includes('carrierPassword'), 'the key is logged');
  t.notOk(lines.join('').includes('hunter2-secret') || lines.join('').includes('tok-123'), 'the values are not');
  t.end();
});

test('runtime config: missing key, value or item', (t) => {
  const config = new ConfigCommands(pino({ level: 'silent' }));
  t.deepEqual(config.set('empty', undefined), { success: true, key: 'empty', value: '' }, 'no value: the empty string');
  t.deepEqual(config.get(undefined), { success: false, error: 'get requires key' }, 'get without key');
  t.deepEqual(config.add('k', undefined), { success: false, error: 'add requires key and item' }, 'add without item');
  t.deepEqual(config.remove(undefined, 'x'), { success: false, error: 'remove requires key and item' }, 'remove without key');
  t.deepEqual(config.list(), { success: true, config: { empty: '' } }, 'nothing else stored');
  t.end();
});
