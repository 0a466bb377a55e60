/**
 * RFC 3261 / RFC 4475 behaviours of the registrar and the reference's own refresh rule (issue 13), with
 * real SIP on the wire through the stand-in: what the device is answered and what is (or is not) in Redis.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import {
  createUdpSipClient, registerText, RegisterText, sipHeader, sipHeaderValues, statusLine, UdpSipClient,
} from '../support/udp-sip-client';
import { buildAuthorization, parseChallenge } from '../../lib/sip/digest';

const REALM = 'rfc.example.com';
/** REGISTRAR_DEFAULT_EXPIRES of the service under test: not the built-in 3600, to show it is the setting. */
const DEFAULT_EXPIRES = 900;
let bed: RegistrarBed;

async function device(address: string): Promise<UdpSipClient> {
  return createUdpSipClient(address, { host: '127.0.0.1', port: bed.standIn.sipPort });
}

type Register = Omit<RegisterText, 'realm' | 'client' | 'authorization'>;

/** The REGISTER as given; when challenged, the same again with credentials and CSeq + 1. Returns the last answer. */
async function register(client: UdpSipClient, r: Register): Promise<{ final: string; challenged: boolean }> {
  const first = await client.request(registerText({ ...r, realm: REALM, client }));
  if (statusLine(first) !== 401) return { final: first, challenged: false };
  const challenge = parseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '');
  if (!challenge.ok) throw new Error('bad challenge');
  const authorization = buildAuthorization({
    challenge: challenge.value, username: r.user, password: 'pw', method: 'REGISTER', uri: `sip:${REALM}`, cnonce: `c${r.cseq}`,
  });
  const final = await client.request(registerText({ ...r, cseq: r.cseq + 1, realm: REALM, client, authorization }));
  return { final, challenged: true };
}

/** One REGISTER, no credentials, no retry. */
async function once(client: UdpSipClient, r: Register): Promise<string> {
  return client.request(registerText({ ...r, realm: REALM, client }));
}

interface StoredValue {
  callId: string;
  cseq: number;
  contact: string;
  expiresAt: number;
  legacy: string;
}

async function storedBindings(aor: string): Promise<Record<string, StoredValue>> {
  const hash = await bed.redis.hgetall(`bindings:${aor}`);
  return Object.fromEntries(Object.entries(hash).map(([key, value]) => [key, JSON.parse(value) as StoredValue]));
}

test('conformance: set up', async (t) => {
  bed = await createRegistrarBed();
  const account = await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  await bed.db.seedCarrier({ name: 'pbx', trunk_type: 'auth', inbound_auth_username: 'pbx', inbound_auth_password: 'pw',
    account_sid: account.account_sid, service_provider_sid: account.service_provider_sid });
  await bed.startService({ REGISTRAR_RATE_LIMIT: '0', REGISTRAR_DEFAULT_EXPIRES: String(DEFAULT_EXPIRES) });
  t.pass('up');
});

test('conformance: a re-REGISTER from the same address:port and Contact with a new Call-ID is answered 200 without a challenge', async (t) => {
  const phone = await device('127.0.0.91');
  const desk = await device('127.0.0.92');
  const aor = `alice@${REALM}`;
  const contact = `sip:alice@127.0.0.91:${phone.localPort}`;
  t.equal(statusLine((await register(phone, { user: 'alice', callId: 'boot-1', cseq: 1 })).final), 200, 'phone registers');
  t.equal(statusLine((await register(desk, { user: 'alice', callId: 'desk-1', cseq: 1 })).final), 200, 'desk registers');
  const before = await storedBindings(aor);
  const hookCalls = bed.hook.requests.length;

  const rebooted = await once(phone, { user: 'alice', callId: 'boot-2', cseq: 1 });
  t.equal(statusLine(rebooted), 200, 'new Call-ID, CSeq 1, no credentials: 200');
  t.equal(bed.hook.requests.length, hookCalls, 'the hook was not asked');
  t.match(sipHeaderValues(rebooted, 'Contact').join(', '), new RegExp(`<${contact.replace(/\./g, '\\.')}>;expires=`), 'its binding listed');
  const after = await storedBindings(aor);
  t.equal(Object.keys(after).length, 2, 'still two bindings');
  t.equal(after[contact]?.callId, 'boot-2', 'the binding took the new Call-ID');
  t.equal(after[contact]?.cseq, 1, 'and its CSeq');
  t.equal((JSON.parse(after[contact]?.legacy ?? '{}') as { callId?: string }).callId, 'boot-2', 'so did its legacy record');
  t.ok((after[contact]?.expiresAt ?? 0) > (before[contact]?.expiresAt ?? Infinity), 'its expiry was extended');
  const deskKey = `sip:alice@127.0.0.92:${desk.localPort}`;
  t.deepEqual(after[deskKey], before[deskKey], 'the other binding was not touched');

  const refresh = await once(phone, { user: 'alice', callId: 'boot-2', cseq: 2 });
  t.equal(statusLine(refresh), 200, 'the next refresh on the new Call-ID takes the fast path too');
  t.equal((await storedBindings(aor))[contact]?.cseq, 2, 'CSeq 2 stored');
  const replay = await once(phone, { user: 'alice', callId: 'boot-2', cseq: 2 });
  t.equal(statusLine(replay), 401, 'the same CSeq again on that Call-ID is challenged');
  t.equal(bed.hook.requests.length, hookCalls, 'the hook was still not asked');
  phone.close();
  desk.close();
});

test('conformance: a new Call-ID with another Contact, or from another port, still needs credentials', async (t) => {
  const phone = await device('127.0.0.93');
  const other = await device('127.0.0.93');
  const contact = `<sip:bob@127.0.0.93:${phone.localPort}>`;
  t.equal(statusLine((await register(phone, { user: 'bob', callId: 'bob-1', cseq: 1 })).final), 200, 'bob registers');
  const moved = await once(phone, { user: 'bob', callId: 'bob-2', cseq: 1, contact: `<sip:bob@127.0.0.93:${phone.localPort};line=2>` });
  t.equal(statusLine(moved), 401, 'another Contact URI: challenged');
  const elsewhere = await once(other, { user: 'bob', callId: 'bob-3', cseq: 1, contact });
  t.equal(statusLine(elsewhere), 401, 'the same Contact from another port: challenged');
  const stored = await storedBindings(`bob@${REALM}`);
  t.deepEqual(Object.values(stored).map((b) => b.callId), ['bob-1'], 'nothing changed in Redis');
  phone.close();
  other.close();
});

test('conformance: an Authorization in a scheme nobody knows gets our Digest challenge (RFC 4475 §3.3.7); a broken Digest gets 400', async (t) => {
  const phone = await device('127.0.0.94');
  const hookCalls = bed.hook.requests.length;
  const unknown = await once(phone, {
    user: 'carol', callId: 'regaut01.0ha0isndaksdj', cseq: 9338, extraHeaders: ['Authorization: NoOneKnowsThisScheme opaque-data=here'],
  });
  t.equal(statusLine(unknown), 401, '401, not 400');
  t.match(sipHeader(unknown, 'WWW-Authenticate') ?? '', /^Digest realm="rfc\.example\.com", algorithm=MD5, qop="auth", nonce="[0-9a-f]{56}"/,
    'with our Digest challenge');
  t.equal(sipHeader(unknown, 'X-Reason'), undefined, 'no X-Reason');
  const answered = await register(phone, { user: 'carol', callId: 'regaut02', cseq: 1, extraHeaders: [] });
  t.equal(statusLine(answered.final), 200, 'the device answering that challenge registers');
  t.equal(bed.hook.requests.length, hookCalls + 1, 'the hook saw only the Digest credentials');

  const broken = await once(phone, {
    user: 'carol', callId: 'regaut03', cseq: 1, contact: `<sip:carol@127.0.0.94:${phone.localPort};line=2>`,
    extraHeaders: ['Authorization: Digest username="carol", realm="rfc.example.com"'],
  });
  t.equal(statusLine(broken), 400, 'a Digest missing its nonce, uri and response is malformed: 400');
  t.equal(sipHeader(broken, 'X-Reason'), 'Malformed Authorization header');
  t.equal(await bed.redis.hlen(`bindings:carol@${REALM}`), 1, 'only the registered binding in Redis');
  phone.close();
});

/** The REGISTER with its From, To, CSeq and Contact folded over several lines (RFC 3261 §7.3.1). */
function folded(text: string): string {
  return text
    .replace(/^From: (<[^>]*>);tag=/m, 'From: $1\r\n  ;tag=')
    .replace(/^To: /m, 'To:\r\n\t')
    .replace(/^CSeq: (\d+) REGISTER/m, 'CSeq: $1\r\n  REGISTER')
    .replace(/^Contact: (<[^>]*>)/m, 'Contact:\r\n  $1\r\n  ;expires=300');
}

test('conformance: a REGISTER with From, To, CSeq and Contact folded over several lines is challenged, then registered', async (t) => {
  const phone = await device('127.0.0.95');
  const aor = `dave@${REALM}`;
  const base = { user: 'dave', realm: REALM, client: phone, callId: 'folded-1', expires: null };
  const request = folded(registerText({ ...base, cseq: 1 }));
  t.ok(request.includes('CSeq: 1\r\n  REGISTER\r\n'), 'the REGISTER is folded');
  const challenge = await phone.request(request);
  t.equal(statusLine(challenge), 401, '401, not 500');
  t.notOk(/\r\n[ \t]/.test(challenge), 'the answer has no folded header');
  t.equal(sipHeader(challenge, 'CSeq'), '1 REGISTER', 'CSeq unfolded');
  t.match(sipHeader(challenge, 'From') ?? '', /^<sip:dave@rfc\.example\.com> ?;tag=folded-1$/, 'From unfolded, tag kept');
  t.match(sipHeader(challenge, 'To') ?? '', /^<sip:dave@rfc\.example\.com>;tag=\w+$/, 'To unfolded');

  const parsed = parseChallenge(sipHeader(challenge, 'WWW-Authenticate') ?? '');
  if (!parsed.ok) return void t.fail('bad challenge');
  const authorization = buildAuthorization({
    challenge: parsed.value, username: 'dave', password: 'pw', method: 'REGISTER', uri: `sip:${REALM}`, cnonce: 'f01d',
  });
  const ok = await phone.request(folded(registerText({ ...base, cseq: 2, authorization })));
  t.equal(statusLine(ok), 200, 'the authenticated folded REGISTER is registered');
  t.notOk(/\r\n[ \t]/.test(ok), 'the 200 has no folded header');
  t.equal(sipHeader(ok, 'Expires'), '300', 'the expires parameter on the continuation line was read');
  const contact = `sip:dave@127.0.0.95:${phone.localPort}`;
  const stored = await storedBindings(aor);
  t.deepEqual(Object.keys(stored), [contact], 'the binding is keyed by the unfolded Contact URI');
  t.equal(stored[contact]?.cseq, 2, 'with the CSeq number');
  t.equal((JSON.parse((await bed.redis.get(`user:${aor}`)) ?? '{}') as { contact?: string }).contact, contact, 'user:<aor> has the Contact URI');
  phone.close();
});

test('conformance: a REGISTER with neither Expires nor an expires parameter is granted REGISTRAR_DEFAULT_EXPIRES', async (t) => {
  const phone = await device('127.0.0.96');
  const aor = `erin@${REALM}`;
  const before = bed.hook.requests.length;
  const { final, challenged } = await register(phone, { user: 'erin', callId: 'no-expiry-1', cseq: 1, expires: null });
  t.ok(challenged, 'challenged as any registration');
  t.equal(statusLine(final), 200, '200, not 400');
  t.equal(sipHeader(final, 'Expires'), String(DEFAULT_EXPIRES), 'Expires: the configured default');
  t.equal(sipHeaderValues(final, 'Contact')[0], `<sip:erin@127.0.0.96:${phone.localPort}>;expires=${DEFAULT_EXPIRES}`, 'the Contact too');
  const hookBody = bed.hook.requests[before]?.json as { expires?: number } | undefined;
  t.equal(hookBody?.expires, DEFAULT_EXPIRES, 'the hook is told the expiry chosen');
  const ttl = await bed.redis.ttl(`user:${aor}`);
  t.ok(ttl > DEFAULT_EXPIRES - 5 && ttl <= DEFAULT_EXPIRES, `user:<aor> lives the default (${ttl} s)`);
  const stored = Object.values(await storedBindings(aor))[0];
  const left = ((stored?.expiresAt ?? 0) - Date.now()) / 1000;
  t.ok(left > DEFAULT_EXPIRES - 5 && left <= DEFAULT_EXPIRES, `the binding expires in the default (${Math.round(left)} s)`);

  const wildcard = await once(phone, { user: 'erin', callId: 'no-expiry-2', cseq: 1, expires: null, contact: '*' });
  t.equal(statusLine(wildcard), 400, 'Contact: * without Expires is still refused');
  t.equal(sipHeader(wildcard, 'X-Reason'), 'Contact: * requires Expires: 0');
  t.equal(Object.keys(await storedBindings(aor)).length, 1, 'and changed nothing');
  phone.close();
});

/** Every key of the test Redis with its value (and TTL rounded to 10 s), to prove a request wrote nothing. */
async function snapshot(): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const key of (await bed.redis.keys('*')).sort()) {
    if (key.startsWith('nonce-nc:') || key.startsWith('auth-fail')) continue; // the digest bookkeeping of the query itself
    const type = await bed.redis.type(key);
    const ttl = Math.round((await bed.redis.pttl(key)) / 10000);
    if (type === 'string') result[key] = [await bed.redis.get(key), ttl];
    else if (type === 'hash') result[key] = [await bed.redis.hgetall(key), ttl];
    else if (type === 'zset') result[key] = [await bed.redis.zrange(key, 0, -1, 'WITHSCORES'), ttl];
    else result[key] = type;
  }
  return result;
}

test('conformance: a REGISTER without Contact is a query: authenticated, then 200 listing the bindings, nothing changed', async (t) => {
  const desk = await device('127.0.0.98');
  const mobile = await device('127.0.0.99');
  const manager = await device('127.0.0.100');
  const aor = `gina@${REALM}`;
  t.equal(statusLine((await register(desk, { user: 'gina', callId: 'gina-desk', cseq: 1, expires: 600 })).final), 200, 'desk registers');
  t.equal(statusLine((await register(mobile, { user: 'gina', callId: 'gina-mobile', cseq: 1, expires: 300 })).final), 200, 'mobile registers');
  const before = await snapshot();
  const hookCalls = bed.hook.requests.length;

  const { final, challenged } = await register(manager, { user: 'gina', callId: 'gina-query', cseq: 1, contact: null, expires: null });
  t.ok(challenged, 'challenged first');
  t.equal(statusLine(final), 200, '200');
  t.equal(sipHeader(final, 'Expires'), undefined, 'no Expires header: nothing was registered');
  const listed = sipHeaderValues(final, 'Contact');
  t.equal(listed.length, 2, 'both bindings listed');
  const expiresOf = (host: string, port: number) => {
    const entry = listed.find((c) => c.startsWith(`<sip:gina@${host}:${port}>;expires=`));
    return entry ? Number(entry.slice(entry.lastIndexOf('=') + 1)) : undefined;
  };
  const deskLeft = expiresOf('127.0.0.98', desk.localPort);
  const mobileLeft = expiresOf('127.0.0.99', mobile.localPort);
  t.ok(deskLeft !== undefined && deskLeft <= 600 && deskLeft > 590, `desk with its remaining expiry (${deskLeft})`);
  t.ok(mobileLeft !== undefined && mobileLeft <= 300 && mobileLeft > 290, `mobile with its remaining expiry (${mobileLeft})`);
  t.equal(listed[0], `<sip:gina@127.0.0.99:${mobile.localPort}>;expires=${mobileLeft}`, 'most recently registered first');
  t.equal(bed.hook.requests.length, hookCalls + 1, 'the hook authenticated it');
  const hookBody = bed.hook.requests[hookCalls]?.json as Record<string, unknown> | undefined;
  t.equal(hookBody?.username, 'gina', 'with the credentials');
  t.notOk(hookBody && 'expires' in hookBody, 'and no expires: a query asks for none');
  t.deepEqual(await snapshot(), before, 'Redis unchanged: bindings, user:<aor>, zsets and TTLs');
  t.equal(await bed.redis.hlen(`bindings:${aor}`), 2, 'both bindings still there');
  desk.close();
  mobile.close();
  manager.close();
});

test('conformance: a query obeys the registration rules: wrong password 403, banned source 403; an AoR without bindings gets an empty 200', async (t) => {
  const manager = await device('127.0.0.101');
  bed.hook.respondWith({ body: { status: 'fail' } });
  const refused = await register(manager, { user: 'hank', callId: 'hank-query', cseq: 1, contact: null });
  bed.hook.reset();
  t.equal(statusLine(refused.final), 403, 'refused credentials: 403');
  t.equal(sipHeader(refused.final, 'X-Reason'), 'Invalid credentials');

  const empty = await register(manager, { user: 'hank', callId: 'hank-query-2', cseq: 1, contact: null });
  t.equal(statusLine(empty.final), 200, 'accepted credentials, no bindings: 200');
  t.equal(sipHeader(empty.final, 'Contact'), undefined, 'without Contact');
  t.deepEqual(await bed.redis.keys(`*hank@${REALM}*`), [`auth-failures:aor:hank@${REALM}`],
    'no binding or record created for the AoR (the refused query counted as a failed authentication, as a registration would)');

  await bed.redis.set('banned-source:127.0.0.101', '1', 'EX', 60);
  const banned = await once(manager, { user: 'hank', callId: 'hank-query-3', cseq: 1, contact: null });
  await bed.redis.del('banned-source:127.0.0.101');
  t.equal(statusLine(banned), 403, 'a banned source: 403 without a challenge');
  t.equal(sipHeader(banned, 'X-Reason'), 'Too many failed authentications');
  manager.close();
});

test('conformance: an auth trunk\'s query gets a plain 200, without an empty Contact or an Expires', async (t) => {
  const pbx = await device('127.0.0.102');
  const { final, challenged } = await register(pbx, { user: 'pbx', callId: 'pbx-query', cseq: 1, contact: null, expires: null });
  t.ok(challenged, 'challenged first');
  t.equal(statusLine(final), 200, '200');
  t.deepEqual(sipHeaderValues(final, 'Contact'), [], 'no Contact header (a trunk has no binding to list)');
  t.equal(sipHeader(final, 'Expires'), undefined, 'no Expires header (nothing was registered)');
  t.deepEqual(await bed.redis.keys(`*pbx@${REALM}*`), [], 'nothing stored');
  pbx.close();
});

// Restarts the service: keep it last.
test('conformance: the default obeys the expiry policy like a requested value: below REGISTRAR_MIN_EXPIRES it gets 423', async (t) => {
  await bed.service?.stop();
  const service = await bed.startService({ REGISTRAR_RATE_LIMIT: '0', REGISTRAR_DEFAULT_EXPIRES: '10', REGISTRAR_MIN_EXPIRES: '20' });
  t.ok(service.logs.some((line) => String(line.msg).includes('REGISTRAR_DEFAULT_EXPIRES is below REGISTRAR_MIN_EXPIRES')),
    'the operator is warned at start');
  const phone = await device('127.0.0.97');
  const reply = await once(phone, { user: 'frank', callId: 'brief-1', cseq: 1, expires: null });
  t.equal(statusLine(reply), 423, '423 Interval Too Brief');
  t.equal(sipHeader(reply, 'Min-Expires'), '20', 'with Min-Expires');
  t.equal(await bed.redis.exists(`bindings:frank@${REALM}`), 0, 'nothing stored');
  const retried = await register(phone, { user: 'frank', callId: 'brief-1', cseq: 2, expires: 20 });
  t.equal(statusLine(retried.final), 200, 'the device retrying with Expires: 20 registers');
  phone.close();
});

test('conformance: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
