/**
 * regbot's pure rules: derived identity and the REGISTER, expiry of our own binding, refresh and backoff
 * timing (with pinned randomness), digest answering, rendezvous ownership and pacing.
 */
import test from 'tape';
import { toTarget, nextHopOf, RegistrationTarget } from '../../lib/regbot/registration-target';
import { buildRegister, callIdOf, contactAddress, contactOf } from '../../lib/regbot/register-request-builder';
import { handOverGraceMs } from '../../lib/regbot/leaving-registrations';
import {
  grantedExpires, refreshDelayMs, failureDelayMs, forbiddenDelayMs, parseRetryAfter, requestedExpires,
} from '../../lib/regbot/refresh-schedule';
import { answerChallenge, ChallengeCounters } from '../../lib/regbot/digest-responder';
import { rendezvousOwner } from '../../lib/regbot/gateway-ownership';
import { Pacer } from '../../lib/regbot/pacer';
import { SendSlots } from '../../lib/regbot/send-slots';
import { StateChangeFilter } from '../../lib/regbot/state-change-filter';
import { srvNameFor, carrierAddresses } from '../../lib/regbot/ephemeral-gateways';
import { GatewayAddresses } from '../../lib/regbot/gateway-addresses';
import { parseAuthorization, verifyResponse } from '../../lib/sip/digest';
import type { RegistrationRow } from '../../lib/db/carriers';

const ROW: RegistrationRow = {
  voipCarrierSid: 'c1', carrierName: 'Carrier', accountSid: null, serviceProviderSid: null,
  registerPassword: 'secret', registerUsername: 'user1', registerSipRealm: null, registerFromUser: null,
  registerFromDomain: null, registerPublicIpInContact: false, outboundSipProxy: null, trunkType: 'static_ip',
  accountSipRealm: null, sipGatewaySid: 'g1', ipv4: '192.0.2.10', port: 5080, protocol: 'udp', useSipsScheme: false,
};

function target(row: Partial<RegistrationRow> = {}): RegistrationTarget {
  const result = toTarget({ ...ROW, ...row });
  if (!result.ok) throw new Error(result.reason);
  return result.target;
}

test('regbot rules: derived identity and next hop', (t) => {
  const plain = target();
  t.equal(plain.sipRealm, '192.0.2.10', 'realm defaults to the gateway address');
  t.equal(plain.fromUser, 'user1');
  t.equal(nextHopOf(plain), 'sip:192.0.2.10:5080;transport=udp', 'IPv4 literal keeps its port');
  const named = target({ ipv4: 'sip.carrier.test', registerSipRealm: 'carrier.test', registerFromUser: 'from', registerFromDomain: 'from.test', protocol: 'tls/srtp', useSipsScheme: true });
  t.equal(nextHopOf(named), 'sip:sip.carrier.test;transport=tls', 'host name without port (drachtio does SRV)');
  t.equal(named.scheme, 'sips');
  t.equal(nextHopOf(target({ outboundSipProxy: 'proxy.test:5070' })), 'sip:proxy.test:5070;transport=udp', 'outbound proxy wins');
  t.notOk(toTarget({ ...ROW, registerPassword: '' }).ok, 'no password: not registered');
  t.notOk(toTarget({ ...ROW, registerFromDomain: 'bad domain!' }).ok, 'invalid From domain refused');
  t.notEqual(target().configKey, target({ registerPassword: 'other' }).configKey, 'credentials are part of the config key');
  t.notOk(target().configKey.includes('secret'), 'config key holds no password');
  t.end();
});

test('regbot rules: Contact precedence and REGISTER headers', (t) => {
  const ctx = { publicAddresses: { udp: '203.0.113.5:5060', tls: '203.0.113.5:5061' }, sipDomainName: 'sip.jambonz.test', contactUseIp: false };
  t.equal(contactAddress(target({ registerPublicIpInContact: true }), ctx), 'user1@203.0.113.5:5060', 'public IP first');
  t.equal(contactAddress(target({ registerPublicIpInContact: true, protocol: 'tls' }), ctx), 'user1@203.0.113.5:5061', 'tls address for tls');
  t.equal(contactAddress(target({ accountSipRealm: 'acct.test' }), ctx), 'user1@acct.test', 'then the account realm');
  t.equal(contactAddress(target(), ctx), 'user1@sip.jambonz.test', 'then the system SIP domain');
  t.equal(contactAddress(target(), { ...ctx, sipDomainName: undefined }), 'user1@192.0.2.10', 'then the carrier realm');
  const req = buildRegister({ target: target({ registerSipRealm: 'carrier.test' }), contact: 'user1@x.test', expires: 3600, callId: 'g1', cseq: 7, fromTag: 'abc', userAgent: 'UA' });
  t.equal(req.uri, 'sip:carrier.test');
  t.deepEqual(req.headers, {
    'Call-ID': 'g1', CSeq: '7 REGISTER', From: '<sip:user1@carrier.test>;tag=abc', To: '<sip:user1@carrier.test>',
    Contact: '<sip:user1@x.test;transport=udp>;expires=3600', Expires: '3600', 'User-Agent': 'UA',
  });
  t.end();
});

test('regbot rules: the Call-ID is the gateway sid @ the host of our Contact', (t) => {
  const ctx = { publicAddresses: { udp: '203.0.113.5:5060' }, sipDomainName: 'sip.jambonz.test', contactUseIp: false };
  const own = contactOf(target({ registerPublicIpInContact: true }), ctx);
  t.deepEqual(own, { address: 'user1@203.0.113.5:5060', ownAddress: true }, 'public IP: this SBC\'s own binding');
  t.equal(callIdOf('gw-1', own.address), 'gw-1@203.0.113.5', 'the reference form <sip_gateway_sid>@<SBC public IP>, without the port');
  t.deepEqual(contactOf(target(), ctx), { address: 'user1@sip.jambonz.test', ownAddress: false }, 'a domain: shared by every instance');
  t.equal(callIdOf('gw-1', 'user1@sip.jambonz.test'), 'gw-1@sip.jambonz.test', 'the same on every instance');
  t.equal(callIdOf('gw-1', 'user1@carrier.test:5080'), 'gw-1@carrier.test');
  t.equal(callIdOf('gw-1', 'a@b@[2001:db8::5]:5060'), 'gw-1@[2001:db8::5]', 'IPv6 kept in brackets, last @ splits');
  t.equal(contactOf(target({ registerPublicIpInContact: true }), { ...ctx, publicAddresses: {} }).ownAddress, false,
    'no public address known: the domain, not our own');
  t.end();
});

test('regbot rules: a public-IP binding handed over is un-REGISTERed after the new owner had time to register', (t) => {
  t.equal(handOverGraceMs(17500, 0, 40), 27500, 'its next heartbeat + 10 s for the REGISTER exchange');
  t.equal(handOverGraceMs(17500, 400, 40), 37500, '+ the pacing of what moved (400 at 40/s: 10 s)');
  t.equal(handOverGraceMs(500, 400, 0), 10500, 'no pacing configured: nothing for it');
  t.end();
});

test('regbot rules: the expiry of our own binding', (t) => {
  const base = { expiresHeader: undefined, ourContact: 'u@me.test', requested: 3600, minExpires: 30 };
  t.equal(grantedExpires({ ...base, contactHeader: '<sip:other@x>;expires=60, <sip:u@me.test;transport=udp>;expires=120' }), 120, 'ours, not the first');
  t.equal(grantedExpires({ ...base, contactHeader: '<sip:other@x>;expires=60', expiresHeader: '300' }), 300, 'Expires header when ours is missing');
  t.equal(grantedExpires({ ...base, contactHeader: undefined }), 3600, 'else what we asked for');
  t.equal(grantedExpires({ ...base, contactHeader: '<sip:u@me.test>;expires=5' }), 30, 'floored at the minimum');
  t.equal(grantedExpires({ ...base, ourContact: 'u@me.test:5060', contactHeader: '<sip:u@ME.test>;expires=90' }), 90, 'host case and a dropped port tolerated');
  t.equal(requestedExpires(3600, undefined), 3600, 'always ask for the configured value');
  t.equal(requestedExpires(3600, 7200), 7200, 'raised by a 423 Min-Expires');
  t.end();
});

test('regbot rules: refresh and backoff timing', (t) => {
  t.equal(refreshDelayMs(3600, 0.5, 0.1, () => 0), 1800000, 'fraction of the expiry');
  t.equal(refreshDelayMs(3600, 0.5, 0.1, () => 1), 1440000, 'jitter only pulls earlier');
  t.equal(failureDelayMs({ failures: 1, baseMs: 1000, capMs: 60000, random: () => 0 }), 500, 'equal jitter: half fixed');
  t.equal(failureDelayMs({ failures: 3, baseMs: 1000, capMs: 60000, random: () => 1 }), 4000, 'doubles per failure');
  t.equal(failureDelayMs({ failures: 30, baseMs: 1000, capMs: 60000, random: () => 1 }), 60000, 'capped');
  t.equal(failureDelayMs({ failures: 1, baseMs: 1000, capMs: 60000, retryAfterSec: 120, random: () => 0 }), 120000, 'Retry-After is a floor');
  t.equal(parseRetryAfter('30 (maintenance);duration=60'), 30);
  t.equal(parseRetryAfter('soon'), undefined);
  const f = forbiddenDelayMs(1800, () => 0.5);
  t.equal(f, 1800000, '403: the slow interval');
  t.end();
});

test('regbot rules: digest answers (qop list, strongest algorithm, stale, bound)', (t) => {
  const counters: ChallengeCounters = { challenges: 0, stale: 0 };
  const input = { status: 401 as const, username: 'u', password: 'p', uri: 'sip:r.test', counters, cnonce: 'c0ffee' };
  const first = answerChallenge({ ...input, challengeHeader: 'Digest realm="r.test", nonce="n", qop="auth,auth-int", algorithm=MD5,Digest realm="r.test", nonce="n", qop="auth", algorithm=SHA-256' });
  t.ok(first.ok && first.algorithm === 'SHA-256' && first.header === 'Authorization', 'SHA-256 chosen');
  const parsed = first.ok ? parseAuthorization(first.value) : undefined;
  t.ok(parsed?.ok && parsed.value.qop === 'auth' && verifyResponse(parsed.value, { password: 'p', method: 'REGISTER' }), 'verifies, qop=auth');
  const stale = answerChallenge({ ...input, challengeHeader: 'Digest realm="r.test", nonce="n2", stale=true' });
  t.ok(stale.ok && stale.stale, 'stale answered');
  t.equal(counters.challenges, 1, 'stale is not counted as a challenge');
  t.ok(answerChallenge({ ...input, challengeHeader: 'Digest realm="r.test", nonce="n3"' }).ok, 'a second challenge is answered');
  t.notOk(answerChallenge({ ...input, challengeHeader: 'Digest realm="r.test", nonce="n4"' }).ok, 'the third gives up');
  const proxy = answerChallenge({ ...input, status: 407, counters: { challenges: 0, stale: 0 }, challengeHeader: 'Digest realm="r", nonce="n", opaque="o"' });
  t.ok(proxy.ok && proxy.header === 'Proxy-Authorization' && proxy.value.includes('opaque="o"'), '407 → Proxy-Authorization with opaque');
  t.notOk(answerChallenge({ ...input, counters: { challenges: 0, stale: 0 }, challengeHeader: undefined }).ok, 'no challenge header');
  t.end();
});

test('regbot rules: rendezvous ownership moves only the leaving instance\'s share; pacing', (t) => {
  const gateways = Array.from({ length: 300 }, (_, i) => `gw-${i}`);
  const three = ['a', 'b', 'c'];
  const before = new Map(gateways.map((g) => [g, rendezvousOwner(three, g)]));
  const after = new Map(gateways.map((g) => [g, rendezvousOwner(['a', 'c'], g)]));
  t.ok(gateways.every((g) => before.get(g) === 'b' || after.get(g) === before.get(g)), 'only b\'s gateways move');
  const counts = three.map((i) => gateways.filter((g) => before.get(g) === i).length);
  t.ok(counts.every((n) => n > 60), `spread ${counts.join('/')}`);
  t.end();
});

test('regbot rules: the pacer grants turns 1/rate apart, counted from when each turn really ran', async (t) => {
  const pacer = new Pacer(50);
  const granted: number[] = [];
  const turns = Array.from({ length: 6 }, () => pacer.turn().then(() => {
    granted.push(Date.now());
    // the event loop stalls after the first turn: later timers fire late, and must not bunch up
    if (granted.length === 1) for (const end = Date.now() + 100; Date.now() < end;);
  }));
  t.equal(pacer.queued, 5, 'the first turn is granted at once, five wait');
  await Promise.all(turns);
  const gaps = granted.slice(1).map((time, i) => time - granted[i]);
  t.ok(gaps.every((gap) => gap >= 19), `every gap ≥ 20 ms at 50/s, stall included (${gaps.join(', ')})`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const idle = Date.now();
  await pacer.turn();
  t.ok(Date.now() - idle < 15, 'idle time is not banked, but a turn after a pause is granted at once');
  let off = false;
  await new Pacer(0).turn().then(() => { off = true; });
  t.ok(off, 'rate 0 turns pacing off');
  const cleared = new Pacer(1);
  await cleared.turn();
  void cleared.turn();
  cleared.clear();
  t.equal(cleared.queued, 0, 'clear() drops waiting callers (shutdown)');
});

test('regbot rules: eph-gw-ip resolution by transport', async (t) => {
  t.equal(srvNameFor({ transport: 'udp', host: 'c.test' }), '_sip._udp.c.test');
  t.equal(srvNameFor({ transport: 'tcp', host: 'c.test' }), '_sip._tcp.c.test');
  t.equal(srvNameFor({ transport: 'tls', host: 'c.test' }), '_sips._tcp.c.test');
  const asked: string[] = [];
  const resolver = {
    resolveSrv: async (name: string) => {
      asked.push(name);
      return [{ name: 'a.c.test', port: 5060, priority: 1, weight: 0 }, { name: 'b.c.test', port: 5060, priority: 2, weight: 0 }];
    },
    resolve4: async (name: string) => { asked.push(name); return [{ address: name === 'a.c.test' ? '192.0.2.1' : '192.0.2.2', ttl: 60 }]; },
  };
  const addresses = new GatewayAddresses({ client: resolver });
  t.deepEqual(await carrierAddresses({ transport: 'tcp', host: 'c.test', port: null }, addresses), ['192.0.2.1', '192.0.2.2']);
  t.deepEqual(asked, ['_sip._tcp.c.test', 'a.c.test', 'b.c.test'], 'SRV by transport, then A of the targets');
  t.deepEqual(await carrierAddresses({ transport: 'udp', host: '198.51.100.7', port: 5060 }, addresses), ['198.51.100.7'], 'IP literal as is');
});

test('regbot rules: SendSlots lets N senders through, serves the rest in order, exchanges in progress first', async (t) => {
  const slots = new SendSlots(2);
  const order: string[] = [];
  const releases = new Map<string, () => void>();
  const take = (name: string, continuing = false) => slots.acquire(continuing).then((release) => {
    order.push(name);
    releases.set(name, release);
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const taken = [take('a'), take('b'), take('c'), take('d')];
  await settle();
  t.deepEqual(order, ['a', 'b'], 'two slots taken, the others wait');
  t.deepEqual(slots.load, { open: 2, waiting: 2 });
  const continuing = take('a-answering-its-401', true);
  releases.get('a')?.();
  releases.get('a')?.();
  await settle();
  t.deepEqual(order, ['a', 'b', 'a-answering-its-401'], 'a continuing exchange goes ahead of first REGISTERs; a second release is ignored');
  t.deepEqual(slots.load, { open: 2, waiting: 2 });
  for (const name of ['b', 'a-answering-its-401', 'c', 'd']) {
    releases.get(name)?.();
    await settle();
  }
  await Promise.all([...taken, continuing]);
  t.deepEqual(order, ['a', 'b', 'a-answering-its-401', 'c', 'd'], 'then first REGISTERs in order');
  t.deepEqual(slots.load, { open: 0, waiting: 0 }, 'nothing left taken');
  const unbounded = new SendSlots(0);
  await unbounded.acquire(false);
  await unbounded.acquire(false);
  await unbounded.acquire(false);
  t.equal(unbounded.load.open, 3, '0: no cap');
});

test('regbot rules: state changes worth a log line (a successful refresh is none)', (t) => {
  const filter = new StateChangeFilter<object>();
  const a = {};
  const b = {};
  t.deepEqual(filter.changed(a, 'idle', 'registering'), { from: 'idle', to: 'registering' }, 'first attempt');
  t.deepEqual(filter.changed(a, 'registering', 'registered'), { from: 'registering', to: 'registered' }, 'registered');
  t.equal(filter.changed(a, 'registered', 'registering'), undefined, 'a refresh starts: held back');
  t.equal(filter.changed(a, 'registering', 'registered'), undefined, 'and succeeds: nothing to log');
  t.equal(filter.changed(a, 'registered', 'registering'), undefined, 'the next refresh starts');
  t.deepEqual(filter.changed(a, 'registering', 'failed'), { from: 'registered', to: 'failed' }, 'and fails: registered → failed');
  t.deepEqual(filter.changed(a, 'failed', 'registering'), { from: 'failed', to: 'registering' }, 'a retry is logged');
  t.equal(filter.changed(b, 'registered', 'registering'), undefined, 'b refreshing');
  t.deepEqual(filter.changed(b, 'registering', 'stopped'), { from: 'registered', to: 'stopped' }, 'stopped during its refresh');
  t.end();
});
