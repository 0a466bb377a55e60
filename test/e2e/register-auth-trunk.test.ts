/**
 * Auth trunks (voip_carriers.trunk_type = 'auth', jambonz 0.9.7) registering to us, end to end: sipp as the
 * carrier or PBX → drachtio stand-in → the built service in hosted mode → MySQL and Redis. The trunk's
 * inbound credentials get a 200 echoing its Contact and Expires; nothing is stored and no device place is
 * taken; credentials of trunks that are not the account's active auth trunks are refused like any others.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed, ENCRYPTION_SECRET } from '../support/registrar-bed';
import { expectSippSuccess, registerRun, receivedResponses, sentMessages, headerOf, findFreePort, SippResult } from '../support/sipp';
import { encryptSecret } from '../../lib/crypto/secret-cipher';

const REALM = 'trunks.example.com';
const HOOKED = 'hooked.example.com';
let bed: RegistrarBed;
const sids: Record<string, string> = {};

function register(t: test.Test, user: string, password: string, domain: string, opts: { expect?: number; expires?: number } = {})
  : Promise<SippResult> {
  const expect = opts.expect ?? 200;
  return findFreePort().then((localPort) => expectSippSuccess(t, registerRun(expect === 200 ? 'register-auth' : 'register-auth-fail', {
    target: bed.target, devices: { user, password, domain }, expect, localPort, expires: opts.expires,
    expectExpires: expect === 200 && opts.expires !== undefined ? opts.expires : undefined,
  }), `${user}@${domain} with its credentials → ${expect}`));
}

const finalOf = (result: SippResult) => receivedResponses(result).filter((m) => !m.startsWith('SIP/2.0 1')).pop() ?? '';
const storedKeys = async (aor: string) => bed.redis.exists(`user:${aor}`, `bindings:${aor}`);

test('auth trunks: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedProducts();
  const encrypt = (plain: string) => encryptSecret(plain, ENCRYPTION_SECRET);
  const account = await bed.db.seedAccount({ sip_realm: REALM, device_to_call_ratio: 0 });
  // One device place: voice_call_session 1 × ratio 0 + device 1.
  await bed.db.seedSubscription(account.account_sid, { voice_call_session: 1, device: 1 });
  await bed.db.seedClient({ account_sid: account.account_sid, username: 'alice', password_encrypted: encrypt('alice-pw') });
  await bed.db.seedClient({ account_sid: account.account_sid, username: 'bob', password_encrypted: encrypt('bob-pw') });
  const sp = account.service_provider_sid;
  const hooked = await bed.db.seedAccount({ sip_realm: HOOKED, service_provider_sid: sp,
    registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  await bed.db.seedSubscription(hooked.account_sid, { voice_call_session: 1, device: 5 });
  const otherSp = await bed.db.seedServiceProvider();
  const trunk = (name: string, username: string, password: string | null, more: object) =>
    bed.db.seedCarrier({ name, trunk_type: 'auth', inbound_auth_username: username, inbound_auth_password: password, ...more });
  sids.pbx = await trunk('account pbx', 'pbx', 'pbx-secret', { account_sid: account.account_sid, service_provider_sid: sp });
  sids.spPbx = await trunk('provider pbx', 'sp-pbx', 'sp-secret', { account_sid: null, service_provider_sid: sp });
  await trunk('retired pbx', 'old-pbx', 'old-secret', { account_sid: account.account_sid, is_active: 0 });
  await trunk('static carrier', 'ip-pbx', 'ip-secret', { account_sid: account.account_sid, trunk_type: 'static_ip' });
  await trunk('another provider', 'other-pbx', 'other-secret', { account_sid: null, service_provider_sid: otherSp });
  await trunk('no password', 'nopw-pbx', null, { account_sid: account.account_sid });
  await bed.startService({ JAMBONES_HOSTING: '1' });
  t.pass('hosted service connected');
});

test('auth trunks: a device fills the account\'s one place', async (t) => {
  await register(t, 'alice', 'alice-pw', REALM);
  t.equal(await bed.redis.zcard(`active-user:${REALM}`), 1, 'one device registered');
});

test('auth trunks: the trunk\'s REGISTER gets 200 echoing its Contact and Expires, beyond the device limit, and is not stored', async (t) => {
  const result = await register(t, 'pbx', 'pbx-secret', REALM, { expires: 120 });
  const ok = finalOf(result);
  const sentContact = headerOf(sentMessages(result).pop() ?? '', 'Contact');
  t.equal(headerOf(ok, 'Contact'), sentContact, 'Contact echoed as sent');
  t.equal(headerOf(ok, 'Expires'), '120', 'Expires echoed');
  t.equal(await storedKeys(`pbx@${REALM}`), 0, 'no user:<aor> record and no bindings');
  t.equal(await bed.redis.zcard(`active-user:${REALM}`), 1, 'the device count is unchanged');
  t.equal(await bed.redis.zscore('active-user', `user:pbx@${REALM}`), null, 'not in active-user');
  const outcome = await bed.service?.waitForLog((l) => l.msg === 'register outcome' && l.aor === `pbx@${REALM}` && l.status === 200, 3000)
    .catch(() => undefined);
  t.equal(outcome?.authTrunk, sids.pbx, 'the outcome log names the trunk');
});

test('auth trunks: a device over the limit is refused only once authenticated', async (t) => {
  const result = await register(t, 'bob', 'bob-pw', REALM, { expect: 503 });
  const answers = receivedResponses(result);
  t.ok(answers.some((m) => m.startsWith('SIP/2.0 401')), 'bob was challenged, not refused unauthenticated');
  t.equal(finalOf(result).split('\r\n')[0], 'SIP/2.0 503 Max Devices Registered', 'then 503 Max Devices Registered');
  t.equal(await storedKeys(`bob@${REALM}`), 0, 'bob not stored');
});

test('auth trunks: a trunk of the service provider (no account) serves every account of it, ahead of the hook', async (t) => {
  await register(t, 'sp-pbx', 'sp-secret', REALM);
  const before = bed.hook.requests.length;
  await register(t, 'sp-pbx', 'sp-secret', HOOKED);
  t.equal(bed.hook.requests.length, before, 'the registration hook was not asked');
  t.equal(await storedKeys(`sp-pbx@${HOOKED}`), 0, 'nothing stored');
});

test('auth trunks: the trunk unregistering gets 200 with Expires: 0', async (t) => {
  const result = await register(t, 'pbx', 'pbx-secret', REALM, { expires: 0 });
  t.equal(headerOf(finalOf(result), 'Expires'), '0', 'Expires: 0');
  t.equal(await bed.redis.zcard(`active-user:${REALM}`), 1, 'the device is still registered');
});

test('auth trunks: credentials that are no active auth trunk\'s of the account are refused', async (t) => {
  const cases: [string, string, string][] = [
    ['pbx', 'wrong-secret', 'wrong password'],
    ['old-pbx', 'old-secret', 'inactive trunk'],
    ['ip-pbx', 'ip-secret', 'static_ip carrier with inbound credentials'],
    ['other-pbx', 'other-secret', 'auth trunk of another service provider'],
    ['nopw-pbx', '', 'trunk without a password, empty password sent'],
  ];
  for (const [user, password, what] of cases) {
    const result = await register(t, user, password, REALM, { expect: 403 });
    t.equal(headerOf(finalOf(result), 'X-Reason'), 'Invalid credentials', `${what}: 403 Invalid credentials`);
  }
});

test('auth trunks: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
