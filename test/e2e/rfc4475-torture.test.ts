/**
 * RFC 4475 torture messages, byte for byte, over the transport each one's Via names, to the stand-in and on
 * to the built service: every REGISTER and OPTIONS of the RFC must get an answer the RFC allows for it (see
 * test/support/rfc4475.ts), and the service must go on answering after each. The REGISTERs the RFC says
 * must succeed are then answered with credentials (the same message, with a new branch, the next CSeq and an
 * Authorization) and must bind exactly the contacts the RFC names.
 */
import test from 'tape';
import dgram from 'node:dgram';
import net from 'node:net';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { RFC4475_MESSAGES, RFC4475_REALM, Rfc4475Message, Rfc4475Transport, wireBytes } from '../support/rfc4475';
import { passwordCheckingHook } from '../support/digest-hook';
import { headerOf, statusOf } from '../support/sipp';
import { sipHeaderValues } from '../support/udp-sip-client';
import { buildAuthorization, parseChallenge } from '../../lib/sip/digest';

const PASSWORD = 'torture-pw';
const USERS = ['null-%00-null', 'j.user', 'watson', 'user'];
let bed: RegistrarBed;

/** Sends `bytes` and collects what comes back: until a final answer (and a little more), or `quietMs` of nothing. */
async function exchange(bytes: Buffer, transport: Rfc4475Transport, quietMs = 1000): Promise<string[]> {
  const answers: string[] = [];
  let settle: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { settle = resolve; });
  let timer = setTimeout(() => settle(), quietMs);
  const received = (text: string) => {
    answers.push(text);
    // After a final answer, linger briefly: a second answer (to octets that should have been ignored) must show.
    if ((statusOf(text) ?? 0) >= 200) {
      clearTimeout(timer);
      timer = setTimeout(() => settle(), 150);
    }
  };
  if (transport === 'udp') {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.on('message', (data) => received(data.toString('latin1')));
    socket.send(bytes, bed.standIn.sipPort, '127.0.0.1');
    await done;
    socket.close();
  } else {
    const socket = net.connect(bed.standIn.sipPort, '127.0.0.1');
    let buffered = '';
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const length = Number(/\r\nContent-Length:\s*(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        received(buffered.slice(0, end + 4 + length));
        buffered = buffered.slice(end + 4 + length);
      }
    });
    socket.on('error', () => settle());
    socket.on('close', () => settle());
    await done;
    socket.destroy();
  }
  clearTimeout(timer);
  return answers;
}

/** The service answers an ordinary OPTIONS, and its process is still there. */
async function stillAnswering(t: test.Test, after: string): Promise<void> {
  const options = Buffer.from([
    'OPTIONS sip:ping@example.com SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-alive-${after}`,
    'Max-Forwards: 70',
    'From: <sip:probe@example.com>;tag=alive',
    'To: <sip:ping@example.com>',
    `Call-ID: alive-${after}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '', '',
  ].join('\r\n'));
  const answers = await exchange(options, 'udp', 3000);
  t.equal(statusOf(answers[0] ?? ''), 200, `after ${after}: the service still answers`);
  t.equal(bed.service?.proc.exitCode, null, `after ${after}: and still runs`);
}

/** The message again with credentials: a new branch (a new transaction), the next CSeq, an Authorization. */
function withCredentials(msg: Rfc4475Message, challengeAnswer: string): Buffer {
  const challenge = parseChallenge(headerOf(challengeAnswer, 'WWW-Authenticate') ?? '');
  if (!challenge.ok) throw new Error(`${msg.name}: no usable challenge`);
  const text = wireBytes(msg).toString('latin1');
  const user = msg.succeeds?.aor.split('@')[0] ?? '';
  const requestUri = text.split('\r\n')[0].split(' ')[1];
  const authorization = buildAuthorization({ challenge: challenge.value, username: user, password: PASSWORD, method: 'REGISTER',
    uri: requestUri, cnonce: `cn${msg.name}` });
  const headerEnd = text.indexOf('\r\n\r\n');
  const head = text.slice(0, headerEnd)
    .replace(/(branch=z9hG4bK[^;\s,]*)/, '$1-2')
    .replace(/^(CSeq:\s*)(\d+)/m, (_, name: string, n: string) => `${name}${Number(n) + 1}`);
  return Buffer.from(`${head}\r\nAuthorization: ${authorization}${text.slice(headerEnd)}`, 'latin1');
}

test('rfc4475: set up an account for the RFC\'s realm', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: RFC4475_REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  bed.hook.respondWith(passwordCheckingHook(Object.fromEntries(USERS.map((u) => [u, PASSWORD]))));
  await bed.startService({ REGISTRAR_RATE_LIMIT: '0' });
  t.ok(RFC4475_MESSAGES.length >= 20, `${RFC4475_MESSAGES.length} messages`);
});

for (const msg of RFC4475_MESSAGES) {
  test(`rfc4475 §${msg.section} ${msg.name} (${msg.title}), over ${msg.transport.toUpperCase()}`, async (t) => {
    const answers = await exchange(wireBytes(msg), msg.transport);
    const finals = answers.filter((a) => (statusOf(a) ?? 0) >= 200);
    const status = statusOf(finals[0] ?? '') ?? 0;
    t.ok(msg.allowed.includes(status), `${status || 'no answer'}; the RFC allows ${msg.allowed.map((s) => s || 'no answer').join(' or ')}: ${msg.why}`);
    t.ok(finals.length <= 1, `one answer at most (got ${finals.length})`);
    if (msg.name === 'regaut01') {
      t.match(headerOf(finals[0] ?? '', 'WWW-Authenticate') ?? '', /^Digest realm="example\.com"/, 'challenged in the Digest scheme we know');
    }
    if (msg.name === 'bext01' && status === 420) {
      t.deepEqual(sipHeaderValues(finals[0] ?? '', 'Unsupported').flatMap((v) => v.split(/\s*,\s*/)),
        ['nothingSupportsThis', 'nothingSupportsThisEither'], 'Unsupported lists the Require option-tags, not the Proxy-Require ones');
    }
    if (msg.succeeds && status === 401) {
      const [ok] = (await exchange(withCredentials(msg, finals[0] ?? ''), msg.transport)).filter((a) => (statusOf(a) ?? 0) >= 200);
      t.equal(statusOf(ok ?? ''), 200, 'with credentials it succeeds');
      const listed = sipHeaderValues(ok ?? '', 'Contact').map((c) => /^<([^>]*)>/.exec(c)?.[1]);
      for (const contact of msg.succeeds.contacts) t.ok(listed.includes(contact), `the 200 lists the binding ${contact}`);
      const stored = JSON.parse((await bed.redis.get(`user:${msg.succeeds.aor}`)) ?? '{}') as { contact?: string };
      t.ok(msg.succeeds.contacts.includes(String(stored.contact)), `user:${msg.succeeds.aor} holds ${String(stored.contact)}`);
      const bindings = await bed.redis.hlen(`bindings:${msg.succeeds.aor}`);
      t.ok(bindings >= msg.succeeds.contacts.length, `${bindings} binding(s) for the AoR`);
    }
    await stillAnswering(t, msg.name);
  });
}

test('rfc4475: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
