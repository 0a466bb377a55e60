/**
 * A burst of concurrent wrong guesses from one source (what svcrack sends: it collects challenges, then
 * answers them back to back) must not reach the registration hook more times than the ban threshold:
 * each authentication takes its place among the source's failures before the hook is asked, so the guesses
 * in flight count too. The right password from another source still registers, and the refused extra
 * guesses are told to come back later rather than banned for what was still undecided.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { createUdpSipClient, registerText, sipHeader, statusLine, UdpSipClient } from '../support/udp-sip-client';
import { hookDigestMatches } from '../support/digest-hook';
import { buildAuthorization, parseChallenge } from '../../lib/sip/digest';

const REALM = 'burst.example.com';
const THRESHOLD = 4;
const GUESSES = 16;
let bed: RegistrarBed;

async function challenged(client: UdpSipClient, callId: string): Promise<string> {
  const first = await client.request(registerText({ user: 'victim', realm: REALM, client, cseq: 1, callId }));
  const challenge = parseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '');
  if (!challenge.ok) throw new Error(`no challenge: ${first.split('\r\n')[0]}`);
  return buildAuthorization({ challenge: challenge.value, username: 'victim', password: `guess-${callId}`, method: 'REGISTER',
    uri: `sip:${REALM}`, cnonce: callId.replace(/\W/g, '') });
}

test('guess burst: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  // A hook that takes its time, as real ones do: the whole burst is in flight before the first answer.
  bed.hook.respondWith((req) => ({ delayMs: 300, body: { status: hookDigestMatches(req, 'the-right-one') ? 'ok' : 'fail' } }));
  await bed.startService({ REGISTRAR_AUTH_FAILURES_PER_SOURCE: String(THRESHOLD), REGISTRAR_AUTH_FAILURES_PER_AOR: '0',
    REGISTRAR_RATE_LIMIT: '0' });
  t.pass('service running');
});

test('guess burst: concurrent wrong guesses reach the hook at most the threshold of times, then the source is banned', async (t) => {
  const attacker = await createUdpSipClient('127.0.0.61', { host: '127.0.0.1', port: bed.standIn.sipPort });
  try {
    const authorizations: [string, string][] = [];
    for (let i = 0; i < GUESSES; i++) authorizations.push([`burst-${i}`, await challenged(attacker, `burst-${i}`)]);
    const answers = await Promise.all(authorizations.map(([callId, authorization]) =>
      attacker.request(registerText({ user: 'victim', realm: REALM, client: attacker, cseq: 2, callId, authorization }))));
    const statuses = answers.map(statusLine);
    t.equal(bed.hook.requests.length, THRESHOLD, `the hook saw ${bed.hook.requests.length} of ${GUESSES} concurrent guesses`);
    t.equal(statuses.filter((s) => s === 403).length, THRESHOLD, 'the guesses it saw were refused 403');
    t.ok(answers.filter((a) => statusLine(a) === 503).every((a) => sipHeader(a, 'Retry-After') === '5'
      && sipHeader(a, 'X-Reason') === 'Too many authentications in progress'), 'the others: 503, come back later');
    t.equal(statuses.filter((s) => s === 200).length, 0, 'no guess succeeded');
    t.equal(await bed.redis.exists('banned-source:127.0.0.61'), 1, 'the source is banned after the threshold of failures');
  } finally {
    attacker.close();
  }
});

test('guess burst: a right password is no failure and gives its place back; another source still registers', async (t) => {
  const device = await createUdpSipClient('127.0.0.62', { host: '127.0.0.1', port: bed.standIn.sipPort });
  try {
    const first = await device.request(registerText({ user: 'victim', realm: REALM, client: device, cseq: 1, callId: 'right-1' }));
    const challenge = parseChallenge(sipHeader(first, 'WWW-Authenticate') ?? '');
    t.ok(challenge.ok, 'challenged');
    if (!challenge.ok) return;
    const authorization = buildAuthorization({ challenge: challenge.value, username: 'victim', password: 'the-right-one',
      method: 'REGISTER', uri: `sip:${REALM}`, cnonce: 'c0ffee' });
    const ok = await device.request(registerText({ user: 'victim', realm: REALM, client: device, cseq: 2, callId: 'right-1', authorization }));
    t.equal(statusLine(ok), 200, 'registered from 127.0.0.62');
    await new Promise((resolve) => setTimeout(resolve, 100));
    t.equal(await bed.redis.zcard('auth-failures:ip:127.0.0.62'), 0, 'no failure left on record for that source');
  } finally {
    device.close();
  }
});

test('guess burst: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
