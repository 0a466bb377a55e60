/** Carrier pinger pieces: where a ping goes, and the up/down hysteresis. */
import test from 'tape';
import { pingTarget } from '../../lib/options/gateway-target';
import { GatewayHealth } from '../../lib/options/gateway-health';
import type { PingableGateway } from '../../lib/db/gateways';

const gw = (fields: Partial<PingableGateway>): PingableGateway => ({
  sipGatewaySid: 'g', ipv4: '198.51.100.7', port: 5060, protocol: 'udp', useSipsScheme: false,
  voipCarrierSid: 'c', carrierName: 'carrier', accountSid: null, serviceProviderSid: null, ...fields,
});

test('options unit: pingTarget', (t) => {
  t.deepEqual(pingTarget(gw({})), { uri: 'sip:198.51.100.7:5060', proxy: 'sip:198.51.100.7:5060;transport=udp',
    label: '198.51.100.7:5060;transport=udp' }, 'udp with a port');
  t.deepEqual(pingTarget(gw({ ipv4: 'sip.carrier.example', port: null, protocol: 'tcp' })),
    { uri: 'sip:sip.carrier.example', proxy: 'sip:sip.carrier.example;transport=tcp', label: 'sip.carrier.example;transport=tcp' },
    'a name without a port (SRV)');
  t.deepEqual(pingTarget(gw({ protocol: 'tls/srtp', port: 5061, useSipsScheme: true })),
    { uri: 'sips:198.51.100.7', proxy: 'sip:198.51.100.7:5061;transport=tls', label: '198.51.100.7:5061;transport=tls/srtp' },
    'tls/srtp with use_sips_scheme: sips URI, tls transport');
  t.equal(pingTarget(gw({ protocol: 'tls', port: 5061 })).uri, 'sip:198.51.100.7:5061', 'tls without use_sips_scheme: sip URI');
  t.equal(pingTarget(gw({ protocol: null })).proxy, 'sip:198.51.100.7:5060;transport=udp', 'null protocol means udp');
  t.equal(pingTarget(gw({ ipv4: '2001:db8::7' })).proxy, 'sip:[2001:db8::7]:5060;transport=udp', 'IPv6 bracketed');
  t.end();
});

test('options unit: GatewayHealth goes down after N misses and up after M successes', (t) => {
  const health = new GatewayHealth('up', 3, 2);
  t.deepEqual([false, false].map((ok) => health.record(ok)), [undefined, undefined], 'two misses: still up');
  t.equal(health.record(true), undefined, 'a success resets the misses');
  t.deepEqual([false, false, false].map((ok) => health.record(ok)), [undefined, undefined, 'went-down'], 'three in a row: down');
  t.equal(health.record(false), undefined, 'further misses change nothing');
  t.equal(health.record(true), undefined, 'one success is not enough');
  t.equal(health.record(false), undefined, 'a miss resets the successes');
  t.deepEqual([true, true].map((ok) => health.record(ok)), [undefined, 'came-up'], 'two in a row: up');
  t.equal(health.state, 'up', 'state is up');
  const startsDown = new GatewayHealth('down', 1, 1);
  t.equal(startsDown.record(true), 'came-up', 'a gateway found blacklisted comes up on its first success (M = 1)');
  t.end();
});
