import test from 'tape';
import { Writable } from 'node:stream';
import { censorSecrets, createLogger, LineBatcher } from '../../lib/ops/logger';

test('logger: secret-named fields are redacted at any depth, other objects are not copied', (t) => {
  const plain = { callId: 'x', nested: { url: 'http://hook' } };
  t.equal(censorSecrets(plain), plain, 'nothing to censor: same object');
  const censored = censorSecrets({ hook: { url: 'u', password: 'p' }, headers: { Authorization: 'Digest x', 'proxy-authorization': 'y' },
    list: [{ secret: 's' }], err: new Error('boom') });
  t.deepEqual(censored.hook, { url: 'u', password: '[redacted]' });
  t.equal(censored.headers.Authorization, '[redacted]');
  t.equal(censored.headers['proxy-authorization'], '[redacted]');
  t.deepEqual(censored.list, [{ secret: '[redacted]' }]);
  t.ok(censored.err instanceof Error, 'errors left to pino\'s serializer');
  t.end();
});

test('logger: lines written through pino carry no secret', (t) => {
  let out = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { out += chunk.toString(); done(); } });
  const { logger } = createLogger('info', sink);
  logger.child({ callId: 'c1' }).info({ account: { webhook_secret: 'wh_secret_x', registration_hook: { password: 'hunter2' } } }, 'hello');
  t.notOk(out.includes('hunter2'), 'password not written');
  t.notOk(out.includes('wh_secret_x'), 'webhook secret not written');
  t.ok(out.includes('"callId":"c1"'), 'the line is there');
  t.end();
});

test('logger: lines are passed on joined, per batch size and on flush, in order', (t) => {
  const written: string[] = [];
  const batcher = new LineBatcher((text) => written.push(text), 10);
  batcher.write('a\n');
  batcher.write('bb\n');
  t.deepEqual(written, [], 'held while under the batch size');
  batcher.write('cccccc\n');
  t.deepEqual(written, ['a\nbb\ncccccc\n'], 'one write once the batch size is reached');
  batcher.write('d\n');
  batcher.flush();
  batcher.flush();
  t.deepEqual(written, ['a\nbb\ncccccc\n', 'd\n'], 'flush writes what is held, and nothing when empty');
  t.end();
});

test('logger: a batch schedules its flush on its first line only, so an idle process is not woken', (t) => {
  let scheduled = 0;
  const batcher = new LineBatcher(() => undefined, 1000, () => scheduled++);
  t.equal(scheduled, 0, 'nothing scheduled without lines');
  batcher.write('a\n');
  batcher.write('b\n');
  t.equal(scheduled, 1, 'once for the batch, not per line');
  batcher.flush();
  batcher.write('c\n');
  t.equal(scheduled, 2, 'again for the next batch');
  t.end();
});
