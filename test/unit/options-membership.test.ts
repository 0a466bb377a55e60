/**
 * Membership pieces on their own: parsing status pings, the trust decision, and the registry's Lua
 * scripts against the test Redis with an injected clock (expiry math without waiting).
 */
import test from 'tape';
import { parseStatusPing } from '../../lib/options/status-ping';
import { SourceTrust, STATUS_PING_IGNORED } from '../../lib/options/source-trust';
import { TopologyDiscovery } from '../../lib/options/topology-discovery';
import { MembershipRegistry } from '../../lib/options/membership-registry';
import { CidrSet } from '../../lib/net/cidr';
import { createTestRedis, flushTestRedis } from '../support/test-redis';

function source(headers: Record<string, string>, address = '10.0.0.5', port = 5070) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { address, port, header: (name: string) => lower[name.toLowerCase()] };
}

test('options unit: parseStatusPing', (t) => {
  t.equal(parseStatusPing(source({})), undefined, 'no status header: external ping');
  t.equal(parseStatusPing(source({ 'X-FS-Status': '  ' })), undefined, 'an empty status is no status');
  t.deepEqual(parseStatusPing(source({ 'X-FS-Status': 'open', 'X-FS-ServiceUrl': 'http://10.0.0.5:3000' })),
    { kind: 'fs', open: true, member: '10.0.0.5:5070', sourceIp: '10.0.0.5', serviceUrl: 'http://10.0.0.5:3000' },
    'feature server: ip:port member and service URL');
  t.equal(parseStatusPing(source({ 'X-FS-Status': 'OPEN' }))?.open, true, 'status is case-insensitive');
  t.equal(parseStatusPing(source({ 'X-FS-Status': 'closed' }))?.open, false, 'closed');
  t.equal(parseStatusPing(source({ 'X-FS-Status': 'draining' }))?.open, false, 'any other value counts as closed');
  t.deepEqual(parseStatusPing(source({ 'X-RTP-Status': 'open' })),
    { kind: 'rtp', open: true, member: '10.0.0.5', sourceIp: '10.0.0.5' }, 'rtp server: bare IP member');
  t.equal(parseStatusPing(source({ 'X-FS-Status': 'open', 'X-RTP-Status': 'open' }))?.kind, 'fs',
    'X-FS-Status wins when both are present, as in jambonz');
  t.end();
});

test('options unit: SourceTrust', (t) => {
  const trust = new SourceTrust([new CidrSet(['10.0.0.0/8']), new CidrSet(['203.0.113.7/32', 'fd00::/8'])], STATUS_PING_IGNORED);
  t.ok(trust.isTrusted('10.1.2.3'), 'inside the network');
  t.ok(trust.isTrusted('203.0.113.7'), 'on the extra allow-list');
  t.ok(trust.isTrusted('fd00::1'), 'IPv6 allow-list');
  t.notOk(trust.isTrusted('203.0.113.8'), 'outside both');
  t.notOk(trust.isTrusted('not-an-ip'), 'garbage is never trusted');
  t.end();
});

test('options unit: a discovery request is X-Jambonz-Discover: true in any case, as the reference reads it', (t) => {
  const lookup = (value?: string) => (name: string) => (name.toLowerCase() === 'x-jambonz-discover' ? value : undefined);
  t.ok(TopologyDiscovery.isRequest(lookup('true')), 'true');
  t.ok(TopologyDiscovery.isRequest(lookup(' TRUE ')), 'any case, blanks ignored');
  t.notOk(TopologyDiscovery.isRequest(lookup('1')), '1 is not true');
  t.notOk(TopologyDiscovery.isRequest(lookup('yes')), 'nor is yes');
  t.notOk(TopologyDiscovery.isRequest(lookup(undefined)), 'absent');
  t.end();
});

test('options unit: registry check-in, drained and expiry with an injected clock', async (t) => {
  const redis = createTestRedis();
  await flushTestRedis(redis);
  const registry = new MembershipRegistry(redis, 'unit');
  const fs = (ip: string, open = true, serviceUrl?: string) =>
    ({ kind: 'fs' as const, open, member: `${ip}:5060`, sourceIp: ip, serviceUrl });
  try {
    t.deepEqual(await registry.checkIn(fs('10.0.0.1', true, 'http://a'), 1000), { status: 'open', members: 1, changed: true });
    t.deepEqual(await registry.checkIn(fs('10.0.0.1'), 2000), { status: 'open', members: 1, changed: false }, 'refresh');
    await redis.sadd('unit:drained-fs', '10.0.0.2');
    t.deepEqual(await registry.checkIn(fs('10.0.0.2'), 2000), { status: 'drained', members: 1, changed: false }, 'drained');
    await redis.sadd('unit:active-rtp', '10.0.0.9');
    // At 2500 the sweep also stamps the never-seen RTP member. The URL was last announced at 1000.
    t.deepEqual((await registry.sweep(1000, 2500)).flatMap((r) => r.removed), ['http://a'],
      'at 2500 only the URL (announced at 1000, not since) is stale');
    t.deepEqual((await registry.sweep(1000, 3001)).flatMap((r) => r.removed), ['10.0.0.1:5060'],
      'at 3001 the fs member (seen 2000) is');
    t.deepEqual(await registry.members('rtp'), ['10.0.0.9'], 'the rtp leftover, stamped at 2500, is not yet');
    t.deepEqual((await registry.sweep(1000, 3500)).flatMap((r) => r.removed), [], 'exactly one interval is not stale');
    t.deepEqual((await registry.sweep(1000, 3501)).flatMap((r) => r.removed), ['10.0.0.9'], 'one ms more is');
    t.equal(await redis.exists('unit:active-rtp:lastseen'), 0, 'last-seen entries leave with their members');
  } finally {
    await flushTestRedis(redis);
    redis.disconnect();
  }
});

test('options unit: the last-seen record is jambonz 0.9.7\'s hash, read and written as it does', async (t) => {
  const redis = createTestRedis();
  await flushTestRedis(redis);
  const registry = new MembershipRegistry(redis, 'unit');
  const rtp = (ip: string, open = true) => ({ kind: 'rtp' as const, open, member: ip, sourceIp: ip });
  try {
    await registry.checkIn(rtp('10.0.0.1'), 1000);
    t.equal(await redis.hget('unit:active-rtp:lastseen', '10.0.0.1'), '1000', 'an open ping stamps the hash in epoch ms');
    // Another sidecar (jambonz 0.9.7) hears from 10.0.0.2 and stamps the same hash the way it does.
    await redis.sadd('unit:active-rtp', '10.0.0.2');
    await redis.hset('unit:active-rtp:lastseen', '10.0.0.2', '2400');
    t.deepEqual((await registry.sweep(1000, 3000)).flatMap((r) => r.removed), ['10.0.0.1'],
      'at 3000 the member this sidecar heard at 1000 expires; the one another sidecar heard at 2400 stays');
    t.deepEqual(await registry.members('rtp'), ['10.0.0.2'], 'kept in the set');
    t.equal(await redis.hexists('unit:active-rtp:lastseen', '10.0.0.1'), 0, 'the expired member leaves the hash');
    await redis.hset('unit:active-rtp:lastseen', '10.0.0.2', 'garbage');
    t.deepEqual((await registry.sweep(1000, 9000)).flatMap((r) => r.removed), [], 'an unreadable stamp is not expired at once');
    t.equal(await redis.hget('unit:active-rtp:lastseen', '10.0.0.2'), '9000', 'but restamped: one interval to check in');
    await registry.checkIn(rtp('10.0.0.2', false), 9100);
    t.equal(await redis.hexists('unit:active-rtp:lastseen', '10.0.0.2'), 0, 'a closed ping deletes the stamp (HDEL, as jambonz)');
  } finally {
    await flushTestRedis(redis);
    redis.disconnect();
  }
});
