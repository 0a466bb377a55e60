/**
 * regbot failover rules: RFC 3263/2782 ordering of a gateway's addresses, their cache, the order of one
 * round of attempts (sticky address first, held addresses last), which outcomes move to the next address,
 * and a GatewayRegistration driven by a scripted sender through a round.
 */
import test from 'tape';
import {
  DnsClient, GatewayAddresses, MAX_CACHE_SEC, MIN_CACHE_SEC, SrvAnswer, orderSrv, resolveGateway,
} from '../../lib/regbot/gateway-addresses';
import { dropExpiredHolds, holdFor, Holds, roundOrder, triesNextAddress } from '../../lib/regbot/address-rotation';
import { nextHopTo, resolvesOwnAddresses, toTarget } from '../../lib/regbot/registration-target';
import type { FinalResponse, SendResult } from '../../lib/regbot/register-sender';
import { GatewayRegistration, RegistrationDeps } from '../../lib/regbot/gateway-registration';
import { ConfigError, loadConfig, type RegbotConfig } from '../../lib/config/config';
import type { RegistrationRow } from '../../lib/db/carriers';
import pino from 'pino';

const srv = (name: string, priority: number, weight: number, port = 5060): SrvAnswer => ({ name, port, priority, weight });

/** A fixed sequence of "random" numbers. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

interface Zone {
  srv?: Record<string, SrvAnswer[]>;
  a?: Record<string, { address: string; ttl: number }[]>;
}

/** A DNS client answering from a table and recording the questions. */
function zoneClient(zone: Zone): DnsClient & { asked: string[] } {
  const asked: string[] = [];
  const notFound = () => Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' });
  return {
    asked,
    resolveSrv: async (name) => {
      asked.push(`SRV ${name}`);
      const records = zone.srv?.[name];
      if (!records) throw notFound();
      return records;
    },
    resolve4: async (name) => {
      asked.push(`A ${name}`);
      const records = zone.a?.[name];
      if (!records) throw notFound();
      return records;
    },
  };
}

function response(status: number, headers: Record<string, string> = {}): SendResult {
  const final: FinalResponse = { status, reason: 'Test', header: (name) => headers[name] };
  return { ok: true, response: final };
}

test('regbot failover: SRV order is priority first, then a weighted draw', (t) => {
  const records = [srv('c', 20, 0), srv('a', 10, 60), srv('b', 10, 40)];
  t.deepEqual(orderSrv(records, sequence(0.1)).map((r) => r.name), ['a', 'b', 'c'], 'a draw inside the first 60 picks a');
  t.deepEqual(orderSrv(records, sequence(0.7)).map((r) => r.name), ['b', 'a', 'c'], 'a draw beyond 60 of 100 picks b');
  t.deepEqual(orderSrv(records, sequence(0.999999)).map((r) => r.name), ['b', 'a', 'c'], 'top of the range still picks a record');
  const zeroes = [srv('z1', 1, 0), srv('w', 1, 5), srv('z2', 1, 0)];
  t.equal(orderSrv(zeroes, sequence(0.99)).map((r) => r.name)[0], 'w', 'weighted records come before weight 0');
  t.deepEqual(orderSrv([], Math.random), [], 'no records');
  t.end();
});

test('regbot failover: RFC 3263 resolution of a gateway host', async (t) => {
  const zone: Zone = {
    srv: {
      '_sip._udp.carrier.test': [srv('b.carrier.test', 20, 0, 5080), srv('a.carrier.test', 10, 0, 5070)],
      '_sips._tcp.carrier.test': [srv('a.carrier.test', 10, 0, 5061)],
    },
    a: {
      'a.carrier.test': [{ address: '192.0.2.1', ttl: 60 }, { address: '192.0.2.2', ttl: 30 }],
      'b.carrier.test': [{ address: '192.0.2.3', ttl: 90 }],
      'carrier.test': [{ address: '192.0.2.9', ttl: 600 }],
      'plain.test': [{ address: '198.51.100.1', ttl: 1 }],
    },
  };
  const client = zoneClient(zone);
  const udp = await resolveGateway({ transport: 'udp', host: 'carrier.test', port: null }, client, sequence(0));
  t.deepEqual(udp.addresses, [
    { ip: '192.0.2.1', port: 5070 }, { ip: '192.0.2.2', port: 5070 }, { ip: '192.0.2.3', port: 5080 },
  ], 'SRV targets by priority, each with its A records and the SRV port');
  t.equal(udp.ttlSec, 30, 'cached for the shortest A TTL');
  const tls = await resolveGateway({ transport: 'tls', host: 'carrier.test', port: null }, client, sequence(0));
  t.deepEqual(tls.addresses, [{ ip: '192.0.2.1', port: 5061 }, { ip: '192.0.2.2', port: 5061 }], 'tls asks _sips._tcp');
  client.asked.length = 0;
  const tcp = await resolveGateway({ transport: 'tcp', host: 'carrier.test', port: null }, client, sequence(0));
  t.deepEqual(client.asked, ['SRV _sip._tcp.carrier.test', 'A carrier.test'], 'no SRV for the transport: A of the host');
  t.deepEqual(tcp.addresses, [{ ip: '192.0.2.9', port: 5060 }], 'with the default port');
  t.equal(tcp.ttlSec, MAX_CACHE_SEC, 'long TTLs are capped');
  client.asked.length = 0;
  const explicit = await resolveGateway({ transport: 'udp', host: 'carrier.test', port: 5099 }, client, sequence(0));
  t.deepEqual(client.asked, ['A carrier.test'], 'an explicit port skips SRV');
  t.deepEqual(explicit.addresses, [{ ip: '192.0.2.9', port: 5099 }]);
  const tlsDefault = await resolveGateway({ transport: 'tls', host: 'plain.test', port: null }, client, sequence(0));
  t.deepEqual(tlsDefault.addresses, [{ ip: '198.51.100.1', port: 5061 }], 'tls defaults to 5061');
  t.equal(tlsDefault.ttlSec, MIN_CACHE_SEC, 'tiny TTLs are raised to the floor');
  const missing = await resolveGateway({ transport: 'udp', host: 'nowhere.test', port: null }, client, sequence(0));
  t.deepEqual(missing, { addresses: [], ttlSec: MIN_CACHE_SEC }, 'unresolvable: empty, retried soon');
  const literal = await resolveGateway({ transport: 'udp', host: '203.0.113.5', port: null }, client, sequence(0));
  t.deepEqual(literal.addresses, [{ ip: '203.0.113.5', port: 5060 }], 'IP literal as is');
});

test('regbot failover: the cache keeps an answer for its TTL and drops it when told', async (t) => {
  let now = 1_000_000;
  const zone: Zone = { a: { 'gw.test': [{ address: '192.0.2.1', ttl: 60 }] } };
  const client = zoneClient(zone);
  const cache = new GatewayAddresses({ client, now: () => now });
  const target = { transport: 'udp' as const, host: 'gw.test', port: 5060 };
  await Promise.all([cache.addressesOf(target), cache.addressesOf(target)]);
  t.equal(client.asked.length, 1, 'concurrent callers share one lookup');
  zone.a = { 'gw.test': [{ address: '192.0.2.7', ttl: 60 }] };
  now += 59_000;
  t.deepEqual(await cache.addressesOf(target), [{ ip: '192.0.2.1', port: 5060 }], 'within the TTL: cached');
  now += 2_000;
  t.deepEqual(await cache.addressesOf(target), [{ ip: '192.0.2.7', port: 5060 }], 'after the TTL: asked again');
  zone.a = { 'gw.test': [{ address: '192.0.2.8', ttl: 60 }] };
  cache.forget(target);
  t.deepEqual(await cache.addressesOf(target), [{ ip: '192.0.2.8', port: 5060 }], 'forgotten (list used up): asked again');
  t.deepEqual(await cache.addressesOf({ ...target, transport: 'tcp' }), [{ ip: '192.0.2.8', port: 5060 }], 'keyed by transport too');
  t.equal(client.asked.length, 4);
});

test('regbot failover: order of one round', (t) => {
  const a = { ip: '192.0.2.1', port: 5060 };
  const b = { ip: '192.0.2.2', port: 5060 };
  const c = { ip: '192.0.2.3', port: 5060 };
  const none: Holds = new Map();
  t.deepEqual(roundOrder([a, b, c], undefined, none, 0), [a, b, c], 'DNS order');
  t.deepEqual(roundOrder([a, b, c], b, none, 0), [b, a, c], 'the address of the last 200 first, then DNS order');
  t.deepEqual(roundOrder([a, b], { ip: '192.0.2.9', port: 5060 }, none, 0), [a, b], 'a sticky address gone from DNS is ignored');
  const holds: Holds = new Map();
  holdFor(response(503, { 'Retry-After': '30' }), a, holds, 1000);
  holdFor(response(503), b, holds, 1000);
  holdFor(response(500, { 'Retry-After': '30' }), c, holds, 1000);
  t.deepEqual([...holds.keys()], ['192.0.2.1:5060'], 'only a 503 with Retry-After holds an address');
  t.deepEqual(roundOrder([a, b, c], a, holds, 30_999), [b, c, a], 'held (even if sticky): last');
  t.deepEqual(roundOrder([a, b, c], a, holds, 31_000), [a, b, c], 'hold over');
  dropExpiredHolds(holds, 31_000);
  t.equal(holds.size, 0, 'expired holds are dropped');
  t.end();
});

test('regbot failover: which outcomes try the next address', (t) => {
  t.ok(triesNextAddress(response(408)), '408');
  t.ok(triesNextAddress(response(503)), '503');
  t.ok(triesNextAddress(response(503, { 'Retry-After': '120' })), '503 with Retry-After (RFC 3261 21.5.4: alternate server)');
  t.ok(triesNextAddress({ ok: false, reason: 'no final response', transportFailure: true }), 'no final response');
  for (const status of [401, 403, 404, 423, 480, 500, 600]) t.notOk(triesNextAddress(response(status)), String(status));
  t.notOk(triesNextAddress({ ok: false, reason: 'drachtio not available' }), 'no drachtio: not the address\'s fault');
  t.end();
});

test('regbot failover: next hop for one address, and which gateways we resolve ourselves', (t) => {
  t.equal(nextHopTo({ ip: '192.0.2.1', port: 5070 }, 'tcp'), 'sip:192.0.2.1:5070;transport=tcp');
  t.ok(resolvesOwnAddresses({ host: 'sip.carrier.test', outboundProxy: null, transport: 'udp' }), 'host name: ours');
  t.ok(resolvesOwnAddresses({ host: 'sip.carrier.test', outboundProxy: null, transport: 'tcp' }), 'host name over TCP: ours');
  t.notOk(resolvesOwnAddresses({ host: 'sip.carrier.test', outboundProxy: null, transport: 'tls' }),
    'host name over TLS: drachtio (its certificate check needs the name)');
  t.notOk(resolvesOwnAddresses({ host: '192.0.2.1', outboundProxy: null, transport: 'udp' }), 'IP literal: as today');
  t.notOk(resolvesOwnAddresses({ host: 'sip.carrier.test', outboundProxy: 'proxy.test', transport: 'udp' }), 'outbound proxy: as today');
  t.end();
});

/** A GatewayRegistration whose sender answers from a script per next hop, and records every next hop. */
function scriptedRegistration(script: Record<string, SendResult[]>, addresses: string[]) {
  const hops: string[] = [];
  const statuses: { ok: boolean; reason: string }[] = [];
  const config: RegbotConfig = {
    defaultExpires: 3600, minExpires: 1, failureRetryInterval: 300, failureThreshold: 3, responseRemove: [],
    contactUseIp: false, batchSize: 10, batchSleepMs: 250, reloadIntervalMs: 60000, refreshFraction: 0.5,
    refreshJitter: 0, retryBaseMs: 60000, forbiddenRetryInterval: 1800, leaseTtlMs: 70000, transactionTimeoutMs: 40000,
    newPerSecond: 0, maxInFlight: 0, unregisterOnShutdown: false, dnsServers: [],
  };
  const deps: RegistrationDeps = {
    sender: {
      send: async (request) => {
        hops.push(request.proxy);
        return script[request.proxy]?.shift() ?? { ok: false, reason: 'script exhausted' };
      },
    },
    status: { write: async (_carrierSid, facts) => { statuses.push({ ok: facts.ok, reason: facts.reason }); } },
    addresses: new GatewayAddresses({ client: zoneClient({ a: { 'gw.test': addresses.map((address) => ({ address, ttl: 60 })) } }) }),
    contactContext: () => ({ publicAddresses: {}, contactUseIp: false }),
    sbcAddress: () => undefined,
    config, userAgent: 'test', logger: pino({ level: 'silent' }), random: () => 0.5, now: Date.now,
    onThreshold: async () => undefined,
  };
  const row: RegistrationRow = {
    voipCarrierSid: 'c1', carrierName: 'Carrier', accountSid: null, serviceProviderSid: null, registerPassword: 'pw',
    registerUsername: 'u', registerSipRealm: 'realm.test', registerFromUser: null, registerFromDomain: null,
    registerPublicIpInContact: false, outboundSipProxy: null, trunkType: 'static_ip', accountSipRealm: null,
    sipGatewaySid: 'g1', ipv4: 'gw.test', port: 5060, protocol: 'udp', useSipsScheme: false,
  };
  const target = toTarget(row);
  if (!target.ok) throw new Error(target.reason);
  return { registration: new GatewayRegistration(target.target, deps), hops, statuses };
}

const hop = (ip: string) => `sip:${ip}:5060;transport=udp`;

async function until(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}

test('regbot failover: a registration moves through its addresses, then sticks to the one that answered', async (t) => {
  const okShort = response(200, { Expires: '1' });
  const { registration, hops, statuses } = scriptedRegistration({
    [hop('192.0.2.1')]: [response(503, { 'Retry-After': '30' })],
    [hop('192.0.2.2')]: [{ ok: false, reason: 'no final response', transportFailure: true }, okShort],
    [hop('192.0.2.3')]: [okShort, response(503)],
  }, ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
  registration.start();
  t.ok(await until(() => hops.length >= 5), 'registered, refreshed, failed over again');
  await registration.stop({ unregister: false });
  t.deepEqual(hops.slice(0, 5), [hop('192.0.2.1'), hop('192.0.2.2'), hop('192.0.2.3'), hop('192.0.2.3'), hop('192.0.2.2')],
    '503, no answer, 200; the refresh goes to the 200 address, and on its 503 to the next one not on hold');
  t.deepEqual(statuses.slice(0, 2), [{ ok: true, reason: '200 Test' }, { ok: true, reason: '200 Test' }],
    'failed addresses inside a round write no status');
});

test('regbot failover: an answer that is the same from any address ends the round at once', async (t) => {
  const { registration, hops, statuses } = scriptedRegistration({
    [hop('192.0.2.1')]: [response(403)],
  }, ['192.0.2.1', '192.0.2.2']);
  registration.start();
  t.ok(await until(() => statuses.length >= 1), 'round over');
  await registration.stop({ unregister: false });
  t.deepEqual(hops, [hop('192.0.2.1')], '403: not sent to the second address');
  t.deepEqual(statuses, [{ ok: false, reason: '403 Test' }]);
  t.equal(registration.state, 'stopped');
});

test('regbot failover: REGBOT_DNS_SERVERS takes IP addresses with optional ports, and nothing else', (t) => {
  const env = {
    DRACHTIO_HOST: '127.0.0.1', DRACHTIO_PORT: '9022', DRACHTIO_SECRET: 'cymru', JAMBONES_MYSQL_HOST: '127.0.0.1',
    JAMBONES_MYSQL_USER: 'jambones', JAMBONES_MYSQL_PASSWORD: '', JAMBONES_MYSQL_DATABASE: 'jambones', JAMBONES_REDIS_HOST: '127.0.0.1',
  };
  t.deepEqual(loadConfig(env).regbot.dnsServers, [], 'unset: the system resolvers');
  const servers = '10.0.0.2, 10.0.0.3:5353,[fd00::53]:53,fd00::54';
  t.deepEqual(loadConfig({ ...env, REGBOT_DNS_SERVERS: servers }).regbot.dnsServers,
    ['10.0.0.2', '10.0.0.3:5353', '[fd00::53]:53', 'fd00::54']);
  for (const bad of ['dns.example.com', '10.0.0.2:99999', '10.0.0.256', '10.0.0.2:']) {
    t.throws(() => loadConfig({ ...env, REGBOT_DNS_SERVERS: bad }), ConfigError, `refused: ${bad}`);
  }
  t.doesNotThrow(() => new GatewayAddresses({ servers: loadConfig({ ...env, REGBOT_DNS_SERVERS: servers }).regbot.dnsServers }),
    'what the config accepts, node accepts');
  t.end();
});
