/**
 * JsSIP, the SIP stack of many WebRTC web phones, registers over WebSocket (RFC 7118) through the stand-in's
 * WS listener: a `.invalid` Contact host, a WS Via, and a binding stored with protocol "ws" whose proxy is
 * the WebSocket connection's source. It then unregisters. The hook checks its digest for real.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { createJssipPhone } from '../support/jssip';
import { passwordCheckingHook } from '../support/digest-hook';

const REALM = 'webrtc.example.com';
const AOR = `dave@${REALM}`;
let bed: RegistrarBed;

test('jssip: set up', async (t) => {
  bed = await createRegistrarBed({ wsPort: 0 });
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  bed.hook.respondWith(passwordCheckingHook({ dave: 'dave-secret' }));
  await bed.startService();
  t.pass('service running, stand-in listening for WebSocket');
});

test('jssip: registers over WebSocket, binding stored with protocol ws, then unregisters', async (t) => {
  const phone = createJssipPhone({ wsUrl: `ws://127.0.0.1:${bed.standIn.wsPort}`, user: 'dave', password: 'dave-secret', realm: REALM });
  try {
    const registered = await phone.register();
    t.equal(registered.response.status_code, 200, 'JsSIP registered (200)');
    t.equal(registered.response.getHeader('Expires'), '600', 'told the 600 s it asked for: WS is not UDP behind NAT');
    const record = JSON.parse((await bed.redis.get(`user:${AOR}`)) ?? '{}') as Record<string, unknown>;
    t.equal(record.protocol, 'ws', 'binding stored with protocol "ws"');
    t.match(String(record.contact), /^sip:[^@]+@[^;]+\.invalid;transport=ws$/, 'JsSIP\'s .invalid Contact');
    t.equal(record.proxy, `sip:127.0.0.1:${String(phone.socket.localPort())}`, 'proxy = the WebSocket connection\'s source');
    t.equal((bed.hook.requests[0]?.json as { username?: string } | undefined)?.username, 'dave', 'the hook verified dave\'s digest');

    const unregistered = await phone.unregister();
    t.equal(unregistered.response.status_code, 200, 'un-REGISTER answered 200');
    t.equal(await bed.redis.get(`user:${AOR}`), null, 'binding removed');
  } finally {
    phone.stop();
  }
});

test('jssip: tear down', async (t) => {
  await bed.close();
  t.pass('closed');
});
