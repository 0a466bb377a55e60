/** The test Redis helper against the real server on 127.0.0.1:6379. */
import test from 'tape';
import { createTestRedis, flushTestRedis, testRedisDb, testRedisEnv } from '../support/test-redis';

test('support-redis: env and client use the test database', async (t) => {
  const db = String(testRedisDb());
  t.deepEqual(testRedisEnv(), { JAMBONES_REDIS_HOST: '127.0.0.1', JAMBONES_REDIS_PORT: '6379', JAMBONES_REDIS_DB: db });
  if (!process.env.REDIS_TEST_DB) t.equal(db, '9', 'database 9 by default');
  const redis = createTestRedis();
  try {
    await redis.set('support-redis:probe', 'x');
    const info = await redis.client('INFO');
    t.match(String(info), new RegExp(`\\bdb=${db}\\b`), 'the connection selected the test database');
    await flushTestRedis();
    t.equal(await redis.exists('support-redis:probe'), 0, 'flushTestRedis emptied it');
    await redis.set('support-redis:probe', 'y');
    await flushTestRedis(redis);
    t.equal(await redis.dbsize(), 0, 'flush through a given client');
  } finally {
    await redis.quit();
  }
});
