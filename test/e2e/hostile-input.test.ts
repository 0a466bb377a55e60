/**
 * Hostile input: every malformed or hostile REGISTER/OPTIONS of the corpus, over UDP and TCP, straight to
 * the stand-in (which filters what a real drachtio-server filters) and on to the service. Each must get
 * an answer a SIP peer can act on, or be dropped where no answer is possible; nothing may crash; no
 * stored record may be corrupted. Then a brute-force run must end in a ban.
 */
import test from 'tape';
import dgram from 'node:dgram';
import net from 'node:net';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { hostileCorpus, HostileMessage } from '../support/hostile-corpus';
import { expectSippSuccess, optionsRun } from '../support/sipp';
import { createUdpSipClient, registerText, sipHeader, statusLine } from '../support/udp-sip-client';
import { buildAuthorization, parseChallenge } from '../../lib/sip/digest';

const REALM = 'hostile.example.com';
let bed: RegistrarBed;

function answerFor(responses: string[], tag: string): string | undefined {
  return responses.find((r) => r.includes(`branch=z9hG4bK${tag}`));
}

function checkAnswer(t: test.Test, entry: HostileMessage, answer: string | undefined, transport: string): void {
  if (answer !== undefined && /^(\r\n)+$/.test(answer)) {
    t.pass(`${transport} ${entry.name}: keep-alive answered with CRLF`);
    return;
  }
  if (!answer) {
    t.pass(`${transport} ${entry.name}: dropped`);
    return;
  }
  const status = statusLine(answer);
  t.ok(status >= 200 && status < 700 && /^SIP\/2\.0 \d{3} [^\r\n]*\r\n/.test(answer), `${transport} ${entry.name}: answered ${status}`);
  t.notOk(/\r\nX-Injected:/i.test(answer), `${transport} ${entry.name}: no injected header`);
}

test('hostile: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  bed.hook.respondWith(() => ({ body: { status: 'fail' } }));
  await bed.startService({ REGISTRAR_RATE_LIMIT: '0', REGISTRAR_AUTH_FAILURES_PER_SOURCE: '10', REGISTRAR_AUTH_FAILURES_PER_AOR: '0' });
  t.ok(hostileCorpus().length >= 200, `${hostileCorpus().length} messages in the corpus`);
});

test('hostile: the corpus over UDP', async (t) => {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.50', resolve));
  const responses: string[] = [];
  socket.on('message', (data) => responses.push(data.toString('latin1')));
  const corpus = hostileCorpus();
  const src = { address: '127.0.0.50', port: socket.address().port };
  // Paced: a burst of large datagrams would overflow the receiving socket buffer, which tests the kernel.
  for (const [i, entry] of corpus.entries()) {
    socket.send(entry.build(`u${i}`, src), bed.standIn.sipPort, '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  corpus.forEach((entry, i) => checkAnswer(t, entry, answerFor(responses, `u${i}`), 'UDP'));
  const unanswered = corpus.filter((entry, i) => entry.answerable && !answerFor(responses, `u${i}`)).map((e) => e.name);
  t.comment(`answerable but unanswered over UDP (dropped as drachtio would): ${unanswered.join(' | ') || 'none'}`);
  socket.close();
});

test('hostile: the corpus over TCP, one connection per message', async (t) => {
  const corpus = hostileCorpus();
  const results = await Promise.all(corpus.map((entry, i) => new Promise<string>((resolve) => {
    const socket = net.connect(bed.standIn.sipPort, '127.0.0.1');
    let received = '';
    const done = () => { socket.destroy(); resolve(received); };
    socket.setTimeout(3000, done);
    socket.on('connect', () => {
      const bytes = entry.build(`t${i}`, { address: '127.0.0.1', port: socket.localPort ?? 0 });
      socket.write(Buffer.from(bytes.toString('latin1').replace('SIP/2.0/UDP', 'SIP/2.0/TCP'), 'latin1'));
    });
    socket.on('data', (data) => {
      received += data.toString('latin1');
      if (/\r\n\r\n/.test(received)) done();
    });
    socket.on('error', done);
    socket.on('close', done);
  })));
  corpus.forEach((entry, i) => checkAnswer(t, entry, results[i] || undefined, 'TCP'));
});

test('hostile: the service is still up and no stored record is corrupt', async (t) => {
  t.equal(bed.service?.proc.exitCode, null, 'still running');
  await expectSippSuccess(t, optionsRun({ target: bed.target }), 'OPTIONS answered');
  const keys = await bed.redis.keys('user:*');
  for (const key of keys) {
    const value = await bed.redis.get(key);
    const parsed = JSON.parse(value ?? 'null') as { contact?: unknown; expiryTime?: unknown } | null;
    t.ok(parsed && typeof parsed.contact === 'string' && typeof parsed.expiryTime === 'number', `${key} is a valid record`);
  }
  const fatal = (bed.service?.logs ?? []).filter((l) => l.msg === 'uncaught exception' || l.msg === 'unhandled promise rejection');
  t.equal(fatal.length, 0, 'no uncaught exception or unhandled rejection');
});

test('hostile: 1,000 wrong passwords from one source end in a ban; the hook sees at most the threshold', async (t) => {
  bed.hook.reset();
  bed.hook.respondWith(() => ({ body: { status: 'fail' } }));
  const c = await createUdpSipClient('127.0.0.51', { host: '127.0.0.1', port: bed.standIn.sipPort });
  const counts: Record<number, number> = {};
  for (let i = 0; i < 1000; i++) {
    const callId = `brute-${i}`;
    const first = await c.request(registerText({ user: 'target', realm: REALM, client: c, cseq: 1, callId }));
    let final = first;
    if (statusLine(first) === 401) {
      const challenge = parseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '');
      if (!challenge.ok) break;
      const authorization = buildAuthorization({ challenge: challenge.value, username: 'target', password: `guess-${i}`,
        method: 'REGISTER', uri: `sip:${REALM}`, cnonce: `c${i}` });
      final = await c.request(registerText({ user: 'target', realm: REALM, client: c, cseq: 2, callId, authorization }));
    }
    counts[statusLine(final)] = (counts[statusLine(final)] ?? 0) + 1;
  }
  t.comment(`final answers: ${JSON.stringify(counts)}`);
  t.equal(bed.hook.requests.length, 10, 'the hook saw exactly the threshold');
  t.equal(counts[200] ?? 0, 0, 'no guess succeeded');
  t.ok((counts[403] ?? 0) === 1000, 'every attempt refused');
  t.equal(await bed.redis.exists('banned-source:127.0.0.51'), 1, 'source banned');
  c.close();
});

test('hostile: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
