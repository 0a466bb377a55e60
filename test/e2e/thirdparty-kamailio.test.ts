/**
 * regbot registers the SBC to carriers played by Kamailio, a registrar nobody here wrote (auth with the
 * password in its script, registrar and usrloc in memory): an MD5 challenge with qop=auth, a SHA-256 one,
 * and a 407 Proxy-Authenticate. Each must end with `kamcmd ul.dump` showing the binding and
 * voip_carriers.register_status saying ok; removing the carrier un-REGISTERs it.
 */
import test from 'tape';
import { startService, baseServiceEnv, connectedToDrachtio, RunningService } from '../support/service';
import { startRegbotBed, stopRegbotBed, waitForRegisterStatus, RegbotBed } from '../support/regbot-bed';
import { findFreePort } from '../support/sipp';
import { startKamailio, Kamailio, KamailioCarrier } from '../support/kamailio';
import { parseAuthorization, verifyResponse } from '../../lib/sip/digest';

const SECRET = 'cymru';
let bed: RegbotBed;
let service: RunningService;

/** Starts Kamailio as `carrier`, seeds it for regbot, waits for `ok`, checks Kamailio's side, then removes it. */
async function registersTo(t: test.Test, spec: Omit<KamailioCarrier, 'port'>, checkCredentials: (value: string) => void): Promise<void> {
  const header = spec.challenge === 'www' ? 'Authorization' : 'Proxy-Authorization';
  const kamailio: Kamailio = startKamailio({ ...spec, port: await findFreePort() });
  try {
    await kamailio.waitForOutput(/Listening on/, 10000);
    const port = Number(/udp: 127\.0\.0\.1 \[127\.0\.0\.1\]:(\d+)/.exec(kamailio.output())?.[1]);
    const carrierSid = await bed.db.seedCarrier({ requires_register: 1, register_username: spec.user,
      register_password: spec.password, register_sip_realm: spec.realm });
    const gatewaySid = await bed.db.seedGateway({ voip_carrier_sid: carrierSid, ipv4: '127.0.0.1', port, protocol: 'udp' });

    const status = await waitForRegisterStatus(bed.db, carrierSid, (s) => s.status === 'ok', 15000);
    t.equal(status?.status, 'ok', 'register_status says ok');
    t.equal(status?.reason, '200 OK', 'reason 200 OK');
    const aor = `${spec.user}@${spec.realm}`;
    const dump = kamailio.ulDump();
    t.ok(dump.includes(`AoR: ${aor}`), `kamcmd ul.dump shows the AoR ${aor}`);
    t.ok(dump.includes(`Address: sip:${aor};transport=udp`), 'with regbot\'s Contact');
    const credentials = kamailio.credentialsSeen();
    t.equal(credentials.length, 1, 'one answered challenge');
    t.equal(credentials[0]?.header, header, `answered in ${header}`);
    const parsed = parseAuthorization(credentials[0]?.value ?? '');
    t.ok(parsed.ok && verifyResponse(parsed.value, { password: spec.password, method: 'REGISTER' }),
      'the digest regbot sent verifies with the carrier\'s password');
    checkCredentials(credentials[0]?.value ?? '');

    await bed.db.exec('DELETE FROM sip_gateways WHERE voip_carrier_sid = ?', [carrierSid]);
    await bed.db.exec('DELETE FROM voip_carriers WHERE voip_carrier_sid = ?', [carrierSid]);
    await service.waitForLog((l) => l.msg === 'regbot: unregistered' && l.gatewaySid === gatewaySid, 10000);
    // regbot logs the un-REGISTER once Kamailio's 200 is in, so the binding is gone by now.
    t.notOk(kamailio.ulDump().includes(`AoR: ${aor}`), 'removing the carrier un-REGISTERs: the binding is gone');
  } finally {
    await kamailio.stop();
  }
}

test('kamailio: set up stand-in, database and service with regbot', async (t) => {
  bed = await startRegbotBed(SECRET);
  service = startService({
    ...baseServiceEnv({ port: bed.standIn.adminPort, secret: SECRET }),
    REGBOT_RELOAD_INTERVAL_MS: '300',
    REGBOT_REFRESH_JITTER: '0',
    REGBOT_RETRY_BASE_MS: '300',
  });
  await service.waitForLog(connectedToDrachtio, 15000);
  await service.waitForLog((l) => l.msg === 'regbot: reconciled', 10000);
  t.pass('service running, regbot reconciling');
});

test('kamailio: MD5 with qop=auth (401 WWW-Authenticate)', (t) => registersTo(t,
  { realm: 'kam-md5.test', user: 'trunk-md5', password: 'md5-secret', algorithm: 'MD5', challenge: 'www' },
  (credentials) => {
    t.match(credentials, /qop=auth\b/, 'qop=auth');
    t.match(credentials, /nc=00000001/, 'with a nonce count');
    t.doesNotMatch(credentials, /algorithm=SHA-256/i, 'MD5');
  }));

test('kamailio: SHA-256 (401 WWW-Authenticate, algorithm=SHA-256)', (t) => registersTo(t,
  { realm: 'kam-sha.test', user: 'trunk-sha', password: 'sha-secret', algorithm: 'SHA-256', challenge: 'www' },
  (credentials) => {
    t.match(credentials, /algorithm=SHA-256/, 'answered with SHA-256');
    t.match(credentials, /qop=auth\b/, 'qop=auth');
  }));

test('kamailio: 407 Proxy-Authenticate', (t) => registersTo(t,
  { realm: 'kam-proxy.test', user: 'trunk-proxy', password: 'proxy-secret', algorithm: 'MD5', challenge: 'proxy' },
  (credentials) => {
    t.match(credentials, /qop=auth\b/, 'qop=auth');
  }));

test('kamailio: tear down', async (t) => {
  const stopped = await service.stop();
  t.equal(stopped.code, 0, 'service stopped');
  await stopRegbotBed(bed);
});
