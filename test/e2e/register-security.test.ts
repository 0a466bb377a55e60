/**
 * Digest that resists replay and guessing, brute-force bans, rate limits, and registration hooks that
 * fail without hurting the SBC. Raw UDP clients from distinct loopback addresses where sipp cannot
 * express the attack.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { createUdpSipClient, registerText, sipHeader, statusLine, UdpSipClient } from '../support/udp-sip-client';
import { RecordedRequest, HookResponse } from '../support/hook-server';
import { buildAuthorization, parseChallenge, parseAuthorization, verifyResponse, DigestChallenge } from '../../lib/sip/digest';
import { NonceIssuer } from '../../lib/sip/nonce';
import { encryptSecret } from '../../lib/crypto/secret-cipher';
import { ENCRYPTION_SECRET } from '../support/registrar-bed';

const NONCE_SECRET = 'nonce-secret-for-tests';
const SEC = 'sec.example.com';
const CLIENTS = 'clients.example.com';
const SLOW = 'slow.example.com';
const BREAKER = 'breaker.example.com';
const JUNK = 'junk.example.com';
const PASSWORD = 'pw';
let bed: RegistrarBed;
let callCounter = 0;

function hookReply(req: RecordedRequest): HookResponse {
  if (req.path === '/slow') return { delayMs: 1000, body: { status: 'ok' } };
  if (req.path === '/breaker') return { drop: true };
  if (req.path === '/junk') return { body: '<html>oops</html>' };
  const body = req.json as Record<string, string>;
  if (body.username === 'banme') return { body: { status: 'fail', blacklist: 60 } };
  const header = `Digest username="${body.username}", realm="${body.realm}", nonce="${body.nonce}", uri="${body.uri}", `
    + `response="${body.response}", algorithm=${body.algorithm}, qop=${body.qop}, nc=${body.nc}, cnonce="${body.cnonce}"`;
  const credentials = parseAuthorization(header);
  const ok = credentials.ok && verifyResponse(credentials.value, { password: PASSWORD, method: 'REGISTER' });
  return { body: { status: ok ? 'ok' : 'fail' } };
}

interface Exchange { challenge?: string; final: string }

async function registerWithPassword(client: UdpSipClient, user: string, realm: string, password: string,
  pick: (c: DigestChallenge) => boolean = () => true): Promise<Exchange & { authorization?: string; callId: string }> {
  const callId = `sec-${++callCounter}`;
  const first = await client.request(registerText({ user, realm, client, cseq: 1, callId }));
  if (statusLine(first) !== 401) return { final: first, callId };
  const challenge = chooseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '', pick);
  const authorization = buildAuthorization({ challenge, username: user, password, method: 'REGISTER', uri: `sip:${realm}`, cnonce: 'c0ffee01' });
  const final = await client.request(registerText({ user, realm, client, cseq: 2, callId, authorization }));
  return { challenge: first, final, authorization, callId };
}

/** MariaDB's server-wide count of SELECT statements so far. */
async function mysqlSelects(): Promise<number> {
  const rows = await bed.db.query("SHOW GLOBAL STATUS LIKE 'Com_select'");
  return Number((rows[0] as { Value: string }).Value);
}

function chooseChallenge(header: string, pick: (c: DigestChallenge) => boolean): DigestChallenge {
  // The 401 may list SHA-256 and MD5 challenges in one header; split before each "Digest".
  const parts = header.split(/,\s*(?=Digest\s)/);
  for (const part of parts) {
    const parsed = parseChallenge(part);
    if (parsed.ok && pick(parsed.value)) return parsed.value;
  }
  throw new Error(`no usable challenge in ${header}`);
}

async function client(address: string): Promise<UdpSipClient> {
  return createUdpSipClient(address, { host: '127.0.0.1', port: bed.standIn.sipPort });
}

test('security: set up', async (t) => {
  bed = await createRegistrarBed();
  const seed = (realm: string, path: string) => bed.db.seedAccount({ sip_realm: realm, registration_hook: { url: bed.hook.url(path), method: 'POST' } });
  await seed(SEC, '/sec');
  await seed(SLOW, '/slow');
  await seed(BREAKER, '/breaker');
  await seed(JUNK, '/junk');
  const local = await bed.db.seedAccount({ sip_realm: CLIENTS });
  await bed.db.seedClient({ account_sid: local.account_sid, username: 'shauser', password_encrypted: encryptSecret('shapw', ENCRYPTION_SECRET) });
  bed.hook.respondWith(hookReply);
  await bed.startService({
    REGISTRAR_NONCE_SECRET: NONCE_SECRET,
    REGISTRAR_NONCE_LIFETIME: '60',
    REGISTRAR_DIGEST_SHA256: '1',
    REGISTRAR_REQUIRE_USERNAME_MATCH: '1',
    REGISTRAR_AUTH_FAILURES_PER_SOURCE: '3',
    REGISTRAR_AUTH_FAILURES_PER_AOR: '100',
    REGISTRAR_BAN_SECONDS: '60',
    REGISTRAR_RATE_LIMIT: '5',
    REGISTRAR_RATE_LIMIT_BURST: '5',
    REGISTRATION_HOOK_TIMEOUT_MS: '300',
    REGISTRATION_HOOK_BREAKER_FAILURES: '2',
    REGISTRATION_HOOK_BREAKER_COOLDOWN_MS: '1500',
  });
  t.pass('service up');
});

test('security: the 401 offers SHA-256 first, then MD5, both with opaque', async (t) => {
  const c = await client('127.0.0.31');
  const reply = await c.request(registerText({ user: 'u1', realm: SEC, client: c, cseq: 1, callId: 'offer-1' }));
  const header = sipHeader(reply, 'WWW-Authenticate') ?? '';
  t.match(header, /^Digest realm="sec\.example\.com", algorithm=SHA-256, qop="auth", nonce="[0-9a-f]{56}", opaque="[0-9a-f]{16}", Digest realm="sec\.example\.com", algorithm=MD5, /);
  c.close();
});

test('security: SHA-256 digest verified against local clients; the hook is told the algorithm used', async (t) => {
  const c = await client('127.0.0.32');
  const sha = await registerWithPassword(c, 'shauser', CLIENTS, 'shapw', (ch) => ch.algorithm === 'SHA-256');
  t.equal(statusLine(sha.final), 200, 'SHA-256 accepted');
  t.match(sha.authorization ?? '', /algorithm=SHA-256/);
  // From another port: from the same one, with the binding live, the REGISTER would be a refresh (no challenge).
  const other = await client('127.0.0.32');
  const wrong = await registerWithPassword(other, 'shauser', CLIENTS, 'nope', (ch) => ch.algorithm === 'SHA-256');
  other.close();
  t.equal(statusLine(wrong.final), 403, 'wrong SHA-256 password refused');
  bed.hook.reset();
  bed.hook.respondWith(hookReply);
  c.close();
  const c2 = await client('127.0.0.44');
  const viaHook = await registerWithPassword(c2, 'u2', SEC, PASSWORD, (ch) => ch.algorithm === 'SHA-256');
  t.equal(statusLine(viaHook.final), 200);
  t.equal((bed.hook.requests[0]?.json as { algorithm?: string } | undefined)?.algorithm, 'SHA-256');
  c2.close();
});

test('security: an expired nonce with a valid MAC gets a fresh 401 with stale=true', async (t) => {
  const c = await client('127.0.0.33');
  const old = new NonceIssuer(NONCE_SECRET, 60, () => Date.now() - 600_000);
  const nonce = old.issue(SEC);
  const challenge: DigestChallenge = { realm: SEC, nonce, algorithm: 'MD5', qop: 'auth', qopOptions: ['auth'], stale: false, opaque: old.opaqueFor(nonce) };
  const authorization = buildAuthorization({ challenge, username: 'u3', password: PASSWORD, method: 'REGISTER', uri: `sip:${SEC}`, cnonce: 'aa' });
  const reply = await c.request(registerText({ user: 'u3', realm: SEC, client: c, cseq: 1, callId: 'stale-1', authorization }));
  t.equal(statusLine(reply), 401);
  t.match(sipHeader(reply, 'WWW-Authenticate') ?? '', /stale=true/, 'stale=true');
  c.close();
});

test('security: a forged nonce or a wrong opaque gets a fresh 401 without stale, and never reaches the hook', async (t) => {
  bed.hook.reset();
  bed.hook.respondWith(hookReply);
  const c = await client('127.0.0.34');
  const forged: DigestChallenge = { realm: SEC, nonce: 'ab'.repeat(28), algorithm: 'MD5', qop: 'auth', qopOptions: ['auth'], stale: false, opaque: '0123456789abcdef' };
  const authorization = buildAuthorization({ challenge: forged, username: 'u4', password: PASSWORD, method: 'REGISTER', uri: `sip:${SEC}`, cnonce: 'bb' });
  const reply = await c.request(registerText({ user: 'u4', realm: SEC, client: c, cseq: 1, callId: 'forged-1', authorization }));
  t.equal(statusLine(reply), 401);
  t.doesNotMatch(sipHeader(reply, 'WWW-Authenticate') ?? '', /stale/, 'no stale');
  const real = new NonceIssuer(NONCE_SECRET, 60);
  const nonce = real.issue(SEC);
  const badOpaque = buildAuthorization({ challenge: { ...forged, nonce, opaque: 'ffffffffffffffff' }, username: 'u4', password: PASSWORD,
    method: 'REGISTER', uri: `sip:${SEC}`, cnonce: 'cc' });
  const reply2 = await c.request(registerText({ user: 'u4', realm: SEC, client: c, cseq: 2, callId: 'forged-1', authorization: badOpaque }));
  t.equal(statusLine(reply2), 401, 'opaque mismatch → 401');
  t.equal(bed.hook.requests.length, 0, 'the hook was not called');
  c.close();
});

test('security: a replayed nonce-count is refused, a higher one accepted', async (t) => {
  const c = await client('127.0.0.35');
  const first = await registerWithPassword(c, 'u5', SEC, PASSWORD, (ch) => ch.algorithm === 'MD5');
  t.equal(statusLine(first.final), 200, 'first use');
  const replay = await c.request(registerText({ user: 'u5', realm: SEC, client: c, cseq: 3, callId: first.callId, authorization: first.authorization, expires: 0 }));
  t.equal(statusLine(replay), 401, 'the same nc again → fresh challenge');
  const challenge = chooseChallenge(sipHeader(first.challenge ?? '', 'WWW-Authenticate') ?? '', (ch) => ch.algorithm === 'MD5');
  const next = buildAuthorization({ challenge, username: 'u5', password: PASSWORD, method: 'REGISTER', uri: `sip:${SEC}`, cnonce: 'dd', nc: 2 });
  const accepted = await c.request(registerText({ user: 'u5', realm: SEC, client: c, cseq: 4, callId: first.callId, authorization: next }));
  t.equal(statusLine(accepted), 200, 'nc=2 on the same nonce accepted');
  c.close();
});

test('security: with REGISTRAR_REQUIRE_USERNAME_MATCH the digest username must be the AoR user', async (t) => {
  const c = await client('127.0.0.36');
  const callId = 'mismatch-1';
  const first = await c.request(registerText({ user: 'u6', realm: SEC, client: c, cseq: 1, callId }));
  const challenge = chooseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '', (ch) => ch.algorithm === 'MD5');
  const authorization = buildAuthorization({ challenge, username: 'someoneelse', password: PASSWORD, method: 'REGISTER', uri: `sip:${SEC}`, cnonce: 'ee' });
  const reply = await c.request(registerText({ user: 'u6', realm: SEC, client: c, cseq: 2, callId, authorization }));
  t.equal(statusLine(reply), 403);
  t.equal(sipHeader(reply, 'X-Reason'), 'Username does not match the address of record');
  c.close();
});

test('security: repeated wrong passwords ban the source; the hook sees only the threshold', async (t) => {
  bed.hook.reset();
  bed.hook.respondWith(hookReply);
  const c = await client('127.0.0.37');
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const attempt = await registerWithPassword(c, 'victim', SEC, `guess${i}`, (ch) => ch.algorithm === 'MD5');
    statuses.push(statusLine(attempt.final));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  t.deepEqual(statuses, [403, 403, 403, 403, 403], 'all refused');
  t.equal(bed.hook.requests.length, 3, 'the hook saw exactly the threshold (3)');
  const banned = await c.request(registerText({ user: 'other', realm: SEC, client: c, cseq: 1, callId: 'banned-1' }));
  t.equal(statusLine(banned), 403, 'even a fresh REGISTER is refused');
  t.equal(sipHeader(banned, 'X-Reason'), 'Too many failed authentications');
  t.equal(await bed.redis.exists('banned-source:127.0.0.37'), 1, 'ban shared through Redis');
  // Made-up realms miss the account cache: the ban must answer before any MySQL query is made for them.
  const selectsBefore = await mysqlSelects();
  for (let i = 0; i < 10; i++) {
    const spray = await c.request(registerText({ user: 'u', realm: `r${i}.made-up.example`, client: c, cseq: 1, callId: `spray-${i}` }));
    if (statusLine(spray) !== 403) t.fail(`made-up realm ${i} answered ${statusLine(spray)}`);
    await new Promise((resolve) => setTimeout(resolve, 250)); // under this bed's rate limit (5/s)
  }
  const selects = (await mysqlSelects()) - selectsBefore;
  t.ok(selects < 5, `10 REGISTERs for uncached realms from a banned source made no account queries (${selects} SELECTs in all, server-wide)`);
  const other = await client('127.0.0.38');
  const fine = await registerWithPassword(other, 'victim', SEC, PASSWORD, (ch) => ch.algorithm === 'MD5');
  t.equal(statusLine(fine.final), 200, 'another source is not affected');
  c.close();
  other.close();
});

test('security: a hook reply with blacklist seconds bans the source for that long', async (t) => {
  const c = await client('127.0.0.39');
  const attempt = await registerWithPassword(c, 'banme', SEC, PASSWORD, (ch) => ch.algorithm === 'MD5');
  t.equal(statusLine(attempt.final), 403);
  const ttl = await bed.redis.pttl('banned-source:127.0.0.39');
  t.ok(ttl > 55_000 && ttl <= 60_000, `banned for 60 s (pttl ${ttl})`);
  c.close();
});

test('security: a flood from one source is answered 503 with Retry-After', async (t) => {
  const c = await client('127.0.0.40');
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    c.request(registerText({ user: 'flood', realm: SEC, client: c, cseq: i + 1, callId: 'flood-1' }))));
  const limited = replies.filter((r) => statusLine(r) === 503);
  t.ok(limited.length >= 4, `${limited.length} of 10 rate-limited`);
  t.ok(Number(sipHeader(limited[0] ?? '', 'Retry-After')) >= 1, 'with Retry-After');
  c.close();
});

test('security: a hook that times out gives 503 with Retry-After and one alert per period', async (t) => {
  const c = await client('127.0.0.41');
  const logsBefore = bed.service?.logs.length ?? 0;
  for (let i = 0; i < 2; i++) {
    const attempt = await registerWithPassword(c, `slow${i}`, SLOW, PASSWORD, (ch) => ch.algorithm === 'MD5');
    t.equal(statusLine(attempt.final), 503, `attempt ${i + 1}: 503`);
    t.equal(sipHeader(attempt.final, 'Retry-After'), '30');
  }
  await bed.service?.waitForLog((l) => l.msg === 'alert: webhook-connection-failure', 3000, logsBefore).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const alerts = (bed.service?.logs ?? []).slice(logsBefore)
    .filter((l) => (l.alert as { alert_type?: string } | undefined)?.alert_type === 'webhook-connection-failure');
  t.equal(alerts.length, 1, 'one webhook-connection-failure alert for two failures');
  c.close();
});

test('security: the breaker opens after repeated hook failures and probes again after the cool-down', async (t) => {
  bed.hook.reset();
  bed.hook.respondWith(hookReply);
  const c = await client('127.0.0.42');
  for (let i = 0; i < 2; i++) await registerWithPassword(c, `brk${i}`, BREAKER, PASSWORD, (ch) => ch.algorithm === 'MD5');
  t.equal(bed.hook.requests.length, 2, 'two failed hook calls');
  const open = await registerWithPassword(c, 'brk2', BREAKER, PASSWORD, (ch) => ch.algorithm === 'MD5');
  t.equal(statusLine(open.final), 503, 'answered 503 at once while open');
  t.equal(bed.hook.requests.length, 2, 'without calling the hook');
  await new Promise((resolve) => setTimeout(resolve, 1600));
  bed.hook.respondWith(() => ({ body: { status: 'ok' } }));
  const probe = await registerWithPassword(c, 'brk3', BREAKER, PASSWORD, (ch) => ch.algorithm === 'MD5');
  t.equal(statusLine(probe.final), 200, 'the probe after the cool-down succeeds');
  bed.hook.respondWith(hookReply);
  c.close();
});

test('security: a hook reply that is not JSON gives 500 with an X-Reason and an alert', async (t) => {
  const c = await client('127.0.0.43');
  const attempt = await registerWithPassword(c, 'junk', JUNK, PASSWORD, (ch) => ch.algorithm === 'MD5');
  t.equal(statusLine(attempt.final), 500);
  t.equal(sipHeader(attempt.final, 'X-Reason'), 'Invalid registration hook response');
  // Log lines travel through a pipe and may arrive after the SIP answer.
  const alert = await bed.service?.waitForLog((l) => l.msg === 'alert: webhook-failure', 3000).catch(() => undefined);
  t.match(String((alert?.alert as { message?: string } | undefined)?.message), /junk returned an invalid response/, 'alert written');
  t.equal(bed.service?.proc.exitCode, null, 'still running');
  c.close();
});

test('security: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});

test('expiry bounds: too brief → 423 Min-Expires, too long → clamped, long lifetimes jittered', async (t) => {
  const local = await createRegistrarBed();
  await local.db.seedAccount({ sip_realm: 'bounds.example.com', registration_hook: { url: local.hook.url('/auth'), method: 'POST' } });
  await local.startService({ REGISTRAR_MIN_EXPIRES: '60', REGISTRAR_MAX_EXPIRES: '7200', REGISTRAR_EXPIRES_JITTER_PERCENT: '20' });
  const c = await createUdpSipClient('127.0.0.45', { host: '127.0.0.1', port: local.standIn.sipPort });
  const brief = await c.request(registerText({ user: 'b', realm: 'bounds.example.com', client: c, cseq: 1, callId: 'b-1', expires: 30 }));
  t.equal(statusLine(brief), 423, '423 Interval Too Brief');
  t.equal(sipHeader(brief, 'Min-Expires'), '60');
  const granted: number[] = [];
  for (let i = 0; i < 4; i++) {
    const callId = `b-long-${i}`;
    const first = await c.request(registerText({ user: `b${i}`, realm: 'bounds.example.com', client: c, cseq: 1, callId, expires: 100000 }));
    const challenge = chooseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '', () => true);
    const authorization = buildAuthorization({ challenge, username: `b${i}`, password: 'x', method: 'REGISTER', uri: 'sip:bounds.example.com', cnonce: 'ff' });
    const ok = await c.request(registerText({ user: `b${i}`, realm: 'bounds.example.com', client: c, cseq: 2, callId, expires: 100000, authorization }));
    granted.push(Number(sipHeader(ok, 'Expires')));
  }
  t.ok(granted.every((g) => g <= 7200 && g >= 7200 * 0.8), `clamped to 7200 less at most 20%: ${granted.join(', ')}`);
  t.ok(new Set(granted).size > 1, 'not all the same');
  c.close();
  await local.close();
});
