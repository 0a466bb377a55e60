import test from 'tape';
import { TtlCache } from '../../lib/cache/ttl-cache';
import { parentDomain } from '../../lib/db/accounts';
import { deviceLimit } from '../../lib/db/device-limits';
import { grantFromHookReply, grantedExpires } from '../../lib/registrar/grant';
import { advertisedExpires, isBehindNat } from '../../lib/registrar/nat';
import type { RegisterRequest } from '../../lib/registrar/register-request.types';
import { isValidSipStatus } from '../../lib/registrar/sip-status';

function request(overrides: Partial<RegisterRequest>): RegisterRequest {
  return {
    aor: 'alice@example.com', realm: 'example.com', contactHeader: '<sip:alice@10.0.0.5:5060>',
    contactUri: 'sip:alice@10.0.0.5:5060', contactHost: '10.0.0.5', contactPort: 5060, expires: 3600,
    type: 'register', transport: 'udp', sourceAddress: '10.0.0.5', sourcePort: 5060, callId: 'c1', cseq: 1, contacts: [],
    ...overrides,
  };
}

test('nat: a UDP device is behind NAT when its Contact is not where its packets come from', (t) => {
  t.notOk(isBehindNat(request({})), 'Contact equals the source');
  t.ok(isBehindNat(request({ sourceAddress: '203.0.113.9' })), 'other address');
  t.ok(isBehindNat(request({ sourcePort: 40000 })), 'other port');
  t.notOk(isBehindNat(request({ contactPort: undefined })), 'Contact without port means 5060');
  t.notOk(isBehindNat(request({ transport: 'tcp', sourcePort: 40000 })), 'TCP is never shortened');
  t.notOk(isBehindNat(request({ transport: 'wss', contactHost: 'df7jal23ls0d.invalid' })), 'WSS is never shortened');
  t.equal(advertisedExpires(request({ sourcePort: 40000 }), 3600, 30), 30);
  t.equal(advertisedExpires(request({ sourcePort: 40000 }), 20, 30), 20, 'never more than granted');
  t.equal(advertisedExpires(request({}), 3600, 30), 3600);
  t.end();
});

test('grant: the hook may shorten but never lengthen the requested expiry', (t) => {
  t.equal(grantedExpires(grantFromHookReply({ status: 'ok', expires: 45 }), 3600), 45);
  t.equal(grantedExpires(grantFromHookReply({ status: 'ok', expires: 7200 }), 3600), 3600);
  t.equal(grantedExpires(grantFromHookReply({ status: 'ok', expires: 0 }), 600), 600, '0 means the requested value');
  t.equal(grantedExpires(grantFromHookReply({ status: 'ok' }), 600), 600);
  t.equal(grantedExpires(grantFromHookReply({ status: 'ok', expires: 'soon' }), 600), 600, 'garbage ignored');
  const grant = grantFromHookReply({ status: 'ok', call_hook: { url: 'https://x' }, allow_direct_user_calling: 'true',
    allow_direct_app_calling: 'false', allow_direct_queue_calling: 1 });
  t.deepEqual(grant.callHook, { url: 'https://x' });
  t.equal(grant.allowDirectUserCalling, true);
  t.equal(grant.allowDirectAppCalling, false);
  t.equal(grant.allowDirectQueueCalling, true);
  t.end();
});

test('accounts: the parent-domain fallback strips one label from realms of three labels or more', (t) => {
  t.equal(parentDomain('acme.sip.example.com'), 'sip.example.com');
  t.equal(parentDomain('sip.example.com'), 'example.com');
  t.equal(parentDomain('example.com'), undefined);
  t.end();
});

test('device limit: call sessions × ratio plus extra devices', (t) => {
  t.equal(deviceLimit({ voiceCallSessions: 20, extraDevices: 2 }, 0), 2);
  t.equal(deviceLimit({ voiceCallSessions: 2 }, 5), 10);
  t.equal(deviceLimit({}, 5), 0);
  t.end();
});

test('sip status: only codes drachtio-srf can send are passed through', (t) => {
  t.ok(isValidSipStatus(404));
  t.ok(isValidSipStatus(503));
  t.notOk(isValidSipStatus(299));
  t.notOk(isValidSipStatus(700));
  t.notOk(isValidSipStatus(42));
  t.end();
});

test('ttl cache: hits within the TTL, one load for concurrent misses, bounded size', async (t) => {
  let clock = 0;
  let loads = 0;
  const cache = new TtlCache<string, number>(1000, 2, () => clock);
  const load = async () => ++loads;
  const [a, b] = await Promise.all([cache.get('x', load), cache.get('x', load)]);
  t.equal(a, 1);
  t.equal(b, 1, 'concurrent lookups share one load');
  clock = 999;
  t.equal(await cache.get('x', load), 1, 'still fresh');
  clock = 1000;
  t.equal(await cache.get('x', load), 2, 'expired entries are reloaded');
  await cache.get('y', load);
  await cache.get('z', load);
  t.equal(cache.size, 2, 'oldest entry evicted past the bound');
  const failed = await cache.get('boom', async () => { throw new Error('db down'); }).catch((err: Error) => err.message);
  t.equal(failed, 'db down', 'a failed load rejects');
  t.equal(await cache.get('boom', load), 5, 'errors are not cached');
});
