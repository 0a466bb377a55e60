/**
 * baresip, a softphone nobody here wrote, registers through the drachtio stand-in to the built service over
 * UDP and TCP, is granted what it asked, and un-REGISTERs when it exits; with a wrong password it gets one
 * 401, then a 403, and gives up. The hook checks its digest for real.
 */
import test from 'tape';
import { createRegistrarBed, registerOutcomes, RegistrarBed } from '../support/registrar-bed';
import { startBaresip, Baresip } from '../support/baresip';
import { passwordCheckingHook } from '../support/digest-hook';
import { headerOf, statusOf } from '../support/sipp';

const REALM = 'baresip.example.com';
const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret' };
let bed: RegistrarBed;

async function stored(aor: string): Promise<Record<string, unknown> | undefined> {
  const text = await bed.redis.get(`user:${aor}`);
  return text ? JSON.parse(text) as Record<string, unknown> : undefined;
}

/** The service's REGISTER outcomes for `aor`, from its log line number `from` on. */
function outcomesFor(aor: string, from = 0): { status?: number; expires?: number }[] {
  return registerOutcomes({ ...bed.service!, logs: bed.service!.logs.slice(from) }).filter((o) => o.aor === aor);
}

async function registersThenUnregisters(t: test.Test, transport: 'udp' | 'tcp'): Promise<void> {
  const aor = `alice@${REALM}`;
  bed.hook.requests.length = 0;
  const logsBefore = bed.service!.logs.length;
  const phone: Baresip = startBaresip({ user: 'alice', password: PASSWORDS.alice, realm: REALM, transport,
    proxy: { host: '127.0.0.1', port: bed.standIn.sipPort }, regint: 600 });
  try {
    await phone.waitForOutput(new RegExp(`alice@${REALM}: \\{0/${transport.toUpperCase()}/v4\\} 200 OK`), 15000);
    t.pass(`baresip says it is registered over ${transport.toUpperCase()}`);
    const record = await stored(aor);
    t.equal(record?.protocol, transport, `binding stored with protocol ${transport}`);
    const sentContact = headerOf(phone.sentRegisters()[0] ?? '', 'Contact') ?? '';
    t.equal(record?.contact, /^<([^>]+)>/.exec(sentContact)?.[1], 'binding holds the Contact URI baresip sent');
    t.equal(bed.hook.requests.length, 1, 'one hook call, with a digest that verifies');
    const ok = phone.receivedResponses().find((r) => statusOf(r) === 200);
    t.equal(headerOf(ok ?? '', 'Expires'), '600', 'granted the 600 s it asked for');
  } finally {
    const exit = await phone.stop();
    t.equal(exit.code, 0, 'baresip exits cleanly on SIGTERM');
  }
  const unregister = phone.sentRegisters().filter((r) => /;expires=0\b/.test(headerOf(r, 'Contact') ?? ''));
  t.ok(unregister.length >= 1, 'baresip sent an un-REGISTER (Contact expires=0) on exit');
  // Log lines are written in batches: wait for the un-REGISTER's own line before reading them all.
  await bed.service!.waitForLog((l) => l.msg === 'register outcome' && l.aor === aor && l.expires === 0, 5000, logsBefore);
  t.deepEqual(outcomesFor(aor, logsBefore).map((o) => `${o.status}/${o.expires ?? '-'}`), ['401/-', '200/600', '401/-', '200/0'],
    'registered after a challenge; the un-REGISTER challenged too, then answered 200 Expires 0');
  t.equal(await stored(aor), undefined, 'binding removed');
}

test('baresip: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  bed.hook.respondWith(passwordCheckingHook(PASSWORDS));
  await bed.startService();
  t.pass('service running');
});

test('baresip: registers over UDP and un-REGISTERs on exit', (t) => registersThenUnregisters(t, 'udp'));

test('baresip: registers over TCP and un-REGISTERs on exit', (t) => registersThenUnregisters(t, 'tcp'));

test('baresip: a wrong password ends in one 401 then 403, and baresip stops trying', async (t) => {
  const aor = `bob@${REALM}`;
  const phone = startBaresip({ user: 'bob', password: 'not-bobs-password', realm: REALM, transport: 'udp',
    proxy: { host: '127.0.0.1', port: bed.standIn.sipPort } });
  try {
    await phone.waitForOutput(/403 Forbidden/, 15000);
    // baresip waits at least 30 s before trying a failed registration again: 2 s is enough to see a loop.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await bed.service!.waitForLog((l) => l.msg === 'register outcome' && l.aor === aor && l.status === 403, 5000);
    t.deepEqual(phone.receivedResponses().map((r) => statusOf(r)), [401, 403], 'one 401, then one 403');
    t.deepEqual(outcomesFor(aor).map((o) => o.status), [401, 403], 'the service answered exactly those two');
  } finally {
    await phone.stop();
  }
  t.equal(phone.sentRegisters().length, 2, 'no un-REGISTER for a registration that never succeeded');
  t.equal(await stored(aor), undefined, 'nothing stored');
});

test('baresip: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
