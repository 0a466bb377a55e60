/** BindingStore against the real test Redis: RFC 3261 §10.3 bindings plus the jambonz legacy mirror. */
import test from 'tape';
import type Redis from 'ioredis';
import { createTestRedis } from '../support/test-redis';
import { ApplyResult, BindingInput, BindingStore, BindingStoreOptions, RefreshRequest, StoredBinding } from '../../lib/store/binding-store';
import type { RegistrationRecord } from '../../lib/store/registration-store';
import { keys } from '../../lib/store/keys';

const AOR = 'alice@example.com';
const REALM = 'example.com';
const MEMBER = keys.user(AOR);
const DEFAULTS: BindingStoreOptions = { maxBindings: 5, overflow: 'evict-oldest' };

/** Runs `body` with a fresh store on an emptied test database. */
function storeTest(name: string, body: (t: test.Test, ctx: Ctx) => Promise<void>, opts = DEFAULTS): void {
  test(`binding-store: ${name}`, async (t) => {
    const redis = createTestRedis();
    try {
      await redis.flushdb();
      await body(t, { redis, store: new BindingStore(redis, opts), t0: Date.now() });
    } finally {
      await redis.quit();
    }
  });
}

interface Ctx {
  redis: Redis;
  store: BindingStore;
  /** Test clock origin: near the real clock because Redis TTLs run on the server's clock. */
  t0: number;
}

function legacyFor(contact: string, callId: string): RegistrationRecord {
  return {
    contact,
    sbcAddress: 'udp/3.3.3.3:5060,tcp/3.3.3.3:5060',
    protocol: 'udp',
    proxy: 'sip:10.0.0.1:5060',
    allow_direct_app_calling: true,
    allow_direct_queue_calling: false,
    allow_direct_user_calling: true,
    expiryTime: 0,
    callId,
    grantedExpires: 3600,
  };
}

function device(name: string, over: Partial<BindingInput> = {}): BindingInput {
  const contact = over.contact ?? `sip:${name}@10.0.0.1:5060`;
  const callId = over.callId ?? `call-${name}`;
  return {
    key: contact,
    contact,
    expires: 3600,
    callId,
    cseq: 1,
    source: '10.0.0.1:5060',
    transport: 'udp',
    legacy: legacyFor(contact, callId),
    ...over,
  };
}

function okBindings(t: test.Test, result: ApplyResult): StoredBinding[] {
  if (!result.ok) {
    t.fail(`apply refused: ${JSON.stringify(result)}`);
    return [];
  }
  return result.bindings;
}

/** Asserts the mirror: user:<aor> is exactly `expected`'s legacy JSON, TTL and both zset scores agree. */
async function assertMirror(t: test.Test, redis: Redis, expected: StoredBinding, now: number): Promise<void> {
  const text = await redis.get(MEMBER);
  t.equal(text, JSON.stringify({ ...expected.legacy }), `user:<aor> mirrors ${expected.key}`);
  const record = JSON.parse(text ?? '{}') as RegistrationRecord;
  t.equal(record.expiryTime, expected.expiresAt, 'expiryTime = the binding expiry');
  t.equal(record.contact, expected.contact);
  const ttl = await redis.ttl(MEMBER);
  const wanted = Math.max(1, Math.ceil((expected.expiresAt - now) / 1000));
  t.ok(ttl <= wanted && ttl >= wanted - 2, `TTL ${ttl} ≈ remaining ${wanted}`);
  t.equal(Number(await redis.zscore(keys.activeUsers, MEMBER)), expected.expiresAt, 'active-user score');
  t.equal(Number(await redis.zscore(keys.activeUsersOfRealm(REALM), MEMBER)), expected.expiresAt, 'realm zset score');
}

async function assertGone(t: test.Test, redis: Redis): Promise<void> {
  t.equal(await redis.exists(MEMBER), 0, 'user:<aor> deleted');
  t.equal(await redis.exists(keys.bindings(AOR)), 0, 'bindings hash deleted');
  t.equal(await redis.zscore(keys.activeUsers, MEMBER), null, 'not in active-user');
  t.equal(await redis.zscore(keys.activeUsersOfRealm(REALM), MEMBER), null, 'not in the realm zset');
}

/** Every key of the test database with its value, to prove a refused change wrote nothing. */
async function snapshot(redis: Redis): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const key of (await redis.keys('*')).sort()) {
    const type = await redis.type(key);
    if (type === 'string') result[key] = await redis.get(key);
    else if (type === 'hash') result[key] = await redis.hgetall(key);
    else if (type === 'zset') result[key] = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else result[key] = type;
  }
  return result;
}

storeTest('two devices on one AoR are both listed, newest first, legacy mirrors the newest', async (t, { redis, store, t0 }) => {
  okBindings(t, await store.apply(AOR, REALM, { upserts: [device('desk')] }, t0));
  const bindings = okBindings(t, await store.apply(AOR, REALM, { upserts: [device('mobile', { expires: 600 })] }, t0 + 1000));
  t.deepEqual(bindings.map((b) => b.key), ['sip:mobile@10.0.0.1:5060', 'sip:desk@10.0.0.1:5060']);
  t.deepEqual(bindings.map((b) => b.remaining), [600, 3599], 'remaining seconds at now');
  t.equal(bindings[0].updatedAt, t0 + 1000);
  t.equal(bindings[0].expiresAt, t0 + 1000 + 600_000);
  t.equal(bindings[1].callId, 'call-desk');
  t.equal(bindings[1].transport, 'udp');
  t.equal(bindings[1].source, '10.0.0.1:5060');
  t.notOk('expires' in bindings[0], 'the stored form has expiresAt, not expires');
  await assertMirror(t, redis, bindings[0], t0 + 1000);
  t.deepEqual((await store.list(AOR, t0 + 2000)).map((b) => b.key), bindings.map((b) => b.key), 'list agrees');
  t.equal(await redis.hlen(keys.bindings(AOR)), 2);
});

storeTest('a refresh of one device keeps the other and becomes the mirrored one', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('desk')] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('mobile')] }, t0 + 1000);
  const bindings = okBindings(t, await store.apply(AOR, REALM, { upserts: [device('desk', { cseq: 2, expires: 1800 })] }, t0 + 2000));
  t.deepEqual(bindings.map((b) => b.key), ['sip:desk@10.0.0.1:5060', 'sip:mobile@10.0.0.1:5060']);
  t.equal(bindings[0].cseq, 2);
  t.equal(bindings[0].expiresAt, t0 + 2000 + 1_800_000, 'the refresh sets its own expiry');
  t.equal(bindings[1].expiresAt, t0 + 1000 + 3_600_000, 'the other keeps its expiry');
  await assertMirror(t, redis, bindings[0], t0 + 2000);
});

storeTest('expires=0 removes only that binding; the legacy record switches to the other', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('desk', { expires: 900 })] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('mobile')] }, t0 + 1000);
  const bindings = okBindings(t, await store.apply(AOR, REALM, { upserts: [device('mobile', { cseq: 2, expires: 0 })] }, t0 + 5000));
  t.deepEqual(bindings.map((b) => b.key), ['sip:desk@10.0.0.1:5060']);
  await assertMirror(t, redis, bindings[0], t0 + 5000);
  t.equal(Number(await redis.zscore(keys.activeUsers, MEMBER)), t0 + 900_000, 'score went back to the desk expiry');
  const last = okBindings(t, await store.apply(AOR, REALM, { upserts: [device('desk', { cseq: 2, expires: 0 })] }, t0 + 6000));
  t.deepEqual(last, [], 'no binding left');
  await assertGone(t, redis);
});

storeTest('removeAll deletes every binding, the legacy record and both zset members', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('desk')] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('mobile')] }, t0 + 1000);
  await redis.zadd(keys.activeUsers, t0 + 99_000, 'user:bob@example.com');
  const result = await store.apply(AOR, REALM, { upserts: [], removeAll: { callId: 'call-other', cseq: 1 } }, t0 + 2000);
  t.deepEqual(result, { ok: true, bindings: [], evicted: [] });
  await assertGone(t, redis);
  t.equal(await redis.zcard(keys.activeUsers), 1, 'other members untouched');
});

storeTest('removeAll with a stale CSeq on a binding of the same Call-ID changes nothing', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('desk', { cseq: 7 })] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('mobile')] }, t0 + 1000);
  const before = await snapshot(redis);
  const result = await store.apply(AOR, REALM, { upserts: [], removeAll: { callId: 'call-desk', cseq: 7 } }, t0 + 2000);
  t.deepEqual(result, { ok: false, reason: 'out-of-order', key: 'sip:desk@10.0.0.1:5060' });
  t.deepEqual(await snapshot(redis), before, 'nothing written');
  const done = await store.apply(AOR, REALM, { upserts: [], removeAll: { callId: 'call-desk', cseq: 8 } }, t0 + 3000);
  t.ok(done.ok, 'a higher CSeq removes all');
  await assertGone(t, redis);
});

storeTest('same Call-ID with a CSeq not higher is refused and nothing changes', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('desk', { cseq: 5 })] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('mobile')] }, t0 + 1000);
  const before = await snapshot(redis);
  for (const cseq of [5, 4]) {
    const result = await store.apply(AOR, REALM, {
      upserts: [device('laptop'), device('desk', { cseq, expires: 60 })],
    }, t0 + 2000);
    t.deepEqual(result, { ok: false, reason: 'out-of-order', key: 'sip:desk@10.0.0.1:5060' }, `CSeq ${cseq} refused`);
    t.deepEqual(await snapshot(redis), before, 'nothing written, not even the other contact of the request');
  }
  const removal = await store.apply(AOR, REALM, { upserts: [device('desk', { cseq: 5, expires: 0 })] }, t0 + 2000);
  t.equal(removal.ok, false, 'an expires=0 with a stale CSeq is refused too');
  t.ok((await store.apply(AOR, REALM, { upserts: [device('desk', { cseq: 6 })] }, t0 + 3000)).ok, 'CSeq 6 accepted');
});

storeTest('a new Call-ID replaces the binding whatever its CSeq', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('desk', { cseq: 50 })] }, t0);
  const bindings = okBindings(t, await store.apply(AOR, REALM, {
    upserts: [device('desk', { callId: 'rebooted', cseq: 1, expires: 120 })],
  }, t0 + 1000));
  t.equal(bindings.length, 1);
  t.equal(bindings[0].callId, 'rebooted');
  t.equal(bindings[0].cseq, 1);
  await assertMirror(t, redis, bindings[0], t0 + 1000);
  t.equal(JSON.parse((await redis.get(MEMBER)) ?? '{}').callId, 'rebooted');
});

storeTest('several contacts in one change: all stored, the first one is mirrored', async (t, { redis, store, t0 }) => {
  const bindings = okBindings(t, await store.apply(AOR, REALM, {
    upserts: [device('first', { expires: 60 }), device('second'), device('third')],
  }, t0));
  t.deepEqual(bindings.map((b) => b.key), ['first', 'second', 'third'].map((n) => `sip:${n}@10.0.0.1:5060`));
  await assertMirror(t, redis, bindings[0], t0);
});

storeTest('max bindings, evict-oldest: the least recently updated go, the change never evicts itself', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('a')] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('b')] }, t0 + 1000);
  await store.apply(AOR, REALM, { upserts: [device('a', { cseq: 2 })] }, t0 + 2000);
  const result = await store.apply(AOR, REALM, { upserts: [device('c')] }, t0 + 3000);
  t.deepEqual(result.ok && result.evicted, ['sip:b@10.0.0.1:5060'], 'b, not the refreshed a, is evicted');
  const bindings = okBindings(t, result);
  t.deepEqual(bindings.map((b) => b.key), ['sip:c@10.0.0.1:5060', 'sip:a@10.0.0.1:5060']);
  t.equal(await redis.hexists(keys.bindings(AOR), 'sip:b@10.0.0.1:5060'), 0, 'gone from the hash');
  await assertMirror(t, redis, bindings[0], t0 + 3000);
  const two = await store.apply(AOR, REALM, { upserts: [device('d'), device('e')] }, t0 + 4000);
  t.deepEqual(two.ok && two.evicted, ['sip:a@10.0.0.1:5060', 'sip:c@10.0.0.1:5060'], 'oldest first');
  const three = await store.apply(AOR, REALM, { upserts: [device('f'), device('g'), device('h')] }, t0 + 5000);
  t.deepEqual(three, { ok: false, reason: 'too-many', limit: 2 }, 'a change that alone exceeds the limit is refused');
}, { maxBindings: 2, overflow: 'evict-oldest' });

storeTest('max bindings, reject: a new key beyond the limit is refused, refreshes pass', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('a')] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('b')] }, t0 + 1000);
  const before = await snapshot(redis);
  const refused = await store.apply(AOR, REALM, { upserts: [device('c')] }, t0 + 2000);
  t.deepEqual(refused, { ok: false, reason: 'too-many', limit: 2 });
  t.deepEqual(await snapshot(redis), before, 'nothing written');
  const refresh = okBindings(t, await store.apply(AOR, REALM, { upserts: [device('a', { cseq: 2 })] }, t0 + 3000));
  t.deepEqual(refresh.map((b) => b.key), ['sip:a@10.0.0.1:5060', 'sip:b@10.0.0.1:5060'], 'a refresh at the limit passes');
  const swap = okBindings(t, await store.apply(AOR, REALM, {
    upserts: [device('c'), device('b', { cseq: 2, expires: 0 })],
  }, t0 + 4000));
  t.deepEqual(swap.map((b) => b.key), ['sip:c@10.0.0.1:5060', 'sip:a@10.0.0.1:5060'], 'adding while removing one fits');
  await assertMirror(t, redis, swap[0], t0 + 4000);
}, { maxBindings: 2, overflow: 'reject' });

storeTest('expired bindings are pruned on list and apply, and the mirror follows the live one', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('long')] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('short', { expires: 10 })] }, t0 + 1000);
  t.equal(JSON.parse((await redis.get(MEMBER)) ?? '{}').contact, 'sip:short@10.0.0.1:5060', 'newest mirrored first');
  t.equal((await store.list(AOR, t0 + 10_999)).length, 2, 'still live just before its expiry');
  const later = t0 + 11_000;
  const listed = await store.list(AOR, later);
  t.deepEqual(listed.map((b) => b.key), ['sip:long@10.0.0.1:5060'], 'expiresAt <= now is gone');
  t.deepEqual(await redis.hkeys(keys.bindings(AOR)), ['sip:long@10.0.0.1:5060'], 'and dropped from the hash');
  await assertMirror(t, redis, listed[0], later);
  const applied = okBindings(t, await store.apply(AOR, REALM, { upserts: [device('x', { expires: 5 })] }, later));
  await store.apply(AOR, REALM, { upserts: [device('long', { cseq: 2 })] }, later + 6000);
  t.equal(applied.length, 2);
  t.deepEqual(await redis.hkeys(keys.bindings(AOR)), ['sip:long@10.0.0.1:5060'], 'apply prunes too');
});

storeTest('remirrorLapsed brings user:<aor> back to the binding still alive', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('long')] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('short', { expires: 10 })] }, t0 + 1000);
  await redis.zadd(keys.activeUsers, t0 - 1, 'user:legacy-only@example.com');
  t.equal(await store.remirrorLapsed(t0 + 5000), 1, 'only the lapsed member is looked at');
  t.equal(JSON.parse((await redis.get(MEMBER)) ?? '{}').contact, 'sip:short@10.0.0.1:5060', 'nothing lapsed yet');
  const later = t0 + 12_000;
  t.equal(await store.remirrorLapsed(later), 2);
  const [long] = await store.list(AOR, later);
  await assertMirror(t, redis, long, later);
  t.equal(Number(await redis.zscore(keys.activeUsers, 'user:legacy-only@example.com')), t0 - 1, 'AoRs without bindings untouched');
});

storeTest('list of an unknown AoR writes nothing; an unregister clears a legacy-only record', async (t, { redis, store, t0 }) => {
  await redis.set(MEMBER, JSON.stringify(legacyFor('sip:old@10.0.0.9', 'old')), 'EX', 60);
  await redis.zadd(keys.activeUsers, t0 + 60_000, MEMBER);
  const before = await snapshot(redis);
  t.deepEqual(await store.list(AOR, t0), []);
  t.deepEqual(await snapshot(redis), before, 'a read of an AoR the old store wrote leaves it alone');
  const result = await store.apply(AOR, REALM, { upserts: [], removeAll: { callId: 'x', cseq: 1 } }, t0);
  t.ok(result.ok);
  await assertGone(t, redis);
});

storeTest('the hash expires with its longest binding', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('a', { expires: 300 })] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('b', { expires: 100 })] }, t0);
  const pttl = await redis.pttl(keys.bindings(AOR));
  t.ok(pttl > 298_000 && pttl <= 300_000, `PTTL ${pttl} follows the longest binding, not the newest`);
  await store.apply(AOR, REALM, { upserts: [device('a', { cseq: 2, expires: 0 })] }, t0 + 1000);
  const shorter = await redis.pttl(keys.bindings(AOR));
  t.ok(shorter > 97_000 && shorter <= 99_000, `PTTL ${shorter} shrinks when the longest goes`);
  t.ok((await redis.ttl(MEMBER)) <= 99, 'legacy TTL follows b');
});

storeTest('the legacy JSON is written byte for byte with large numbers and odd fields', async (t, { redis, store, t0 }) => {
  const legacy = { ...legacyFor('sip:z@[2001:db8::1]:5060', 'c'), callHook: { url: 'https://h/x?a=1&b=é', method: 'POST' } };
  const expiresAt = t0 + 4_294_967_295_000;
  await store.apply(AOR, REALM, { upserts: [device('z', { expires: 4_294_967_295, legacy, path: [] })] }, t0);
  t.equal(await redis.get(MEMBER), JSON.stringify({ ...legacy, expiryTime: expiresAt }));
  const [stored] = await store.list(AOR, t0);
  t.deepEqual(stored.path, [], 'an empty array stays an array');
  t.equal(stored.expiresAt, expiresAt);
});

storeTest('concurrent applies on one AoR: the mirror always equals the newest binding in the hash', async (t, { redis, t0 }) => {
  // Several connections, so the scripts and the readers really interleave on the server.
  const clients = [createTestRedis(), createTestRedis(), createTestRedis()];
  try {
    const stores = clients.map((client) => new BindingStore(client, DEFAULTS));
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const writes = Array.from({ length: 150 }, (_, i) => stores[i % stores.length].apply(AOR, REALM, {
      // A Call-ID per write: the order between connections is arbitrary, so equal Call-IDs could
      // legitimately be refused as out of order.
      upserts: [device(names[i % names.length], { callId: `c${i}`, expires: 60 + (i % 7) * 100 })],
    }, t0 + (i % 13)));
    const reads = Array.from({ length: 60 }, (_, i) => readPair(clients[i % clients.length]));
    const [results, pairs] = await Promise.all([Promise.all(writes), Promise.all(reads)]);
    t.equal(results.filter((r) => !r.ok).length, 0, 'every write accepted');
    const final = await readPair(redis);
    const consistent = [...pairs, final].filter(mirrorsNewest).length;
    t.equal(consistent, pairs.length + 1, 'every snapshot (MULTI of GET and HGETALL) is consistent');
    t.equal(Object.keys(final.hash).length, 5, 'the limit held');
    const bindings = await stores[0].list(AOR, t0 + 20);
    t.equal(bindings.length, 5);
    await assertMirror(t, redis, bindings[0], t0 + 20);
  } finally {
    await Promise.all(clients.map((client) => client.quit()));
  }
});

interface Pair { legacy: string | null; hash: Record<string, string> }

async function readPair(redis: Redis): Promise<Pair> {
  const results = await redis.multi().get(MEMBER).hgetall(keys.bindings(AOR)).exec();
  return { legacy: results?.[0][1] as string | null, hash: results?.[1][1] as Record<string, string> };
}

function mirrorsNewest(pair: Pair): boolean {
  const values = Object.values(pair.hash).map((raw) => JSON.parse(raw) as { seq: number; legacy: string });
  if (values.length === 0) return pair.legacy === null;
  const newest = values.reduce((a, b) => (b.seq > a.seq ? b : a));
  return newest.legacy === pair.legacy;
}

storeTest('the script is reloaded after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('a')] }, t0);
  await redis.script('FLUSH');
  const bindings = okBindings(t, await store.apply(AOR, REALM, { upserts: [device('b')] }, t0 + 1));
  t.equal(bindings.length, 2);
});

test('binding-store: misuse throws before touching Redis', (t) => {
  const fake = {} as Redis;
  t.throws(() => new BindingStore(fake, { maxBindings: 0, overflow: 'reject' }), RangeError);
  const store = new BindingStore(fake, DEFAULTS);
  const rejects = async (change: Parameters<BindingStore['apply']>[2]): Promise<boolean> =>
    store.apply(AOR, REALM, change).then(() => false, () => true);
  Promise.all([
    rejects({ upserts: [device('a')], removeAll: { callId: 'x', cseq: 1 } }),
    rejects({ upserts: [device('a', { expires: -1 })] }),
    rejects({ upserts: [device('a', { expires: 1.5 })] }),
    rejects({ upserts: [device('a', { cseq: 2 ** 32 })] }),
    rejects({ upserts: [device('a', { key: '' })] }),
  ]).then((all) => {
    t.deepEqual(all, [true, true, true, true, true]);
    t.end();
  }, t.end);
});

const BOB = 'bob@example.com';

/** The fast-path question for `device(name)` from its usual source, as the REGISTER handler asks it. */
function refreshOf(name: string, over: Partial<RefreshRequest> = {}): RefreshRequest {
  const contact = `sip:${name}@10.0.0.1:5060`;
  return {
    key: contact,
    contact,
    callId: `call-${name}`,
    cseq: 3,
    source: '10.0.0.1:5060',
    sourceAddress: '10.0.0.1',
    minRemainingMs: 30_000,
    grantIfUnknown: 3600,
    grantCeiling: 1800,
    ...over,
  };
}

/** desk and mobile on `aor`, desk refreshed last so that user:<aor> mirrors it. */
async function deskAndMobile(store: BindingStore, aor: string, t0: number): Promise<void> {
  await store.apply(aor, REALM, { upserts: [device('desk')] }, t0);
  await store.apply(aor, REALM, { upserts: [device('mobile')] }, t0 + 1000);
  await store.apply(aor, REALM, { upserts: [device('desk', { cseq: 2 })] }, t0 + 2000);
}

storeTest('refresh writes exactly what the list-then-apply fast path wrote', async (t, { redis, store, t0 }) => {
  await deskAndMobile(store, AOR, t0);
  await deskAndMobile(store, BOB, t0);
  const now = t0 + 5000;

  const fast = await store.refresh(AOR, REALM, refreshOf('desk'), now);

  // The former fast path: read every binding, then apply the stored one with the new CSeq and lifetime.
  const stored = (await store.list(BOB, now)).find((b) => b.key === 'sip:desk@10.0.0.1:5060');
  if (!stored) return void t.fail('no stored desk binding');
  const { expiresAt: _e, updatedAt: _u, remaining: _r, ...input } = stored;
  const slow = await store.apply(BOB, REALM, { upserts: [{ ...input, cseq: 3, expires: 1800 }] }, now);

  t.ok(fast.ok && slow.ok, 'both extend the binding');
  if (!fast.ok || !slow.ok) return;
  t.deepEqual(fast.bindings, slow.bindings.map(({ key, contact, expiresAt, remaining }) => ({ key, contact, expiresAt, remaining })),
    'same summary of live bindings');
  t.equal(fast.bindings[0].expiresAt, now + 1_800_000, 'granted the ceiling, below the 3600 s granted before');
  t.deepEqual(await redis.hgetall(keys.bindings(AOR)), await redis.hgetall(keys.bindings(BOB)), 'hash values byte for byte');
  t.equal(await redis.get(keys.user(AOR)), await redis.get(keys.user(BOB)), 'user:<aor> byte for byte');
  t.equal(await redis.ttl(keys.user(AOR)), await redis.ttl(keys.user(BOB)), 'same TTL');
  t.equal(await redis.zscore(keys.activeUsers, keys.user(AOR)), String(now + 1_800_000), 'active-user score');
  t.equal(await redis.zscore(keys.activeUsersOfRealm(REALM), keys.user(AOR)), String(now + 1_800_000), 'realm zset score');
  const record = JSON.parse((await redis.get(keys.user(AOR))) ?? '{}') as RegistrationRecord;
  t.equal(record.expiryTime, now + 1_800_000, 'legacy expiryTime follows the binding');
  t.equal(record.grantedExpires, 3600, 'the lifetime of the last full authentication is kept');
});

storeTest('refresh grants what the last authentication granted, else grantIfUnknown, never above the ceiling', async (t, { store, t0 }) => {
  const { grantedExpires: _g, ...legacyWithoutGrant } = legacyFor('sip:desk@10.0.0.1:5060', 'call-desk');
  await store.apply(AOR, REALM, { upserts: [device('desk', { legacy: { ...legacyWithoutGrant }, expires: 600 })] }, t0);
  const unknown = await store.refresh(AOR, REALM, refreshOf('desk', { cseq: 2, grantIfUnknown: 900, grantCeiling: 7200 }), t0 + 1000);
  t.equal(unknown.ok && unknown.bindings[0].expiresAt, t0 + 1000 + 900_000, 'grantIfUnknown without grantedExpires');

  await store.apply(BOB, REALM, { upserts: [device('desk', { expires: 600 })] }, t0);
  const known = await store.refresh(BOB, REALM, refreshOf('desk', { cseq: 2, grantIfUnknown: 900, grantCeiling: 7200 }), t0 + 1000);
  t.equal(known.ok && known.bindings[0].expiresAt, t0 + 1000 + 3_600_000, 'grantedExpires (3600) of the legacy record');
});

storeTest('refresh changes nothing unless it comes from the binding source with its Contact and time left', async (t, { redis, store, t0 }) => {
  await deskAndMobile(store, AOR, t0);
  const before = await snapshot(redis);
  const refused: [string, RefreshRequest][] = [
    ['CSeq not above the stored one on the same Call-ID', refreshOf('desk', { cseq: 2 })],
    ['another source', refreshOf('desk', { source: '10.0.0.9:5060' })],
    ['another source port', refreshOf('desk', { source: '10.0.0.1:5062' })],
    ['another Contact on the key', refreshOf('desk', { contact: 'sip:desk@10.0.0.2:5060' })],
    ['unknown binding', refreshOf('desk', { key: 'sip:other@10.0.0.1:5060' })],
    ['too close to expiry', refreshOf('desk', { minRemainingMs: 3_600_000 })],
    ['too close to expiry, with another Call-ID', refreshOf('desk', { callId: 'call-new', minRemainingMs: 3_600_000 })],
  ];
  for (const [why, request] of refused) {
    const result = await store.refresh(AOR, REALM, request, t0 + 5000);
    t.equal(result.ok, false, `${why}: not refreshed${result.ok ? '' : ` (${result.why})`}`);
  }
  t.deepEqual(await snapshot(redis), before, 'nothing written');
  t.equal((await store.refresh(AOR, REALM, refreshOf('desk'), t0 + 5000)).ok, true, 'the same request on the right flow refreshes');
});

storeTest('refresh of a device the legacy record does not mirror extends it, and the record follows it', async (t, { redis, store, t0 }) => {
  await deskAndMobile(store, AOR, t0);
  const result = await store.refresh(AOR, REALM, refreshOf('mobile'), t0 + 5000);
  t.ok(result.ok, 'mobile refreshed without the mirror naming it');
  t.equal(result.ok && result.bindings[0].key, 'sip:mobile@10.0.0.1:5060', 'now the most recently updated binding');
  t.equal(JSON.parse((await redis.get(MEMBER)) ?? '{}').contact, 'sip:mobile@10.0.0.1:5060', 'as a full registration would');
});

/** A Call-ID with every character JSON has to escape that SIP allows in one, and some it would not. */
const REBOOTED = 'reboot"1\\x/y\tz\u0001\u00e9@10.0.0.1';

storeTest('refresh with another Call-ID writes exactly what a full registration with it writes', async (t, { redis, store, t0 }) => {
  await deskAndMobile(store, AOR, t0);
  await deskAndMobile(store, BOB, t0);
  const now = t0 + 5000;

  const fast = await store.refresh(AOR, REALM, refreshOf('desk', { callId: REBOOTED, cseq: 1 }), now);

  const stored = (await store.list(BOB, now)).find((b) => b.key === 'sip:desk@10.0.0.1:5060');
  if (!stored) return void t.fail('no stored desk binding');
  const { expiresAt: _e, updatedAt: _u, remaining: _r, ...input } = stored;
  const slow = await store.apply(BOB, REALM, {
    upserts: [{ ...input, callId: REBOOTED, cseq: 1, expires: 1800, legacy: { ...input.legacy, callId: REBOOTED } }],
  }, now);

  t.ok(fast.ok && slow.ok, 'both extend the binding, whatever the lower CSeq of the new Call-ID');
  t.deepEqual(await redis.hgetall(keys.bindings(AOR)), await redis.hgetall(keys.bindings(BOB)), 'hash values byte for byte');
  t.equal(await redis.get(keys.user(AOR)), await redis.get(keys.user(BOB)), 'user:<aor> byte for byte');
  const binding = (await store.list(AOR, now)).find((b) => b.key === 'sip:desk@10.0.0.1:5060');
  t.equal(binding?.callId, REBOOTED, 'the binding took the new Call-ID');
  t.equal(binding?.cseq, 1, 'and its CSeq');
  t.equal(binding?.legacy.callId, REBOOTED, 'the legacy record too');
  const mobile = (await store.list(AOR, now)).find((b) => b.key === 'sip:mobile@10.0.0.1:5060');
  t.equal(mobile?.callId, 'call-mobile', 'the other binding is untouched');
});

storeTest('after a refresh with another Call-ID, the CSeq rules follow the new Call-ID', async (t, { store, t0 }) => {
  await deskAndMobile(store, AOR, t0);
  t.ok((await store.refresh(AOR, REALM, refreshOf('desk', { callId: 'rebooted', cseq: 7 }), t0 + 5000)).ok, 'new Call-ID, CSeq 7');
  const again = await store.refresh(AOR, REALM, refreshOf('desk', { callId: 'rebooted', cseq: 7 }), t0 + 6000);
  t.equal(again.ok, false, 'the same CSeq on the new Call-ID is not a refresh');
  t.ok((await store.refresh(AOR, REALM, refreshOf('desk', { callId: 'rebooted', cseq: 8 }), t0 + 7000)).ok, 'CSeq 8 is');
  const stale = await store.apply(AOR, REALM, { upserts: [device('desk', { callId: 'rebooted', cseq: 8 })] }, t0 + 8000);
  t.deepEqual(stale, { ok: false, reason: 'out-of-order', key: 'sip:desk@10.0.0.1:5060' }, 'a full REGISTER with CSeq 8 is out of order');
  const old = await store.refresh(AOR, REALM, refreshOf('desk', { callId: 'call-desk', cseq: 2 }), t0 + 9000);
  t.ok(old.ok, 'the former Call-ID is another Call-ID again: accepted, as RFC 3261 10.3 step 7 accepts it');
});

storeTest('refresh from a banned source answers banned and changes nothing', async (t, { redis, store, t0 }) => {
  await deskAndMobile(store, AOR, t0);
  await redis.set(keys.bannedSource('10.0.0.1'), '1', 'PX', 60_000);
  const before = await snapshot(redis);
  t.deepEqual(await store.refresh(AOR, REALM, refreshOf('desk'), t0 + 5000), { ok: false, why: 'banned', banned: true });
  t.deepEqual(await snapshot(redis), before, 'nothing written');
  const other = await store.refresh(AOR, REALM, refreshOf('desk', { sourceAddress: '10.0.0.2' }), t0 + 5000);
  t.equal(other.ok, true, 'another source is not banned');
});

storeTest('refresh of an AoR with no record is refused', async (t, { redis, store, t0 }) => {
  const result = await store.refresh(AOR, REALM, refreshOf('desk'), t0);
  t.equal(result.ok, false);
  t.deepEqual(await redis.keys('*'), [], 'nothing written');
});

storeTest('current lists the live bindings newest first and writes nothing, expired ones included', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('desk', { expires: 60 })] }, t0);
  await store.apply(AOR, REALM, { upserts: [device('mobile', { expires: 600 })] }, t0 + 1000);
  await store.apply(AOR, REALM, { upserts: [device('tablet', { expires: 10 })] }, t0 + 2000);
  const before = await snapshot(redis);
  const later = t0 + 30_000;
  const listed = await store.current(AOR, later);
  t.deepEqual(listed.map((b) => [b.key, b.contact, b.expiresAt, b.remaining]), [
    ['sip:mobile@10.0.0.1:5060', 'sip:mobile@10.0.0.1:5060', t0 + 601_000, 571],
    ['sip:desk@10.0.0.1:5060', 'sip:desk@10.0.0.1:5060', t0 + 60_000, 30],
  ], 'tablet (expired) left out; the others most recently updated first, with what they have left');
  t.deepEqual(await snapshot(redis), before, 'the expired binding was not pruned: nothing written');
  const viaList = (await store.list(AOR, later)).map(({ key, contact, expiresAt, remaining }) => ({ key, contact, expiresAt, remaining }));
  t.deepEqual(listed, viaList, 'what list() (which prunes) would answer');
});

storeTest('current of an AoR known only from a reference-written user:<aor> lists that record; unknown AoRs list nothing', async (t, { redis, store, t0 }) => {
  t.deepEqual(await store.current(AOR, t0), [], 'nothing for an unknown AoR');
  t.deepEqual(await redis.keys('*'), [], 'and nothing written');
  await redis.set(MEMBER, JSON.stringify({ contact: 'sip:alice@192.0.2.7:5060', proxy: 'sip:192.0.2.7:5060', expiryTime: t0 + 120_000 }), 'EX', 120);
  t.deepEqual(await store.current(AOR, t0), [
    { key: 'sip:alice@192.0.2.7:5060', contact: 'sip:alice@192.0.2.7:5060', expiresAt: t0 + 120_000, remaining: 120 },
  ]);
  t.deepEqual(await store.current(AOR, t0 + 121_000), [], 'not once its expiryTime has passed');
});

storeTest('applyForAnswer writes what apply writes and answers with summaries', async (t, { redis, store, t0 }) => {
  await store.apply(AOR, REALM, { upserts: [device('desk')] }, t0);
  await store.apply(BOB, REALM, { upserts: [device('desk')] }, t0);
  const full = okBindings(t, await store.apply(AOR, REALM, { upserts: [device('mobile', { expires: 600 })] }, t0 + 1000));
  const brief = await store.applyForAnswer(BOB, REALM, { upserts: [device('mobile', { expires: 600 })] }, t0 + 1000);
  t.ok(brief.ok);
  if (!brief.ok) return;
  t.deepEqual(brief.bindings, full.map(({ key, contact, expiresAt, remaining }) => ({ key, contact, expiresAt, remaining })));
  t.deepEqual(await redis.hgetall(keys.bindings(BOB)), await redis.hgetall(keys.bindings(AOR)));
  t.equal(await redis.get(keys.user(BOB)), await redis.get(keys.user(AOR)));
  const stale = await store.applyForAnswer(BOB, REALM, { upserts: [device('mobile', { expires: 600 })] }, t0 + 2000);
  t.deepEqual(stale, { ok: false, reason: 'out-of-order', key: 'sip:mobile@10.0.0.1:5060' }, 'refusals as apply gives them');
});

storeTest('refresh with a reservation: takes the place only when the request is no refresh, refuses it when the window is full', async (t, { redis, store, t0 }) => {
  await deskAndMobile(store, AOR, t0);
  const windowKey = keys.authFailuresBySource('10.0.0.1');
  const plan = (member: string) => ({ key: windowKey, windowMs: 60_000, threshold: 2, member });

  const fast = await store.refresh(AOR, REALM, refreshOf('desk', { reserve: plan('m-fast') }), t0 + 5000);
  t.ok(fast.ok, 'a refresh is answered');
  t.equal(await redis.zcard(windowKey), 0, 'and takes no place: it is not authenticated');

  const first = await store.refresh(AOR, REALM, refreshOf('desk', { source: '10.0.0.1:5999', reserve: plan('m-1') }), t0 + 5000);
  t.equal(!first.ok && first.reserved, true, 'no refresh: the place is taken');
  t.deepEqual(await redis.zrange(windowKey, 0, -1), ['m-1'], 'as the member given');
  const second = await store.refresh(AOR, REALM, refreshOf('desk', { source: '10.0.0.1:5999', reserve: plan('m-2') }), t0 + 5000);
  t.equal(!second.ok && second.reserved, true, 'a second place below the threshold of 2');
  const third = await store.refresh(AOR, REALM, refreshOf('desk', { source: '10.0.0.1:5999', reserve: plan('m-3') }), t0 + 5000);
  t.equal(!third.ok && third.reserved, false, 'the window is full: refused');
  t.deepEqual((await redis.zrange(windowKey, 0, -1)).sort(), ['m-1', 'm-2'], 'and not added');
  t.ok((await redis.pttl(windowKey)) > 0, 'the window expires');

  const unasked = await store.refresh(AOR, REALM, refreshOf('desk', { source: '10.0.0.1:5999' }), t0 + 5000);
  t.equal(!unasked.ok && unasked.reserved, undefined, 'without a reservation asked, none is answered');

  await redis.set(keys.bannedSource('10.0.0.1'), '1');
  const banned = await store.refresh(AOR, REALM, refreshOf('desk', { source: '10.0.0.1:5999', reserve: plan('m-4') }), t0 + 5000);
  t.equal(!banned.ok && banned.banned, true, 'a banned source is refused first');
  t.equal(await redis.zscore(windowKey, 'm-4'), null, 'and takes no place');
});
