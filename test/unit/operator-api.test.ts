/**
 * The pieces under the operator API, against the real test Redis where they read it: the bearer-token check,
 * the cursor bound to its query, call hooks shown without credentials, the registration pages (order, ties,
 * filters, budget), bans with their reason, and the minute buckets (batched, summed across instances).
 */
import test from 'tape';
import type Redis from 'ioredis';
import { createTestRedis } from '../support/test-redis';
import { bearerTokenMatches } from '../../lib/api/bearer-token';
import { decodeCursor, encodeCursor } from '../../lib/api/registration-cursor';
import { hookForDisplay } from '../../lib/api/hook-display';
import { ApiError } from '../../lib/api/api-reply';
import { RegistrationStore } from '../../lib/store/registration-store';
import { AuthGuardStore } from '../../lib/store/auth-guard-store';
import { RegisterStatsStore, outcomeClassOf } from '../../lib/store/register-stats-store';
import { RegisterMinuteRecorder } from '../../lib/ops/register-minute-recorder';
import { keys } from '../../lib/store/keys';
import { createLogger } from '../../lib/ops/logger';

const TOKEN = 'a-long-enough-token-123';

function redisTest(name: string, body: (t: test.Test, redis: Redis) => Promise<void>): void {
  test(`operator api: ${name}`, async (t) => {
    const redis = createTestRedis();
    try {
      await redis.flushdb();
      await body(t, redis);
    } finally {
      await redis.flushdb();
      await redis.quit();
    }
  });
}

test('operator api: bearer token', (t) => {
  t.ok(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN), 'the token');
  t.ok(bearerTokenMatches(`bearer ${TOKEN}`, TOKEN), 'the scheme is case-insensitive');
  t.notOk(bearerTokenMatches(`Bearer ${TOKEN}x`, TOKEN), 'one character more');
  t.notOk(bearerTokenMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN), 'one character less');
  t.notOk(bearerTokenMatches(`Basic ${TOKEN}`, TOKEN), 'another scheme');
  t.notOk(bearerTokenMatches(TOKEN, TOKEN), 'no scheme');
  t.notOk(bearerTokenMatches(undefined, TOKEN), 'no header');
  t.notOk(bearerTokenMatches('Bearer ', TOKEN), 'empty');
  t.end();
});

test('operator api: a cursor works only for the query that made it', (t) => {
  const position = { expiresAt: 1_800_000_000_000, aor: 'alice@example.com' };
  const cursor = encodeCursor({ realm: 'example.com', q: 'al' }, position);
  t.deepEqual(decodeCursor(cursor, { realm: 'example.com', q: 'al' }), position, 'round trip');
  t.equal(decodeCursor(null, {}), undefined, 'no cursor: the first page');
  const refused = (raw: string, query: { realm?: string; q?: string }): boolean => {
    try {
      decodeCursor(raw, query);
      return false;
    } catch (err) {
      return err instanceof ApiError && err.status === 400;
    }
  };
  t.ok(refused(cursor, { realm: 'other.com', q: 'al' }), 'another realm');
  t.ok(refused(cursor, { realm: 'example.com' }), 'without the prefix');
  t.ok(refused('garbage', {}), 'not base64url JSON');
  t.ok(refused(Buffer.from('{"v":1,"r":"","q":"","e":"x","a":"a@b"}').toString('base64url'), {}), 'a position that is not a number');
  t.ok(refused('A'.repeat(5000), {}), 'overlong');
  t.end();
});

test('operator api: call hooks are shown without credentials', (t) => {
  t.deepEqual(hookForDisplay({ url: 'https://u:p@hooks.example.com/call?token=s3cret#x', method: 'post', username: 'u', password: 'p' }),
    { url: 'https://hooks.example.com/call', method: 'POST' }, 'no user-info, query, user name or password');
  t.deepEqual(hookForDisplay('/hooks/call?key=1'), { url: '/hooks/call' }, 'an application path');
  t.deepEqual(hookForDisplay('//u:p@hooks.example.com/call?key=1'), { url: '//hooks.example.com/call' },
    'a scheme-relative URL loses its user-info too');
  t.deepEqual(hookForDisplay('/\\u:p@hooks.example.com/call'), { url: '//hooks.example.com/call' },
    'so does one written with a backslash, which URL parsers read as //');
  t.equal(hookForDisplay(undefined), null, 'none');
  t.equal(hookForDisplay({ method: 'GET' }), null, 'no url');
  t.equal(hookForDisplay('not a url'), null, 'unparseable');
  t.end();
});

async function addRegistration(redis: Redis, aor: string, expiresAt: number): Promise<void> {
  const realm = aor.slice(aor.indexOf('@') + 1);
  await redis.zadd(keys.activeUsers, expiresAt, keys.user(aor));
  await redis.zadd(keys.activeUsersOfRealm(realm), expiresAt, keys.user(aor));
}

redisTest('registration pages: expiry order, ties by AoR, no repeats, filters', async (t, redis) => {
  const store = new RegistrationStore(redis);
  const now = Date.now();
  const soon = now + 60_000;
  for (const user of ['dan', 'amy', 'cat', 'bob']) await addRegistration(redis, `${user}@a.test`, soon);
  await addRegistration(redis, 'Alan@b.test', now + 120_000);
  await addRegistration(redis, 'gone@a.test', now - 1000);
  await redis.zadd(keys.activeUsers, soon, 'not-a-registration');
  const seen: string[] = [];
  let after;
  for (let i = 0; i < 10; i++) {
    const page = await store.page({ limit: 2, after }, now);
    seen.push(...page.entries.map((e) => e.aor));
    after = page.next;
    if (!after) break;
  }
  t.deepEqual(seen, ['amy@a.test', 'bob@a.test', 'cat@a.test', 'dan@a.test', 'Alan@b.test'],
    'soonest expiry first, equal expiries by AoR, expired and foreign members left out, each once');
  const realm = await store.page({ limit: 10, realm: 'b.test' }, now);
  t.deepEqual(realm.entries.map((e) => e.aor), ['Alan@b.test'], 'one realm');
  t.equal(realm.next, undefined, 'the end');
  const prefix = await store.page({ limit: 10, userPrefix: 'A' }, now);
  t.deepEqual(prefix.entries.map((e) => e.aor), ['amy@a.test', 'Alan@b.test'], 'user prefix, any case');
  const tight = await store.page({ limit: 10, userPrefix: 'zzz', budget: 2 }, now);
  t.deepEqual(tight.entries, [], 'nothing within the budget');
  t.ok(tight.next, 'but a cursor to go on from');
  t.deepEqual(await store.countRealms(['a.test', 'b.test', 'c.test'], now), [4, 1, 0], 'live per realm, expired counted out');
  t.equal(await redis.zcard(keys.activeUsersOfRealm('a.test')), 5, 'counting removed nothing');
});

redisTest('bans: listed with their reason and time left; unban clears the ban and the failure window', async (t, redis) => {
  const guard = new AuthGuardStore(redis);
  const policy = { windowMs: 60_000, perSource: 2, perAor: 0, banMs: 600_000 };
  t.equal(await guard.recordFailure('192.0.2.1', 'x@a.test', policy), false, 'one failure: not banned');
  t.equal(await guard.recordFailure('192.0.2.1', 'y@a.test', policy), true, 'two: banned');
  await guard.recordFailure('192.0.2.2', 'victim@a.test', { ...policy, perSource: 0, perAor: 1 });
  await guard.ban('2001:db8::5', 30_000);
  await redis.set(keys.bannedSource('192.0.2.9'), '1', 'PX', 60_000);
  const { total, bans } = await guard.listBans(10);
  t.equal(total, 3, 'three indexed bans (one written without the index is not listed)');
  t.deepEqual(bans.map((b) => [b.ip, b.why, b.aor, b.failures]), [
    ['2001:db8::5', 'hook', undefined, undefined],
    ['192.0.2.1', 'source-failures', undefined, 2],
    ['192.0.2.2', 'aor-failures', 'victim@a.test', 1],
  ], 'soonest to end first, each with why');
  t.ok(bans[0].remainingMs > 29_000 && bans[0].remainingMs <= 30_000, 'time left');
  t.ok(await guard.isBanned('192.0.2.1'), 'banned');
  t.equal(await guard.unban('192.0.2.1'), true, 'unban');
  t.notOk(await guard.isBanned('192.0.2.1'), 'no longer banned');
  t.equal(await redis.exists(keys.authFailuresBySource('192.0.2.1')), 0, 'failure window forgotten');
  t.equal(await guard.recordFailure('192.0.2.1', 'x@a.test', policy), false, 'so one more failure does not ban it again');
  t.equal(await guard.unban('192.0.2.1'), false, 'unban of a source not banned');
  await redis.del(keys.bannedSource('192.0.2.2'));
  t.deepEqual((await guard.listBans(10)).bans.map((b) => b.ip), ['2001:db8::5'], 'a ban gone from Redis is not listed');
});

redisTest('minute buckets: batched per instance, summed across the cluster, live as the highest count', async (t, redis) => {
  const { logger } = createLogger('fatal');
  const store = new RegisterStatsStore(redis, 'c1');
  let clock = Math.floor(Date.now() / 60_000) * 60_000 + 1000;
  const now = () => clock;
  const one = new RegisterMinuteRecorder(store, { instanceId: 'one', countLive: async () => 7, now }, logger);
  const two = new RegisterMinuteRecorder(store, { instanceId: 'two', countLive: async () => 9, now }, logger);
  for (const status of [200, 200, 401, 403, 503, 500, 404]) one.registerAnswered(status);
  t.deepEqual(await redis.keys('c1:register-minute:*'), [], 'nothing written per REGISTER');
  await one.flush();
  two.registerAnswered(200);
  await two.flush();
  clock += 60_000;
  one.registerAnswered(401);
  await one.flush();
  const minutes = await store.recent(3, clock);
  t.equal(minutes.length, 3, 'three minutes');
  t.deepEqual(minutes.map((m) => m.outcomes), [
    { 200: 0, 401: 0, 403: 0, '5xx': 0, other: 0 },
    { 200: 3, 401: 1, 403: 1, '5xx': 2, other: 1 },
    { 200: 0, 401: 1, 403: 0, '5xx': 0, other: 0 },
  ], 'both instances summed per minute');
  t.deepEqual(minutes.map((m) => m.live), [null, 9, 7], 'live: the highest any instance counted, null when none did');
  t.equal(minutes[2].at - minutes[1].at, 60_000, 'a minute apart');
  const ttl = await redis.pttl(keys.registerMinute('c1', 'one', Math.floor(clock / 60_000)));
  t.ok(ttl > 64 * 60_000 && ttl <= 65 * 60_000, `buckets expire after 65 minutes (${ttl} ms)`);
  t.deepEqual([200, 401, 403, 404, 480, 500, 503, 599, 302].map(outcomeClassOf),
    ['200', '401', '403', 'other', 'other', '5xx', '5xx', '5xx', 'other'], 'outcome classes');
});
