/**
 * Inbound REGISTER end to end: sipp devices → drachtio stand-in → the built service → MySQL, Redis and
 * a registration hook on localhost. One test per row of the reference response matrix and per rule,
 * asserting the SIP answer, what the hook received and what landed in Redis.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed, scenarioWith, ENCRYPTION_SECRET } from '../support/registrar-bed';
import { runSipp, expectSippSuccess, registerRun, receivedResponses, headerOf, statusOf, findFreePort, SippResult }
  from '../support/sipp';
import { oneShotScenario, registerThenRefreshScenario } from '../support/sip-requests';
import { verifyJambonzSignature, RecordedRequest, HookResponse } from '../support/hook-server';
import { parseAuthorization, verifyResponse } from '../../lib/sip/digest';
import { encryptSecret } from '../../lib/crypto/secret-cipher';

const HOOKED = 'hooked.example.com';
const GET_REALM = 'get.example.com';
const LOCAL = 'local.example.com';
const OFF = 'off.example.com';
const PARENT = 'sip.example.org';
const PASSWORDS: Record<string, string> = { john: '1234', nat: 'natpw', tcpuser: 'tcppw', bye: 'byepw', fast: 'fastpw' };
const WEBHOOK_SECRET = 'wh_secret_test';

let bed: RegistrarBed;

/** A hook that checks the digest the way a real one does, and misbehaves on request for some users. */
function hookReply(req: RecordedRequest): HookResponse {
  const body = (req.json ?? req.query) as Record<string, string>;
  switch (body.username) {
    case 'jane': return { body: { status: 'fail', headers: { 'X-Hook-Said': 'no' } } };
    case 'spam': return { body: { status: 'fail', blacklist: true } };
    case 'e404': return { status: 404, body: 'not here' };
    case 'e418': return { status: 418, body: 'teapot' };
    case 'garbage': return { body: 'this is not json' };
    case 'nostatus': return { body: { message: 'hi' } };
    case 'drop': return { drop: true };
  }
  const password = PASSWORDS[body.username];
  const header = `Digest ${['username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'qop', 'nc', 'cnonce']
    .filter((k) => body[k] !== undefined).map((k) => `${k}="${body[k]}"`).join(', ')}`;
  const credentials = parseAuthorization(header.replace(/(algorithm|qop|nc)="([^"]*)"/g, '$1=$2'));
  if (!password || !credentials.ok || !verifyResponse(credentials.value, { password, method: 'REGISTER' })) {
    return { body: { status: 'fail' } };
  }
  return {
    body: {
      status: 'ok', expires: body.username === 'john' ? 45 : undefined,
      call_hook: { url: 'https://app.example.com/call' }, call_status_hook: 'https://app.example.com/status',
      allow_direct_user_calling: true,
    },
  };
}

function responses(result: SippResult): string[] {
  return receivedResponses(result).filter((msg) => (statusOf(msg) ?? 0) >= 200);
}

function lastResponse(result: SippResult): string {
  const all = responses(result);
  return all[all.length - 1] ?? '';
}

async function oneShot(t: test.Test, label: string, opts: Parameters<typeof oneShotScenario>[0]): Promise<string> {
  const result = await expectSippSuccess(t, { scenario: oneShotScenario(opts), target: bed.target }, label);
  return lastResponse(result);
}

async function registerWithAuth(t: test.Test, label: string, user: string, realm: string, extra: Partial<Parameters<typeof registerRun>[1]> = {}): Promise<SippResult> {
  return expectSippSuccess(t, registerRun('register-auth', {
    target: bed.target, devices: { user, password: PASSWORDS[user] ?? 'x', domain: realm },
    localPort: await findFreePort(), ...extra,
  }), label);
}

async function stored(aor: string): Promise<{ record: Record<string, unknown> | undefined; ttl: number; score: number | null }> {
  const text = await bed.redis.get(`user:${aor}`);
  const ttl = await bed.redis.ttl(`user:${aor}`);
  const score = await bed.redis.zscore('active-user', `user:${aor}`);
  return { record: text ? JSON.parse(text) as Record<string, unknown> : undefined, ttl, score: score === null ? null : Number(score) };
}

test('register: set up accounts, hook and service', async (t) => {
  bed = await createRegistrarBed();
  const hook = { url: bed.hook.url('/auth'), method: 'POST' as const, username: 'foo', password: 'bar' };
  await bed.db.seedAccount({ sip_realm: HOOKED, registration_hook: hook, webhook_secret: WEBHOOK_SECRET });
  await bed.db.seedAccount({ sip_realm: GET_REALM, registration_hook: { url: bed.hook.url('/get-auth'), method: 'GET' },
    webhook_secret: WEBHOOK_SECRET });
  await bed.db.seedAccount({ sip_realm: OFF, is_active: 0, registration_hook: hook });
  await bed.db.seedAccount({ sip_realm: PARENT, registration_hook: hook, webhook_secret: WEBHOOK_SECRET });
  const local = await bed.db.seedAccount({ sip_realm: LOCAL });
  const encrypt = (plain: string) => encryptSecret(plain, ENCRYPTION_SECRET);
  await bed.db.seedClient({ account_sid: local.account_sid, username: 'alice', password_encrypted: encrypt('alicepw'),
    allow_direct_app_calling: 0, allow_direct_queue_calling: 1, allow_direct_user_calling: 0 });
  await bed.db.seedClient({ account_sid: local.account_sid, username: 'bob', password_encrypted: encrypt('bobpw'), is_active: 0 });
  await bed.db.seedClient({ account_sid: local.account_sid, username: 'carol', password_encrypted: '{"iv":"zz","content":"00"}' });
  bed.hook.respondWith(hookReply);
  await bed.startService();
  t.pass('service connected');
});

test('register: a Request-URI with an IPv4 literal gets 403 at once', async (t) => {
  const result = await expectSippSuccess(t, registerRun('register-noauth', {
    target: bed.target, devices: { user: 'john', domain: HOOKED, requestUriHost: '192.168.1.1' }, expect: 403,
  }), 'REGISTER sip:192.168.1.1');
  t.equal(headerOf(lastResponse(result), 'X-Reason'), undefined, 'no X-Reason');
  t.equal(bed.hook.requests.length, 0, 'the hook was not called');
});

test('register: no Contact is a query, challenged like a registration (not the reference\'s 400)', async (t) => {
  const response = await oneShot(t, 'REGISTER without Contact', {
    requestUri: `sip:${HOOKED}`, from: `<sip:john@${HOOKED}>`, to: `<sip:john@${HOOKED}>`, headers: ['Expires: 3600'], expect: 401,
  });
  t.equal(headerOf(response, 'X-Reason'), undefined, 'no X-Reason (test/e2e/register-conformance.test.ts has the answer)');
});

test('register: no expires anywhere is no longer refused: it is challenged like any registration (the default is granted)', async (t) => {
  await expectSippSuccess(t, registerRun('register-noauth', {
    target: bed.target, devices: { user: 'john', domain: HOOKED }, expires: null, expect: 401,
  }), 'REGISTER without Expires → 401, not the reference\'s 400 (test/e2e/register-conformance.test.ts has the grant)');
});

test('register: an unparseable To gets 403 Invalid address of record', async (t) => {
  const response = await oneShot(t, 'To: user@host@host', {
    requestUri: `sip:${HOOKED}`, from: `<sip:john@${HOOKED}@${HOOKED}>`, to: `<sip:john@${HOOKED}@${HOOKED}>`,
    headers: ['Contact: <sip:john@[local_ip]:[local_port]>', 'Expires: 3600'], expect: 403,
  });
  t.equal(headerOf(response, 'X-Reason'), 'Invalid address of record');
});

test('register: an unknown realm gets 403 Unknown or invalid realm before any challenge', async (t) => {
  const result = await expectSippSuccess(t, registerRun('register-noauth', {
    target: bed.target, devices: { user: 'john', domain: 'nowhere.example.net' }, expect: 403,
  }), 'unknown realm');
  t.equal(headerOf(lastResponse(result), 'X-Reason'), 'Unknown or invalid realm');
});

test('register: a deactivated account gets 403 Account has been deactivated', async (t) => {
  const result = await expectSippSuccess(t, registerRun('register-noauth', {
    target: bed.target, devices: { user: 'john', domain: OFF }, expect: 403,
  }), 'deactivated account');
  t.equal(headerOf(lastResponse(result), 'X-Reason'), 'Account has been deactivated');
});

test('register: no Authorization gets the reference 401 challenge', async (t) => {
  const result = await expectSippSuccess(t, registerRun('register-noauth', {
    target: bed.target, devices: { user: 'john', domain: HOOKED }, expect: 401,
  }), 'challenge');
  const challenge = headerOf(lastResponse(result), 'WWW-Authenticate') ?? '';
  t.match(challenge, new RegExp(`^Digest realm="${HOOKED}", algorithm=MD5, qop="auth", nonce="[0-9a-f]{56}", opaque="[0-9a-f]{16}"$`),
    'the reference challenge, plus an opaque');
});

test('register: the hook gets exactly the reference request and its grant is stored', async (t) => {
  bed.hook.reset();
  bed.hook.respondWith(hookReply);
  await redisFlush();
  const before = Date.now();
  const result = await registerWithAuth(t, 'john registers', 'john', HOOKED, { expectExpires: 45 });
  const ok = lastResponse(result);
  t.equal(headerOf(ok, 'Expires'), '45', 'the hook granted 45 s (less than the 3600 asked)');
  t.match(headerOf(ok, 'Contact') ?? '', /^<sip:john@127\.0\.0\.1:\d+;transport=UDP>;expires=45$/, 'the binding listed with its expires');

  t.equal(bed.hook.requests.length, 1, 'one hook call');
  const call = bed.hook.requests[0];
  t.equal(call.method, 'POST');
  t.equal(call.headers.authorization, `Basic ${Buffer.from('foo:bar').toString('base64')}`, 'Basic auth');
  t.equal(call.headers['content-type'], 'application/json');
  t.ok(verifyJambonzSignature(String(call.headers['jambonz-signature']), call.rawBody, WEBHOOK_SECRET), 'signature verifies');
  const body = call.json as Record<string, unknown>;
  t.deepEqual(Object.keys(body), ['source_address', 'source_port', 'method', 'headers', 'expires', 'scheme', 'username',
    'realm', 'nonce', 'uri', 'algorithm', 'response', 'qop', 'nc', 'cnonce', 'opaque'], 'body fields in the reference order');
  t.equal(body.source_address, '127.0.0.1');
  t.equal(body.method, 'REGISTER');
  t.equal(body.expires, 3600);
  t.equal(body.scheme, 'digest');
  t.equal(body.username, 'john');
  t.equal(body.realm, HOOKED);
  t.equal(body.algorithm, 'MD5');
  t.equal(body.qop, 'auth');
  t.equal(typeof (body.headers as Record<string, unknown>)['call-id'], 'string', 'the REGISTER headers are included');

  const { record, ttl, score } = await stored(`john@${HOOKED}`);
  t.ok(record, 'user:john@hooked.example.com written');
  t.equal(record?.contact, (headerOf(ok, 'Contact') ?? '').replace(/^<|>;expires=\d+$/g, ''), 'contact = the Contact URI as sent');
  t.equal(record?.sbcAddress, bed.standIn.hostports, 'sbcAddress = drachtio hostports');
  t.equal(record?.protocol, 'udp');
  t.equal(record?.proxy, `sip:127.0.0.1:${String(body.source_port)}`);
  t.deepEqual(record?.callHook, { url: 'https://app.example.com/call' });
  t.equal(record?.callStatusHook, 'https://app.example.com/status');
  t.equal(record?.allow_direct_user_calling, true);
  t.equal(record?.allow_direct_app_calling, false);
  t.equal(record?.allow_direct_queue_calling, false);
  const expiry = Number(record?.expiryTime);
  t.ok(expiry >= before + 45000 && expiry <= Date.now() + 45000, 'expiryTime = now + granted');
  t.ok(ttl > 40 && ttl <= 45, `TTL ${ttl} = granted expires`);
  t.equal(score, expiry, 'active-user score = expiryTime');
});

test('register: a UDP device behind NAT is told 30 s while its binding keeps the granted value', async (t) => {
  await redisFlush();
  const result = await expectSippSuccess(t, {
    ...registerRun('register-auth', { target: bed.target, devices: { user: 'nat', password: 'natpw', domain: HOOKED },
      localPort: await findFreePort(), expectExpires: 30 }),
    scenario: scenarioWith('register-auth', [['<sip:[field0]@[local_ip]:[local_port];transport=[transport]>', '<sip:[field0]@192.168.1.50:5060>']]),
  }, 'NATed device');
  const ok = lastResponse(result);
  t.equal(headerOf(ok, 'Expires'), '30');
  t.equal(headerOf(ok, 'Contact'), '<sip:nat@192.168.1.50:5060>;expires=30', 'the binding listed with the NAT interval');
  const { record, ttl } = await stored(`nat@${HOOKED}`);
  t.equal(record?.contact, 'sip:nat@192.168.1.50:5060');
  t.ok(ttl > 3590, `stored TTL ${ttl} keeps the granted 3600`);
});

test('register: TCP devices are told the granted value', async (t) => {
  await redisFlush();
  const result = await registerWithAuth(t, 'TCP device', 'tcpuser', HOOKED, { transport: 't1', expectExpires: 3600 });
  t.equal(headerOf(lastResponse(result), 'Expires'), '3600');
  const { record } = await stored(`tcpuser@${HOOKED}`);
  t.equal(record?.protocol, 'tcp');
});

test('register: a refresh on the same flow is answered from the binding and extends it', async (t) => {
  await redisFlush();
  bed.hook.reset();
  bed.hook.respondWith(hookReply);
  const localPort = await findFreePort();
  await expectSippSuccess(t, {
    scenario: registerThenRefreshScenario(), target: bed.target, localPort,
    injectionCsv: [['fast', 'fastpw', HOOKED]],
  }, 'register then refresh');
  t.equal(bed.hook.requests.length, 1, 'the refresh did not reach the hook');
  const { ttl } = await stored(`fast@${HOOKED}`);
  t.ok(ttl > 3590, 'TTL extended');
});

test('register: unregister (Expires: 0) after authentication removes the binding', async (t) => {
  await redisFlush();
  const localPort = await findFreePort();
  await registerWithAuth(t, 'register first', 'bye', HOOKED, { localPort });
  t.ok((await stored(`bye@${HOOKED}`)).record, 'registered');
  const result = await registerWithAuth(t, 'unregister', 'bye', HOOKED, { expires: 0, expectExpires: 0, localPort });
  t.equal(headerOf(lastResponse(result), 'Expires'), '0');
  const after = await stored(`bye@${HOOKED}`);
  t.equal(after.record, undefined, 'user:bye@... deleted');
  t.equal(after.score, null, 'removed from active-user');
});

test('register: Contact: * with Expires: 0 unregisters; with another Expires it is refused', async (t) => {
  const response = await oneShot(t, 'Contact: * Expires: 0 without credentials', {
    requestUri: `sip:${HOOKED}`, from: `<sip:bye@${HOOKED}>`, to: `<sip:bye@${HOOKED}>`,
    headers: ['Contact: *', 'Expires: 0'], expect: 401,
  });
  t.ok(headerOf(response, 'WWW-Authenticate'), 'an unregister is challenged too');
  await oneShot(t, 'Contact: * Expires: 60', {
    requestUri: `sip:${HOOKED}`, from: `<sip:bye@${HOOKED}>`, to: `<sip:bye@${HOOKED}>`,
    headers: ['Contact: *', 'Expires: 60'], expect: 400,
  });
});

test('register: the hook refusing gives 403 Invalid credentials with the hook\'s headers', async (t) => {
  const result = await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'jane', password: 'x', domain: HOOKED },
  }), 'jane refused');
  const refused = lastResponse(result);
  t.equal(headerOf(refused, 'X-Reason'), 'Invalid credentials');
  t.equal(headerOf(refused, 'X-Hook-Said'), 'no', 'hook headers merged into the 403');
});

test('register: a blacklisting hook reply names the source', async (t) => {
  const result = await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'spam', password: 'x', domain: HOOKED },
  }), 'spammer');
  t.match(headerOf(lastResponse(result), 'X-Reason') ?? '', /^detected potential spammer from 127\.0\.0\.1:\d+$/);
});

test('register: wrong password through the hook gives 403', async (t) => {
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'john', password: 'wrong', domain: HOOKED },
  }), 'john with a wrong password');
});

for (const [user, status, label] of [
  ['e404', 404, 'a hook HTTP 404 is passed on as SIP 404'],
  ['e418', 500, 'a hook HTTP status that is no SIP status gives 500'],
  ['garbage', 500, 'a hook reply that is not JSON gives 500'],
  ['nostatus', 500, 'a hook reply without status gives 500'],
  ['drop', 503, 'a hook that drops the connection gives 503 with Retry-After'],
] as [string, number, string][]) {
  test(`register: ${label}`, async (t) => {
    await expectSippSuccess(t, registerRun('register-auth-fail', {
      target: bed.target, devices: { user, password: 'x', domain: HOOKED }, expect: status,
    }), label);
    t.ok(bed.service?.proc.exitCode === null, 'the service keeps running');
  });
}

test('register: a GET hook gets the fields as a query string and no headers', async (t) => {
  bed.hook.reset();
  bed.hook.respondWith(() => ({ body: { status: 'ok' } }));
  await registerWithAuth(t, 'GET hook', 'john', GET_REALM);
  const call = bed.hook.requests[0];
  t.equal(call?.method, 'GET');
  t.equal(call?.path, '/get-auth');
  t.equal(call?.query.username, 'john');
  t.equal(call?.query.realm, GET_REALM);
  t.equal(call?.query.headers, undefined, 'no headers in a GET');
  t.equal(call?.rawBody, '', 'no body');
  t.ok(verifyJambonzSignature(String(call?.headers['jambonz-signature']), JSON.stringify('null'), WEBHOOK_SECRET),
    'GET signature over the JSON string "null", as jambonz signs it');
  bed.hook.respondWith(hookReply);
});

test('register: a sub-domain realm falls back to its parent account', async (t) => {
  bed.hook.reset();
  bed.hook.respondWith(hookReply);
  await registerWithAuth(t, 'acme.sip.example.org', 'john', `acme.${PARENT}`);
  t.equal(bed.hook.requests.length, 1, 'the parent account\'s hook was called');
  t.ok((await stored(`john@acme.${PARENT}`)).record, 'stored under the sub-domain AoR');
});

test('register: accounts without a hook authenticate against clients', async (t) => {
  await redisFlush();
  await expectSippSuccess(t, registerRun('register-auth', {
    target: bed.target, devices: { user: 'alice', password: 'alicepw', domain: LOCAL }, expectExpires: 3600,
  }), 'alice with the right password');
  const { record } = await stored(`alice@${LOCAL}`);
  t.equal(record?.allow_direct_queue_calling, true, 'client flags stored');
  t.equal(record?.allow_direct_app_calling, false);
  t.equal(record?.callHook, undefined, 'no call hook for clients');
  // sipp binds the same local port run after run: with alice's binding still live its next REGISTER would be
  // a refresh of that binding, answered 200 without a challenge whatever its Call-ID.
  await redisFlush();
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'alice', password: 'nope', domain: LOCAL },
  }), 'alice with a wrong password → 403');
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'bob', password: 'bobpw', domain: LOCAL },
  }), 'inactive client → 403');
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'nobody', password: 'x', domain: LOCAL },
  }), 'unknown client → 403');
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices: { user: 'carol', password: 'x', domain: LOCAL }, expect: 500,
  }), 'undecryptable password → 500');
});

test('register: a malformed Authorization header gets 400, not 500', async (t) => {
  const response = await oneShot(t, 'broken Authorization', {
    requestUri: `sip:${HOOKED}`, from: `<sip:john@${HOOKED}>`, to: `<sip:john@${HOOKED}>`,
    headers: ['Contact: <sip:john@[local_ip]:[local_port]>', 'Expires: 3600', 'Authorization: Digest username="john, realm='],
    expect: 400,
  });
  t.equal(headerOf(response, 'X-Reason'), 'Malformed Authorization header');
});

test('register: each outcome is logged once with aor, source, status and expires', async (t) => {
  await new Promise((resolve) => setTimeout(resolve, 300)); // log lines are flushed every 100 ms
  const outcomes = (bed.service?.logs ?? []).filter((line) => line.msg === 'register outcome');
  t.ok(outcomes.length >= 20, `${outcomes.length} outcome lines`);
  const john = outcomes.find((line) => line.aor === `john@${HOOKED}` && line.status === 200);
  t.equal(john?.expires, 45);
  t.equal(john?.transport, 'udp');
  t.ok(typeof john?.latencyMs === 'number');
  t.ok(typeof john?.callId === 'string', 'carries the Call-ID');
  const text = bed.service?.stdout() ?? '';
  for (const secret of ['1234', 'alicepw', 'natpw', WEBHOOK_SECRET, ENCRYPTION_SECRET, 'Basic Zm9vOmJhcg==']) {
    t.notOk(text.includes(`"${secret}"`) || text.includes(secret + '"'), `no "${secret}" in the logs`);
  }
});

test('register: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});

async function redisFlush(): Promise<void> {
  await bed.redis.flushdb();
}

void runSipp;
