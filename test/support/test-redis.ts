/**
 * The real Redis used by tests: 127.0.0.1:6379, logical database REDIS_TEST_DB (default 9) so a test run
 * never touches data in database 0.
 */
import Redis from 'ioredis';

export const TEST_REDIS_HOST = '127.0.0.1';
export const TEST_REDIS_PORT = 6379;

export function testRedisDb(): number {
  const raw = process.env.REDIS_TEST_DB;
  const db = raw === undefined || raw === '' ? 9 : Number(raw);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new Error(`REDIS_TEST_DB must be 0-15, got ${raw}`);
  return db;
}

/** The JAMBONES_REDIS_* variables that point the service under test at the test database. */
export function testRedisEnv(): Record<string, string> {
  return {
    JAMBONES_REDIS_HOST: TEST_REDIS_HOST,
    JAMBONES_REDIS_PORT: String(TEST_REDIS_PORT),
    JAMBONES_REDIS_DB: String(testRedisDb()),
  };
}

/** A client on the test database. The caller must `quit()` it so the process can exit. */
export function createTestRedis(): Redis {
  return new Redis({
    host: TEST_REDIS_HOST,
    port: TEST_REDIS_PORT,
    db: testRedisDb(),
    // Fail fast when Redis is down rather than retrying behind a test's back.
    maxRetriesPerRequest: 1,
    lazyConnect: false,
  });
}

/** Empties the test database (only that one: FLUSHDB, never FLUSHALL). */
export async function flushTestRedis(client?: Redis): Promise<void> {
  const redis = client ?? createTestRedis();
  try {
    await redis.flushdb();
  } finally {
    if (!client) await redis.quit();
  }
}
