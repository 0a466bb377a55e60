/**
 * linphonec (liblinphone, the stack of the Linphone apps) registers through the drachtio stand-in to the
 * built service, then unregisters on command, and quits. The hook checks its digest for real.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { startLinphone, Linphone } from '../support/linphone';
import { passwordCheckingHook } from '../support/digest-hook';
import type { ServiceLogLine } from '../support/service';

const REALM = 'linphone.example.com';
const AOR = `carol@${REALM}`;
let bed: RegistrarBed;

const outcome = (match: (line: ServiceLogLine) => boolean) => (line: ServiceLogLine) =>
  line.msg === 'register outcome' && line.aor === AOR && match(line);

/**
 * Asks `status register` until linphonec says it is registered: the service logs its 200 before linphonec has
 * read it, and on a loaded machine liblinphone answered "registered=-1" (no default account yet) once, then
 * registered a moment later.
 */
async function waitUntilRegistered(phone: Linphone, timeoutMs: number): Promise<void> {
  const registered = new RegExp(`registered, identity="carol" <sip:carol@${REALM.replace(/\./g, '\\.')}>`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const from = phone.output().length;
    phone.command('status register');
    try {
      await phone.waitForOutput(/registered[=,]/, 2000, from);
    } catch { /* no answer yet: ask again */ }
    if (registered.test(phone.output().slice(from))) return;
    if (Date.now() > deadline) throw new Error(`linphonec never said it was registered; output so far: ${phone.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

test('linphone: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  bed.hook.respondWith(passwordCheckingHook({ carol: 'carol-secret' }));
  await bed.startService();
  t.pass('service running');
});

test('linphone: registers, unregisters on command, quits', async (t) => {
  const phone = startLinphone({ user: 'carol', password: 'carol-secret', realm: REALM, proxyPort: bed.standIn.sipPort });
  try {
    const ok = await bed.service!.waitForLog(outcome((l) => l.status === 200 && Number(l.expires) > 0), 20000);
    t.equal(ok.transport, 'udp', 'registered over UDP');
    await waitUntilRegistered(phone, 10000);
    t.pass('linphonec says it is registered');
    const record = JSON.parse((await bed.redis.get(`user:${AOR}`)) ?? '{}') as Record<string, unknown>;
    t.equal(record.protocol, 'udp', 'binding stored');
    t.match(String(record.contact), /^sip:carol@/, 'with linphone\'s Contact');
    t.ok(bed.hook.requests.length >= 1 && bed.hook.requests.every((r) => (r.json as { username?: string }).username === 'carol'),
      'the hook verified carol\'s digest');

    phone.command('unregister');
    await bed.service!.waitForLog(outcome((l) => l.status === 200 && l.expires === 0), 10000);
    t.pass('un-REGISTER answered 200 Expires 0');
    t.equal(await bed.redis.get(`user:${AOR}`), null, 'binding removed');

    phone.command('quit');
    const exit = await phone.waitForExit(10000);
    t.equal(exit.code, 0, 'linphonec quits');
  } finally {
    await phone.stop();
  }
});

test('linphone: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
