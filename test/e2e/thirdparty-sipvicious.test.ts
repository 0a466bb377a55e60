/**
 * SIPVicious against the service, through the stand-in. svwar must learn nothing: a user who exists (and is
 * registered) and one who does not get the same answers, so it reports no extension. svcrack's brute force
 * must end in a ban before it reaches the right password in its dictionary, the registration hook must see
 * at most the ban threshold of guesses, and the real user, from another address, must still register.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { passwordCheckingHook } from '../support/digest-hook';
import { runSvwar, runSvcrack, SvTarget } from '../support/sipvicious';
import { startBaresip } from '../support/baresip';
import { headerOf, statusOf } from '../support/sipp';

const REALM = 'pbx.example.com';
const PASSWORD = 'correct-horse-battery';
const BAN_THRESHOLD = 5;
let bed: RegistrarBed;
let target: SvTarget;

/**
 * What a scanner can compare between two answers: the status line, which headers there are, and the
 * challenge with its per-request values (nonce, opaque) masked. Tags, branches and Call-IDs are per request.
 */
function comparable(response: string): string {
  const names = response.split('\r\n').slice(1).filter((l) => l.includes(':')).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
  const challenge = (headerOf(response, 'WWW-Authenticate') ?? '').replace(/(nonce|opaque)="[^"]*"/g, '$1="…"');
  return [response.split('\r\n')[0], names.sort().join(','), challenge, headerOf(response, 'X-Reason') ?? ''].join(' | ');
}

test('sipvicious: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  bed.hook.respondWith(passwordCheckingHook({ alice: PASSWORD }));
  await bed.startService({ REGISTRAR_AUTH_FAILURES_PER_SOURCE: String(BAN_THRESHOLD), REGISTRAR_AUTH_FAILURES_PER_AOR: '0' });
  target = { port: bed.standIn.sipPort, domain: REALM };
  t.pass('service running');
});

test('sipvicious: svwar gets the same answers for a registered user and an unknown one, and finds no extension', async (t) => {
  const alice = startBaresip({ user: 'alice', password: PASSWORD, realm: REALM, transport: 'udp',
    proxy: { host: '127.0.0.1', port: bed.standIn.sipPort } });
  try {
    await alice.waitForOutput(/200 OK \(\) \[1 binding\]/, 15000);
    t.ok(await bed.redis.exists(`user:alice@${REALM}`), 'alice is registered (with baresip)');
    // One svwar per name (it stops at the first answer like its probe's); the runs are independent, so concurrent.
    const runs = await Promise.all((['REGISTER', 'OPTIONS'] as const).flatMap((method) =>
      ['alice', 'nosuchuser'].map((name) => runSvwar(target, name, method))));
    for (const [i, method] of (['REGISTER', 'OPTIONS'] as const).entries()) {
      const [existing, unknown] = [runs[2 * i], runs[2 * i + 1]];
      t.deepEqual(existing.found, [], `${method}: svwar finds no extension when given "alice"`);
      t.deepEqual(unknown.found, [], `${method}: nor when given "nosuchuser"`);
      const answers = [...existing.responses, ...unknown.responses];
      t.equal(answers.length, 4, `${method}: svwar got an answer to its random-name probe and to each name`);
      t.equal(new Set(answers.map(comparable)).size, 1, `${method}: all four answers are alike: ${comparable(answers[0] ?? '')}`);
      if (method === 'REGISTER') t.ok(answers.every((a) => statusOf(a) === 401), 'every REGISTER is challenged, known user or not');
    }
  } finally {
    await alice.stop();
  }
});

test('sipvicious: svcrack\'s brute force ends in a ban; the hook sees at most the threshold; the right password from elsewhere still registers', async (t) => {
  bed.hook.requests.length = 0;
  const guesses = [...Array.from({ length: 30 }, (_, i) => `guess-${i}`), PASSWORD];
  const crack = await runSvcrack(target, 'alice', guesses);
  t.equal(crack.cracked, undefined, 'svcrack did not find the password, though its dictionary ends with it');
  t.ok(bed.hook.requests.length <= BAN_THRESHOLD, `the hook saw ${bed.hook.requests.length} guesses, at most the threshold of ${BAN_THRESHOLD}`);
  t.ok(bed.hook.requests.length > 0, 'svcrack did get to guess');
  t.equal(await bed.redis.exists('banned-source:127.0.0.1'), 1, 'svcrack\'s source address is banned');

  const alice = startBaresip({ user: 'alice', password: PASSWORD, realm: REALM, transport: 'udp',
    proxy: { host: '127.0.0.1', port: bed.standIn.sipPort } }, { localAddress: '127.0.0.2' });
  try {
    await alice.waitForOutput(/200 OK \(\) \[1 binding\]/, 15000);
    t.pass('alice, from 127.0.0.2, registers with the right password');
    const record = JSON.parse((await bed.redis.get(`user:alice@${REALM}`)) ?? '{}') as { proxy?: string };
    t.match(String(record.proxy), /^sip:127\.0\.0\.2:\d+$/, 'binding from 127.0.0.2');
  } finally {
    await alice.stop();
  }
});

test('sipvicious: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
