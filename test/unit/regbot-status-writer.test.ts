/**
 * DbStatusWriter against the real test database: statuses written close together go out in one UPDATE,
 * the newest per carrier wins, every write() resolves once its batch is in MySQL, and flush() writes what
 * is pending at once (shutdown).
 */
import test from 'tape';
import pino from 'pino';
import { loadConfig } from '../../lib/config/config';
import { Database } from '../../lib/db/database';
import { DbStatusWriter, parseRegisterStatus } from '../../lib/regbot/register-status';
import { TestDb, testDbEnv } from '../support/test-db';

const silent = pino({ level: 'silent' });

test('regbot status writer: batches, newest per carrier wins, flush on demand', async (t) => {
  const testDb = await TestDb.connect();
  await testDb.truncateAll();
  const sids = [await testDb.seedCarrier({ name: 'a' }), await testDb.seedCarrier({ name: 'b' }), await testDb.seedCarrier({ name: 'c' })];
  const db = new Database(loadConfig({ DRACHTIO_HOST: '127.0.0.1', DRACHTIO_PORT: '9022', DRACHTIO_SECRET: 'x', JAMBONES_REDIS_HOST: '127.0.0.1', ...testDbEnv() }).mysql);
  const status = async (sid: string) =>
    parseRegisterStatus((await testDb.query('SELECT register_status FROM voip_carriers WHERE voip_carrier_sid = ?', [sid]))[0]
      ?.register_status as string | null);
  try {
    const writer = new DbStatusWriter(db, silent, 150);
    const now = Date.now();
    const writes = [
      writer.write(sids[0], { ok: false, reason: '503 Service Unavailable', now }),
      writer.write(sids[1], { ok: true, reason: '200 OK', expires: 600, callId: 'gw-b', cseq: 7, now }),
      writer.write(sids[0], { ok: true, reason: '200 OK', expires: 300, callId: 'gw-a', cseq: 9, now }),
    ];
    t.equal(await status(sids[0]), undefined, 'nothing written before the batch is due');
    await Promise.all(writes);
    t.deepEqual(
      [(await status(sids[0]))?.status, (await status(sids[0]))?.expires, (await status(sids[0]))?.reason],
      ['ok', 300, '200 OK'], 'carrier a: the newer of its two statuses');
    t.equal((await status(sids[1]))?.expires, 600, 'carrier b written in the same batch');
    t.equal(await status(sids[2]), undefined, 'carrier c untouched');

    const slow = new DbStatusWriter(db, silent, 60000);
    const pending = slow.write(sids[2], { ok: false, reason: '408 Request Timeout', now });
    await slow.flush();
    await pending;
    t.equal((await status(sids[2]))?.reason, '408 Request Timeout', 'flush() writes at once (shutdown)');

    const full = new DbStatusWriter(db, silent, 60000, 2);
    await Promise.all([
      full.write(sids[1], { ok: false, reason: '403 Forbidden', now }),
      full.write(sids[2], { ok: false, reason: '403 Forbidden', now }),
    ]);
    t.equal((await status(sids[2]))?.reason, '403 Forbidden', 'a full batch is written without waiting for the timer');
  } finally {
    await db.close();
    await testDb.close();
  }
});
