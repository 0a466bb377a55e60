/**
 * regbot start-up latency with the default lease TTL (70 s, heartbeat every 17.5 s): drachtio usually
 * connects before Redis is ready, so the first heartbeat fails. The regbot must retry it at once instead
 * of waiting a whole heartbeat period, or every trunk registers ~17 s late after each restart (found by
 * the regbot phase of `npm run bench`). The other regbot tests use a 3 s lease, which hides this.
 */
import test from 'tape';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, baseServiceEnv, connectedToDrachtio } from '../support/service';
import { TestDb } from '../support/test-db';
import { createTestRedis, flushTestRedis } from '../support/test-redis';
import { startSippServer, findFreePort } from '../support/sipp';

const SECRET = 'cymru';

/** A carrier that answers every REGISTER of a Call-ID with a 200 granting 600 s. */
function okCarrier(contact: string): string {
  return ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="carrier">',
    '  <label id="loop"/>',
    '  <recv request="REGISTER"/>',
    '  <send><![CDATA[',
    ...['SIP/2.0 200 OK', '[last_Via:]', '[last_From:]', '[last_To:];tag=[pid]SIPpTag01[call_number]', '[last_Call-ID:]',
      '[last_CSeq:]', `Contact: ${contact};expires=600`, 'Content-Length: 0', '', ''].map((line) => `      ${line}`),
    '  ]]></send>',
    '  <nop next="loop"/>', '</scenario>', ''].join('\n');
}

test('regbot: registers within seconds of start with the default lease TTL', async (t) => {
  const standIn = new DrachtioStandIn({ secret: SECRET });
  await standIn.start();
  const db = await TestDb.connect();
  await db.truncateAll();
  const redis = createTestRedis();
  await flushTestRedis(redis);
  const realm = 'startup.carrier.test';
  const port = await findFreePort();
  const sipp = startSippServer({ scenario: okCarrier(`<sip:quick@${realm};transport=udp>`), localPort: port, timeoutSec: 40 });
  await sipp.ready;
  const [carrierSid] = await db.seedRegisteringCarriers([{ username: 'quick', password: 'pw', realm, ipv4: '127.0.0.1', port }]);

  const started = Date.now();
  const service = startService({ ...baseServiceEnv({ port: standIn.adminPort, secret: SECRET }), REGBOT_UNREGISTER_ON_SHUTDOWN: '0' });
  try {
    await service.waitForLog(connectedToDrachtio, 15000);
    const registered = await service.waitForLog((l) => l.msg === 'regbot: registered', 8000).catch(() => undefined);
    const seconds = (Date.now() - started) / 1000;
    t.ok(registered, `registered ${seconds.toFixed(1)} s after start (a 17.5 s heartbeat period would fail this)`);
    // register_status is written in batches (up to 100 ms after the 200)
    let rows = await db.query('SELECT register_status FROM voip_carriers WHERE voip_carrier_sid = ?', [carrierSid]);
    for (let i = 0; i < 30 && !rows[0]?.register_status; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await db.query('SELECT register_status FROM voip_carriers WHERE voip_carrier_sid = ?', [carrierSid]);
    }
    t.match(String(rows[0]?.register_status), /^\{"status":"ok"/, 'register_status says ok');
  } finally {
    await service.stop();
    await sipp.stop();
    await db.truncateAll();
    await db.close();
    await flushTestRedis(redis);
    redis.disconnect();
    await standIn.stop();
  }
});
