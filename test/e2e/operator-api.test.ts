/**
 * The operator HTTP API end to end: the built service with HTTP_API_TOKEN, devices registered by sipp
 * through the drachtio stand-in, a carrier trunk regbot registers to (sipp), a feature server checking
 * in (sipp OPTIONS), a source banned by failed authentications (sipp). Each endpoint is asserted against
 * what Redis and MySQL hold, bad input gets a 4xx JSON error, and no reply carries a secret.
 */
import test from 'tape';
import { keys } from '../../lib/store/keys';
import { startService, baseServiceEnv, connectedToDrachtio } from '../support/service';
import { DRACHTIO_SECRET, ENCRYPTION_SECRET } from '../support/registrar-bed';
import { findFreePort } from '../support/sipp';
import {
  apiRequest, ApiReply, banSource, CLUSTER, featureServerCheckIn, OperatorBed, opsListening, OTHER_REALM, REALM,
  registerDevices, SECRETS, startOperatorBed,
} from '../support/operator-bed';

let ops: OperatorBed;

const api = (path: string, options?: { method?: string; token?: string | null }): Promise<ApiReply> =>
  apiRequest(ops.httpPort, path, options);

interface Summary { aor: string; bindings: number; contact: string; source: string; transport: string; userAgent: string; expiresIn: number }
interface ListReply { registrations: Summary[]; nextCursor: string | null }

function noSecrets(t: test.Test, reply: ApiReply, what: string): void {
  const leaked = SECRETS.filter((secret) => reply.text.includes(secret));
  t.deepEqual(leaked, [], `${what}: no password, hook credential or token in the reply`);
  t.notOk(/nonce/i.test(reply.text), `${what}: no nonce in the reply`);
}

function isJsonError(t: test.Test, reply: ApiReply, status: number, what: string): void {
  t.equal(reply.status, status, `${what} → ${status}`);
  t.ok(reply.headers.get('content-type')?.startsWith('application/json'), `${what}: JSON`);
  t.equal(typeof (reply.json as { error?: unknown } | undefined)?.error, 'string', `${what}: with an error message`);
}

test('operator api: set up (service with HTTP_API_TOKEN, sipp devices and carrier)', async (t) => {
  ops = await startOperatorBed();
  await registerDevices(t, ops.bed, [{ user: 'alice', domain: REALM }, { user: 'bob', domain: REALM }, { user: 'Alfred', domain: REALM }]);
  await registerDevices(t, ops.bed, [{ user: 'carol', domain: OTHER_REALM }], { userAgent: 'Acme-Phone/2.1' });
});

test('operator api: every /api path needs the bearer token; /health, /ready and /metrics do not', async (t) => {
  isJsonError(t, await api('/api/registrations', { token: null }), 401, 'no token');
  const wrong = await api('/api/registrations', { token: 'operator-test-token-6f1d2c9a8c' });
  isJsonError(t, wrong, 401, 'a token one character off');
  t.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="sip-sidecar"', 'WWW-Authenticate: Bearer');
  isJsonError(t, await api('/api/nothing-here', { token: null }), 401, 'an unknown /api path without a token (nothing to probe)');
  const inQuery = await fetch(`http://127.0.0.1:${ops.httpPort}/api/bans?token=${encodeURIComponent('operator-test-token-6f1d2c9a8b')}`);
  t.equal(inQuery.status, 401, 'a token in the URL is not accepted');
  t.equal((await api('/health', { token: null })).status, 200, '/health open');
  t.equal((await api('/ready', { token: null })).status, 200, '/ready open');
  t.equal((await api('/metrics', { token: null })).status, 200, '/metrics open');
  isJsonError(t, await api('/api/nothing-here'), 404, 'unknown endpoint with the token');
});

test('operator api: GET /api/registrations lists live registrations with their newest device', async (t) => {
  const reply = await api('/api/registrations');
  t.equal(reply.status, 200, reply.text.slice(0, 300));
  const list = reply.json as ListReply;
  t.deepEqual(list.registrations.map((r) => r.aor).sort(), [`Alfred@${REALM}`, `alice@${REALM}`, `bob@${REALM}`, `carol@${OTHER_REALM}`],
    'the four AoRs sipp registered');
  t.equal(list.nextCursor, null, 'one page');
  const alice = list.registrations.find((r) => r.aor === `alice@${REALM}`);
  t.equal(alice?.bindings, 1, 'one device');
  t.match(alice?.contact ?? '', /^sip:alice@127\.0\.0\.1:\d+;transport=UDP$/i, 'its Contact');
  t.match(alice?.source ?? '', /^127\.0\.0\.1:\d+$/, 'its source address');
  t.equal(alice?.transport, 'udp', 'its transport');
  t.equal(alice?.userAgent, 'sipp-test', 'its User-Agent');
  t.ok((alice?.expiresIn ?? 0) > 3500 && (alice?.expiresIn ?? 0) <= 3600, `expires in ${alice?.expiresIn} s`);
  t.equal(list.registrations.find((r) => r.aor === `carol@${OTHER_REALM}`)?.userAgent, 'Acme-Phone/2.1', 'each device its own User-Agent');
  t.equal(reply.headers.get('cache-control'), 'no-store', 'not cached');
  noSecrets(t, reply, 'registrations');
});

test('operator api: realm and user-prefix filters', async (t) => {
  const ofRealm = (await api(`/api/registrations?realm=${OTHER_REALM.toUpperCase()}`)).json as ListReply;
  t.deepEqual(ofRealm.registrations.map((r) => r.aor), [`carol@${OTHER_REALM}`], 'realm (case-insensitive)');
  const al = (await api(`/api/registrations?realm=${REALM}&q=al`)).json as ListReply;
  t.deepEqual(al.registrations.map((r) => r.aor).sort(), [`Alfred@${REALM}`, `alice@${REALM}`], 'user prefix, case-insensitive');
  const none = (await api('/api/registrations?q=zz')).json as ListReply;
  t.deepEqual(none.registrations, [], 'nothing matches');
  const realms = (await api('/api/realms')).json as { total: number; realms: { realm: string; registrations: number }[] };
  t.equal(realms.total, 4, 'cluster total');
  t.deepEqual(realms.realms.slice().sort((a, b) => a.realm.localeCompare(b.realm)),
    [{ realm: REALM, registrations: 3 }, { realm: OTHER_REALM, registrations: 1 }], 'each account realm with its count');
});

test('operator api: cursor pagination visits every registration once', async (t) => {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const reply = await api(`/api/registrations?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(reply.status, 200, `page ${page + 1}`);
    const list = reply.json as ListReply;
    seen.push(...list.registrations.map((r) => r.aor));
    cursor = list.nextCursor;
    if (!cursor) break;
  }
  t.equal(seen.length, 4, 'four registrations in all');
  t.equal(new Set(seen).size, 4, 'none twice');
  const first = (await api('/api/registrations?limit=2')).json as ListReply;
  t.equal(first.registrations.length, 2, 'limit=2 gives two');
  t.ok(first.nextCursor, 'and a cursor');
  const rest = (await api(`/api/registrations?limit=2&cursor=${first.nextCursor}`)).json as ListReply;
  t.deepEqual(rest.registrations.map((r) => r.aor).filter((aor) => first.registrations.some((f) => f.aor === aor)), [],
    'the next page starts after the first');
});

test('operator api: bad input to /api/registrations is a 400, never a 500', async (t) => {
  const first = (await api('/api/registrations?limit=1')).json as ListReply;
  isJsonError(t, await api(`/api/registrations?limit=1&realm=${REALM}&cursor=${first.nextCursor}`), 400, 'a cursor from another query');
  isJsonError(t, await api('/api/registrations?cursor=not-a-cursor'), 400, 'a made-up cursor');
  isJsonError(t, await api(`/api/registrations?cursor=${Buffer.from('{"v":1}').toString('base64url')}`), 400, 'a cursor without a position');
  isJsonError(t, await api('/api/registrations?cursor=%%%'), 400, 'a cursor that is not base64url');
  isJsonError(t, await api('/api/registrations?limit=100000'), 400, 'a huge limit');
  isJsonError(t, await api('/api/registrations?limit=0'), 400, 'limit 0');
  isJsonError(t, await api('/api/registrations?limit=ten'), 400, 'a limit that is not a number');
  isJsonError(t, await api('/api/registrations?realm=%3Cscript%3E'), 400, 'a realm that is not a domain');
  isJsonError(t, await api(`/api/registrations?q=${'a'.repeat(65)}`), 400, 'an overlong prefix');
  isJsonError(t, await api('/api/registrations', { method: 'DELETE' }), 405, 'DELETE');
  t.equal((await api('/api/registrations', { method: 'PUT' })).headers.get('allow'), 'GET', 'Allow: GET');
});

test('operator api: GET /api/registrations/<aor> shows every binding and the grant, without credentials', async (t) => {
  const reply = await api(`/api/registrations/${encodeURIComponent(`alice@${REALM}`)}`);
  t.equal(reply.status, 200, reply.text.slice(0, 300));
  const detail = reply.json as {
    aor: string;
    bindings: { contact: string; source: string; transport: string; userAgent: string; callId: string; cseq: number; path: string[];
      instanceId: string | null; expiresIn: number }[];
    grant: { callHook: { url: string; method: string }; callStatusHook: unknown; allowDirectUserCalling: boolean; allowDirectAppCalling: boolean };
  };
  t.equal(detail.aor, `alice@${REALM}`);
  t.equal(detail.bindings.length, 1, 'one binding');
  const [binding] = detail.bindings;
  const stored = Object.values(await ops.bed.redis.hgetall(keys.bindings(`alice@${REALM}`))).map((v) => JSON.parse(v) as { callId: string; cseq: number });
  t.equal(binding.callId, stored[0].callId, 'the Call-ID stored in Redis');
  t.equal(binding.cseq, 2, 'CSeq of the authenticated REGISTER');
  t.equal(binding.userAgent, 'sipp-test', 'User-Agent');
  t.deepEqual(binding.path, [], 'no Path');
  t.equal(binding.instanceId, null, 'no +sip.instance');
  t.deepEqual(detail.grant.callHook, { url: 'https://calls.example.com/hook', method: 'POST' },
    'the call hook without its user name, password or query');
  t.equal(detail.grant.callStatusHook, null, 'no call status hook');
  t.equal(detail.grant.allowDirectUserCalling, true, 'allow_direct_user_calling from the hook');
  t.equal(detail.grant.allowDirectAppCalling, false, 'allow_direct_app_calling not granted');
  noSecrets(t, reply, 'registration detail');
});

test('operator api: bad or unknown AoRs', async (t) => {
  isJsonError(t, await api(`/api/registrations/${encodeURIComponent(`nobody@${REALM}`)}`), 404, 'an AoR not registered');
  isJsonError(t, await api('/api/registrations/no-at-sign'), 400, 'not user@realm');
  isJsonError(t, await api('/api/registrations/%E0%A4%A'), 400, 'broken percent-encoding');
  isJsonError(t, await api(`/api/registrations/${'a'.repeat(600)}%40x.com`), 400, 'overlong');
  isJsonError(t, await api(`/api/registrations/a%0D%0Ab%40${REALM}`), 400, 'control characters');
  isJsonError(t, await api(`/api/registrations/${encodeURIComponent(`alice@${REALM}`)}`, { method: 'POST' }), 405, 'POST');
});

test('operator api: GET /api/carriers is regbot status, cluster-wide', async (t) => {
  const reply = await api('/api/carriers');
  t.equal(reply.status, 200, reply.text.slice(0, 300));
  const status = reply.json as { mode: string; liveInstances: string[]; gateways: { gatewaySid: string; carrierName: string; state: string;
    lastResponse: string; nextRefresh: string; ownedHere: boolean; source: string }[] };
  t.equal(status.mode, 'ours', 'this cluster holds the regbot lease');
  const gateway = status.gateways.find((g) => g.gatewaySid === ops.carrier.gatewaySid);
  t.equal(gateway?.carrierName, 'Acme Carrier', 'the carrier MySQL lists');
  t.equal(gateway?.state, 'registered', 'registered to the sipp carrier');
  t.equal(gateway?.source, 'live', 'live state from the owning instance');
  t.equal(gateway?.lastResponse, '200 OK', 'last response');
  t.ok(gateway && Date.parse(gateway.nextRefresh) > Date.now(), 'next refresh in the future');
  noSecrets(t, reply, 'carriers');
  isJsonError(t, await api('/api/carriers', { method: 'POST' }), 405, 'POST');
});

test('operator api: GET /api/cluster and feature-server drain / undrain, as the CLI does', async (t) => {
  await featureServerCheckIn(t, ops.bed, '127.0.0.71');
  let cluster = (await api('/api/cluster')).json as { clusterId: string; featureServers: { server: string; status: string }[];
    drained: string[]; rtpServers: string[]; sidecars: { instanceId: string; self: boolean; gateways: number }[] };
  t.equal(cluster.clusterId, CLUSTER, 'cluster id');
  t.deepEqual(cluster.featureServers.map((fs) => [fs.server.split(':')[0], fs.status]), [['127.0.0.71', 'active']], 'the feature server, active');
  t.deepEqual(cluster.rtpServers, [], 'no RTP server');
  t.equal(cluster.sidecars.length, 1, 'one sidecar');
  t.deepEqual([cluster.sidecars[0].self, cluster.sidecars[0].gateways], [true, 1], 'this one, registering the one trunk');

  const drained = await api('/api/feature-servers/127.0.0.71/drain', { method: 'POST' });
  t.equal(drained.status, 200, drained.text);
  t.deepEqual(drained.json, { server: '127.0.0.71', drained: ['127.0.0.71'] }, 'drained');
  t.deepEqual(await ops.bed.redis.smembers(keys.drainedFeatureServers(CLUSTER)), ['127.0.0.71'], 'in <cluster>:drained-fs');
  cluster = (await api('/api/cluster')).json as typeof cluster;
  t.equal(cluster.featureServers[0].status, 'drained', '/api/cluster says drained');

  const undrained = await api('/api/feature-servers/127.0.0.71/drain', { method: 'DELETE' });
  t.deepEqual(undrained.json, { server: '127.0.0.71', drained: [] }, 'undrained');
  t.deepEqual(await ops.bed.redis.smembers(keys.drainedFeatureServers(CLUSTER)), [], 'gone from Redis');

  isJsonError(t, await api('/api/feature-servers/10.0.0.999/drain', { method: 'POST' }), 400, 'a malformed IP');
  isJsonError(t, await api('/api/feature-servers/fs.example.com/drain', { method: 'POST' }), 400, 'a name, not an IP');
  isJsonError(t, await api('/api/feature-servers/127.0.0.71/drain'), 405, 'GET of the drain resource');
  const v6 = await api(`/api/feature-servers/${encodeURIComponent('fd00::7')}/drain`, { method: 'POST' });
  t.deepEqual(v6.json, { server: 'fd00::7', drained: ['fd00::7'] }, 'an IPv6 address');
  await api(`/api/feature-servers/${encodeURIComponent('fd00::7')}/drain`, { method: 'DELETE' });
});

test('operator api: GET /api/bans lists a source sipp got banned; DELETE /api/bans/<ip> lifts it', async (t) => {
  await banSource(t, ops.bed, '127.0.0.66');
  t.equal(await ops.bed.redis.exists(keys.bannedSource('127.0.0.66')), 1, 'banned in Redis');
  const reply = await api('/api/bans');
  t.equal(reply.status, 200);
  const bans = reply.json as { total: number; bans: { ip: string; remainingSeconds: number; why: string; failures: number; bannedAt: string }[] };
  t.equal(bans.total, 1, 'one ban');
  const [ban] = bans.bans;
  t.equal(ban.ip, '127.0.0.66', 'the source');
  t.equal(ban.why, 'source-failures', 'why: failed authentications from it');
  t.equal(ban.failures, 2, 'how many');
  t.ok(ban.remainingSeconds > 590 && ban.remainingSeconds <= 600, `${ban.remainingSeconds} s left of 600`);
  t.ok(Date.now() - Date.parse(ban.bannedAt) < 60_000, 'when');

  isJsonError(t, await api('/api/bans/not-an-ip', { method: 'DELETE' }), 400, 'unban of something not an IP');
  isJsonError(t, await api('/api/bans/127.0.0.99', { method: 'DELETE' }), 404, 'unban of an address not banned');
  isJsonError(t, await api('/api/bans/127.0.0.66'), 405, 'GET of one ban');
  const lifted = await api('/api/bans/127.0.0.66', { method: 'DELETE' });
  t.equal(lifted.status, 200, lifted.text);
  t.deepEqual(lifted.json, { ip: '127.0.0.66', unbanned: true });
  t.equal(await ops.bed.redis.exists(keys.bannedSource('127.0.0.66')), 0, 'the ban key is gone from Redis');
  t.equal(await ops.bed.redis.exists(keys.authFailuresBySource('127.0.0.66')), 0, 'and the source\'s failure window');
  t.deepEqual(((await api('/api/bans')).json as typeof bans).bans, [], 'no ban listed');
  await registerDevices(t, ops.bed, [{ user: 'dave', domain: REALM }], { localIp: '127.0.0.66' });
});

test('operator api: GET /api/stats sums the instance\'s minute buckets of REGISTER outcomes', async (t) => {
  type Minutes = { minutes: { at: string; live: number | null; outcomes: Record<string, number> }[] };
  const deadline = Date.now() + 12_000;
  let stats: Minutes | undefined;
  // The counts reach Redis in batches every 5 s.
  while (Date.now() < deadline) {
    stats = (await api('/api/stats')).json as Minutes;
    if (sum(stats, '403') >= 2 && sum(stats, '200') >= 5) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  t.equal(stats?.minutes.length, 60, 'sixty minutes');
  t.equal(sum(stats, '200'), 5, 'five 200s: alice, bob, Alfred, carol, dave');
  t.equal(sum(stats, '401'), 7, 'seven 401 challenges: one per device and per failed attempt');
  t.equal(sum(stats, '403'), 2, 'the two refused authentications');
  t.ok(stats?.minutes.some((m) => m.live !== null && m.live >= 4), 'live registrations recorded');
  const keysWritten = await ops.bed.redis.keys(`${CLUSTER}:register-minute:*`);
  t.ok(keysWritten.length >= 1, 'buckets in Redis');
  const ttl = await ops.bed.redis.pttl(keysWritten[0]);
  t.ok(ttl > 60 * 60_000 && ttl <= 65 * 60_000, `each with a TTL a little over an hour (${ttl} ms)`);
});

function sum(stats: { minutes: { outcomes: Record<string, number> }[] } | undefined, outcome: string): number {
  return (stats?.minutes ?? []).reduce((total, m) => total + (m.outcomes[outcome] ?? 0), 0);
}

test('operator api: without HTTP_API_TOKEN there is no API and no page', async (t) => {
  const port = await findFreePort();
  const service = startService({
    ...baseServiceEnv({ port: ops.bed.standIn.adminPort, secret: DRACHTIO_SECRET }), ENCRYPTION_SECRET, HTTP_PORT: String(port),
  });
  try {
    await service.waitForLog(connectedToDrachtio, 15000);
    await service.waitForLog(opsListening, 5000);
    t.equal((await apiRequest(port, '/api/registrations')).status, 404, '/api/registrations: 404 even with a token');
    t.equal((await apiRequest(port, '/', { token: null })).status, 404, 'no page');
    t.equal((await apiRequest(port, '/ui/app.js', { token: null })).status, 404, 'no page assets');
    t.equal((await apiRequest(port, '/health', { token: null })).status, 200, '/health answers');
  } finally {
    await service.stop();
  }
});

test('operator api: tear down', async (t) => {
  const leaked = ops.service.stdout().includes('operator-test-token');
  t.notOk(leaked, 'the token never appears in the service log');
  await ops.close();
});
