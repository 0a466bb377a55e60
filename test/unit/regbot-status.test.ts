/**
 * `regbot status` as pure logic: which gateways are listed with which owner and from which source (live
 * state of our own, register_status for the others), register_status parsing, the outcome label of the
 * REGISTER counter, and the CLI's command line and column output.
 */
import test from 'tape';
import type { RegistrationRow } from '../../lib/db/carriers';
import { clusterStatus, LiveGateway, ownerOf } from '../../lib/regbot/regbot-status';
import { parseRegisterStatus, RegisterStatus } from '../../lib/regbot/register-status';
import { rendezvousOwner } from '../../lib/regbot/gateway-ownership';
import { buildRequest } from '../../lib/cli/cli';
import { formatReply } from '../../lib/cli/cli-output';
import { parseRequest } from '../../lib/cli/protocol';

const NOW = Date.parse('2026-12-01T10:00:00.000Z');

function row(gatewaySid: string, carrierSid: string, extra: Partial<RegistrationRow> = {}): RegistrationRow {
  return {
    voipCarrierSid: carrierSid, carrierName: `name-${carrierSid}`, accountSid: null, serviceProviderSid: null,
    registerPassword: 'secret', registerUsername: `user-${gatewaySid}`, registerSipRealm: 'carrier.example', registerFromUser: null,
    registerFromDomain: null, registerPublicIpInContact: false, outboundSipProxy: null, trunkType: 'static_ip',
    accountSipRealm: null, sipGatewaySid: gatewaySid, ipv4: '192.0.2.10', port: 5060, protocol: 'udp', useSipsScheme: false,
    ...extra,
  };
}

/** Two live instances, and gateway sids chosen so that 'me' owns g-mine and 'peer' owns g-peer. */
function setup(): { instances: string[]; mine: string; peer: string } {
  const instances = ['me', 'peer'];
  const sids = Array.from({ length: 50 }, (_v, i) => `g-${i}`);
  const mine = sids.find((sid) => rendezvousOwner(instances, sid) === 'me') as string;
  const peer = sids.find((sid) => rendezvousOwner(instances, sid) === 'peer') as string;
  return { instances, mine, peer };
}

test('regbot status: our gateway live, the peer\'s from register_status, with owners', (t) => {
  const { instances, mine, peer } = setup();
  const live = new Map<string, LiveGateway>([[mine, {
    state: 'registered', lastResponse: '200 OK', lastResponseAt: '2026-12-01T09:59:00.000Z', nextAttemptAt: '2026-12-01T10:29:00.000Z',
  }]]);
  const peerStatus: RegisterStatus = {
    status: 'ok', reason: '200 OK', timestamp: '2026-12-01T09:58:00.000Z', expires: 3600, sipGatewaySid: peer,
    nextRegister: '2026-12-01T10:28:00.000Z', sbcAddress: '203.0.113.1:5060',
  };
  const result = clusterStatus({
    rows: [row(mine, 'c-mine'), row(peer, 'c-peer')], statuses: new Map([['c-peer', peerStatus]]), live,
    ownership: { instanceId: 'me', mode: 'ours', liveInstances: instances }, now: NOW,
  });
  t.deepEqual(result.liveInstances, instances);
  const [a, b] = result.gateways;
  t.deepEqual(a, {
    gatewaySid: mine, carrierSid: 'c-mine', carrierName: 'name-c-mine', aor: `user-${mine}@carrier.example`, owner: 'me',
    ownedHere: true, state: 'registered', source: 'live', lastResponse: '200 OK', lastResponseAt: '2026-12-01T09:59:00.000Z',
    nextRefresh: '2026-12-01T10:29:00.000Z',
  });
  t.equal(b.owner, 'peer');
  t.equal(b.ownedHere, false);
  t.equal(b.source, 'database');
  t.equal(b.state, 'registered');
  t.equal(b.nextRefresh, '2026-12-01T10:28:00.000Z');
  t.equal(b.sbcAddress, '203.0.113.1:5060');
  t.notOk(JSON.stringify(result).includes('secret'), 'no password');
  t.end();
});

test('regbot status: database states: failed, expired, another gateway\'s status, none, reference status', (t) => {
  const { instances, peer } = setup();
  const view = (status: RegisterStatus | undefined) => clusterStatus({
    rows: [row(peer, 'c')], statuses: new Map(status ? [['c', status]] : []), live: new Map(),
    ownership: { instanceId: 'me', mode: 'ours', liveInstances: instances }, now: NOW,
  }).gateways[0];
  t.equal(view({ status: 'fail', reason: '403 Forbidden', timestamp: '2026-12-01T09:59:00.000Z', expires: 0, sipGatewaySid: peer }).state, 'failed');
  t.equal(view({ status: 'ok', reason: '200 OK', timestamp: '2026-12-01T08:00:00.000Z', expires: 3600, sipGatewaySid: peer }).state, 'expired',
    'a registration whose expiry has passed (its owner died?) is not shown as registered');
  const other = view({ status: 'ok', reason: '200 OK', timestamp: '2026-12-01T09:59:00.000Z', expires: 3600, sipGatewaySid: 'g-other' });
  t.deepEqual([other.state, other.source], ['unknown', 'none'], 'a status about another gateway of the carrier says nothing');
  t.deepEqual([view(undefined).state, view(undefined).source], ['unknown', 'none']);
  t.equal(view({ status: 'ok', reason: '200 OK', timestamp: '2026-12-01T09:59:00.000Z', expires: 3600 }).state, 'registered',
    'a status naming no gateway (the reference) is the carrier\'s');
  t.end();
});

test('regbot status: invalid and duplicate gateways, foreign and unknown modes', (t) => {
  const rows = [row('g1', 'c1'), row('g2', 'c2', { registerUsername: 'user-g1' }), row('g3', 'c3', { registerPassword: null })];
  const result = clusterStatus({ rows, statuses: new Map(), live: new Map(),
    ownership: { instanceId: 'me', mode: 'foreign', liveInstances: ['me'] }, now: NOW });
  t.equal(result.gateways[0].owner, 'foreign', 'a reference sidecar holds the lease');
  t.deepEqual([result.gateways[1].state, result.gateways[1].note], ['duplicate', 'same binding as gateway g1']);
  t.deepEqual([result.gateways[2].state, result.gateways[2].note], ['invalid', 'carrier has no register_password']);
  t.equal(ownerOf({ instanceId: 'me', mode: 'unknown', liveInstances: ['me'] }, 'g1'), undefined, 'no owner before the first heartbeat');
  t.end();
});

test('regbot status: register_status parsing and outcome labels', (t) => {
  t.equal(parseRegisterStatus(null), undefined);
  t.equal(parseRegisterStatus('{nope'), undefined);
  t.equal(parseRegisterStatus('{"status":"weird"}'), undefined);
  t.deepEqual(parseRegisterStatus('{"status":"fail","reason":{},"timestamp":"t"}'),
    { status: 'fail', reason: '', timestamp: 't', expires: undefined, sbcAddress: undefined, sipGatewaySid: undefined, nextRegister: undefined },
    'the reference\'s {} reason');
  t.end();
});

test('regbot status: command line, protocol and columns', (t) => {
  t.deepEqual(buildRequest(['regbot', 'status']), { command: 'regbot status', request: { action: 'regbot-status' } });
  t.throws(() => buildRequest(['regbot']), /regbot command requires an action/);
  t.throws(() => buildRequest(['regbot', 'list']), /Unknown regbot command: list\. Use: status/);
  t.deepEqual(parseRequest('{"action":"regbot-status"}'), { request: { action: 'regbot-status', server: undefined,
    key: undefined, value: undefined, item: undefined, realm: undefined, aor: undefined, limit: undefined } });
  const lines = formatReply('regbot status', {
    success: true, instanceId: 'me', mode: 'ours', liveInstances: ['me', 'peer'], gateways: [
      { gatewaySid: 'g1', carrierName: 'Acme', aor: 'u@acme', owner: 'me', ownedHere: true, state: 'registered', source: 'live',
        lastResponse: '200 OK', lastResponseAt: '2026-12-01T09:59:00.000Z', nextRefresh: '2026-12-01T10:29:00.000Z' },
      { gatewaySid: 'g2', carrierName: 'Beta', aor: 'v@beta', owner: 'peer', ownedHere: false, state: 'failed', source: 'database',
        lastResponse: '403 Forbidden', lastResponseAt: '2026-12-01T09:58:00.000Z' },
    ],
  });
  t.equal(lines[0], 'regbot on me (ours), 2 live instance(s), 2 gateway(s) to register');
  t.equal(lines[1], 'GATEWAY  CARRIER  AOR     OWNER      STATE       LAST RESPONSE  AT                        NEXT REFRESH');
  t.equal(lines[2], 'g1       Acme     u@acme  me (this)  registered  200 OK         2026-12-01T09:59:00.000Z  2026-12-01T10:29:00.000Z');
  t.equal(lines[3], 'g2       Beta     v@beta  peer       failed*     403 Forbidden  2026-12-01T09:58:00.000Z  -');
  t.match(lines[4], /^\* from register_status/);
  t.deepEqual(formatReply('regbot status', { success: true, instanceId: 'me', mode: 'ours', liveInstances: ['me'], gateways: [] }),
    ['regbot on me (ours), 1 live instance(s), 0 gateway(s) to register']);
  t.end();
});
