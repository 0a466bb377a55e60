/**
 * WebSocket clients (RFC 7118) through the stand-in's WS listener: a `.invalid` Contact, a WS Via, and
 * a binding stored with protocol ws and the connection's source as proxy. sipp cannot speak WS, so
 * the client here is a small one of our own, using the project's digest helpers.
 */
import test from 'tape';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { buildAuthorization, parseChallenge } from '../../lib/sip/digest';

const REALM = 'ws.example.com';
let bed: RegistrarBed;

function register(cseq: number, authorization?: string): string {
  const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
  return [
    `REGISTER sip:${REALM} SIP/2.0`,
    `Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=${branch}`,
    'Max-Forwards: 70',
    `From: <sip:webrtc@${REALM}>;tag=wsfromtag`,
    `To: <sip:webrtc@${REALM}>`,
    'Call-ID: ws-call-1',
    `CSeq: ${cseq} REGISTER`,
    'Contact: <sip:k2jd8s@df7jal23ls0d.invalid;transport=ws>;expires=600',
    'Expires: 600',
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer over WS')), 5000);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(data.toString());
    });
  });
}

function header(message: string, name: string): string | undefined {
  const line = message.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(line.indexOf(':') + 1).trim();
}

test('ws: a WebRTC client registers over WebSocket', async (t) => {
  bed = await createRegistrarBed({ wsPort: 0 });
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  await bed.startService();
  const ws = new WebSocket(`ws://127.0.0.1:${bed.standIn.wsPort}`, 'sip');
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const local = ws as unknown as { _socket: { localPort: number } };

  ws.send(register(1));
  const challenge = await nextMessage(ws);
  t.ok(challenge.startsWith('SIP/2.0 401'), '401 first');
  const parsed = parseChallenge(header(challenge, 'WWW-Authenticate') ?? '');
  t.ok(parsed.ok, 'the challenge parses');
  if (!parsed.ok) return;
  const authorization = buildAuthorization({ challenge: parsed.value, username: 'webrtc', password: 'pw', method: 'REGISTER',
    uri: `sip:${REALM}`, cnonce: 'abcdef12' });
  ws.send(register(2, authorization));
  const ok = await nextMessage(ws);
  t.ok(ok.startsWith('SIP/2.0 200'), '200 after authenticating');
  t.equal(header(ok, 'Expires'), '600', 'not shortened: WS is not UDP');
  t.equal(header(ok, 'Contact'), '<sip:k2jd8s@df7jal23ls0d.invalid;transport=ws>;expires=600');

  const record = JSON.parse((await bed.redis.get(`user:webrtc@${REALM}`)) ?? '{}') as Record<string, unknown>;
  t.equal(record.protocol, 'ws', 'stored with protocol ws');
  t.equal(record.contact, 'sip:k2jd8s@df7jal23ls0d.invalid;transport=ws');
  t.equal(record.proxy, `sip:127.0.0.1:${local._socket.localPort}`, 'proxy = the WebSocket connection\'s source');
  const hookBody = bed.hook.requests[0]?.json as Record<string, unknown> | undefined;
  t.equal(hookBody?.uri, `sip:${REALM}`, 'the hook got the digest uri the client used');
  ws.close();
  await bed.close();
});
