/**
 * RFC 3261 §10.3 bindings: several devices per AoR, each with its own Contact, Call-ID and CSeq; the
 * 200 lists them all; the jambonz `user:<aor>` record follows the most recently refreshed one.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { createUdpSipClient, registerText, sipHeader, sipHeaderValues, statusLine, UdpSipClient } from '../support/udp-sip-client';
import { buildAuthorization, parseChallenge } from '../../lib/sip/digest';

const REALM = 'bindings.example.com';
let bed: RegistrarBed;

async function device(address: string): Promise<UdpSipClient> {
  return createUdpSipClient(address, { host: '127.0.0.1', port: bed.standIn.sipPort });
}

/** REGISTER, 401, authenticated REGISTER with CSeq `cseq` and `cseq + 1`; returns the final answer. */
async function register(client: UdpSipClient, user: string, callId: string, cseq: number, expires = 600, extraHeaders: string[] = []): Promise<string> {
  const first = await client.request(registerText({ user, realm: REALM, client, cseq, callId, expires, extraHeaders }));
  if (statusLine(first) !== 401) return first;
  const challenge = parseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '');
  if (!challenge.ok) throw new Error('bad challenge');
  const authorization = buildAuthorization({ challenge: challenge.value, username: user, password: 'pw', method: 'REGISTER', uri: `sip:${REALM}`, cnonce: `c${cseq}` });
  return client.request(registerText({ user, realm: REALM, client, cseq: cseq + 1, callId, expires, authorization, extraHeaders }));
}

async function legacyContact(aor: string): Promise<string | undefined> {
  const text = await bed.redis.get(`user:${aor}`);
  return text ? (JSON.parse(text) as { contact: string }).contact : undefined;
}

test('bindings: set up (at most 2 bindings per AoR, oldest evicted)', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  await bed.startService({ REGISTRAR_MAX_BINDINGS: '2', REGISTRAR_RATE_LIMIT: '0' });
  t.pass('up');
});

test('bindings: two devices on one AoR are both listed; one leaving does not drop the other', async (t) => {
  const desk = await device('127.0.0.81');
  const mobile = await device('127.0.0.82');
  const aor = `alice@${REALM}`;
  t.equal(statusLine(await register(desk, 'alice', 'desk-1', 1)), 200, 'desk registers');
  t.equal(await legacyContact(aor), `sip:alice@127.0.0.81:${desk.localPort}`, 'legacy record = desk');
  const both = await register(mobile, 'alice', 'mobile-1', 1);
  t.equal(statusLine(both), 200, 'mobile registers');
  const contacts = sipHeaderValues(both, 'Contact').join(', ');
  t.match(contacts, new RegExp(`<sip:alice@127\\.0\\.0\\.82:${mobile.localPort}>;expires=600`), 'mobile listed');
  t.match(contacts, new RegExp(`<sip:alice@127\\.0\\.0\\.81:${desk.localPort}>;expires=(59\\d|600)`), 'desk listed with its remaining expires');
  t.equal(await legacyContact(aor), `sip:alice@127.0.0.82:${mobile.localPort}`, 'legacy record follows the most recent');
  t.equal(await bed.redis.hlen(`bindings:${aor}`), 2, 'two bindings stored');

  const gone = await register(mobile, 'alice', 'mobile-1', 10, 0);
  t.equal(statusLine(gone), 200, 'mobile unregisters its own contact');
  t.equal(sipHeader(gone, 'Expires'), '0');
  t.equal(await legacyContact(aor), `sip:alice@127.0.0.81:${desk.localPort}`, 'legacy record falls back to desk');
  t.equal(await bed.redis.hlen(`bindings:${aor}`), 1, 'desk stays');

  t.equal(statusLine(await register(desk, 'alice', 'desk-1', 10, 0)), 200, 'desk unregisters');
  t.equal(await bed.redis.exists(`user:${aor}`), 0, 'legacy record gone with the last binding');
  t.equal(await bed.redis.zscore('active-user', `user:${aor}`), null, 'and out of active-user');
  desk.close();
  mobile.close();
});

test('bindings: a REGISTER with an older CSeq on the same Call-ID is refused with 500', async (t) => {
  const phone = await device('127.0.0.83');
  t.equal(statusLine(await register(phone, 'bob', 'bob-1', 10)), 200, 'CSeq 11 stored');
  const stale = await register(phone, 'bob', 'bob-1', 5);
  t.equal(statusLine(stale), 500, 'CSeq 6 after 11 → 500');
  t.equal(sipHeader(stale, 'X-Reason'), 'Out of order CSeq for this binding');
  phone.close();
});

test('bindings: Path is stored and echoed when the device supports it', async (t) => {
  const phone = await device('127.0.0.84');
  const ok = await register(phone, 'carol', 'carol-1', 1, 600, ['Supported: path', 'Path: <sip:edge.example.com;lr>']);
  t.equal(statusLine(ok), 200);
  t.equal(sipHeader(ok, 'Path'), '<sip:edge.example.com;lr>', 'Path echoed');
  const stored = Object.values(await bed.redis.hgetall(`bindings:carol@${REALM}`))[0] ?? '';
  t.ok(stored.includes('edge.example.com'), 'Path stored with the binding');
  const noSupport = await register(phone, 'dave', 'dave-1', 1, 600, ['Path: <sip:edge.example.com;lr>']);
  t.equal(sipHeader(noSupport, 'Path'), undefined, 'not echoed without Supported: path');
  phone.close();
});

test('bindings: past the limit the oldest binding is evicted', async (t) => {
  const phones = await Promise.all(['127.0.0.85', '127.0.0.86', '127.0.0.87'].map(device));
  for (const [i, phone] of phones.entries()) {
    t.equal(statusLine(await register(phone, 'erin', `erin-${i}`, 1)), 200, `device ${i + 1} registers`);
  }
  const listed = sipHeaderValues(await register(phones[2], 'erin', 'erin-2', 10), 'Contact');
  t.equal(listed.length, 2, 'two bindings listed');
  t.notOk(listed.some((c) => c.includes(`127.0.0.85:${phones[0].localPort}`)), 'the first device was evicted');
  phones.forEach((p) => p.close());
});

test('bindings: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
