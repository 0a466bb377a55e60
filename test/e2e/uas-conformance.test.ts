/**
 * What RFC 3261 §8.2.2 and §10.2 ask of the service as a UAS, found by the RFC 4475 torture messages: an
 * OPTIONS whose Request-URI has a scheme we never serve gets 416, one that requires an extension 420 with
 * Unsupported; a REGISTER whose To is not a SIP or SIPS URI is a bad request (400), while an unusable SIP To
 * keeps jambonz's 403.
 */
import test from 'tape';
import { createRegistrarBed, RegistrarBed } from '../support/registrar-bed';
import { createUdpSipClient, sipHeader, statusLine, UdpSipClient } from '../support/udp-sip-client';

const REALM = 'uas.example.com';
let bed: RegistrarBed;
let client: UdpSipClient;
let sequence = 0;

function request(method: 'OPTIONS' | 'REGISTER', requestUri: string, headers: string[]): string {
  const id = `uas-${++sequence}`;
  return [
    `${method} ${requestUri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${client.localAddress}:${client.localPort};branch=z9hG4bK${id};rport`,
    'Max-Forwards: 70',
    `From: <sip:caller@${REALM}>;tag=${id}`,
    ...headers,
    `Call-ID: ${id}`,
    `CSeq: 1 ${method}`,
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

test('uas conformance: set up', async (t) => {
  bed = await createRegistrarBed();
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: { url: bed.hook.url('/auth'), method: 'POST' } });
  await bed.startService();
  client = await createUdpSipClient('127.0.0.1', { host: '127.0.0.1', port: bed.standIn.sipPort });
  t.pass('service running');
});

test('uas conformance: OPTIONS with a Request-URI scheme we never serve gets 416', async (t) => {
  for (const uri of ['nobodyKnowsThisScheme:totallyopaquecontent', 'soap.beep://192.0.2.103:3002', 'http://example.com/x']) {
    const answer = await client.request(request('OPTIONS', uri, [`To: <sip:user@${REALM}>`]));
    t.equal(statusLine(answer), 416, `${uri}: 416 Unsupported URI Scheme`);
  }
  const ok = await client.request(request('OPTIONS', `sip:${REALM}`, [`To: <sip:user@${REALM}>`]));
  t.equal(statusLine(ok), 200, 'sip: is served');
});

test('uas conformance: OPTIONS requiring an extension gets 420 naming it in Unsupported', async (t) => {
  const answer = await client.request(request('OPTIONS', `sip:${REALM}`, [`To: <sip:user@${REALM}>`,
    'Require: foo, bar', 'Proxy-Require: baz']));
  t.equal(statusLine(answer), 420, '420 Bad Extension');
  t.equal(sipHeader(answer, 'Unsupported'), 'foo, bar', 'the Require option-tags, not the Proxy-Require one');
  const ok = await client.request(request('OPTIONS', `sip:${REALM}`, [`To: <sip:user@${REALM}>`, 'Proxy-Require: baz']));
  t.equal(statusLine(ok), 200, 'Proxy-Require alone is a proxy\'s business');
});

test('uas conformance: a REGISTER whose To is no SIP or SIPS URI gets 400; an unusable SIP To keeps 403', async (t) => {
  for (const to of ['isbn:2983792873', '<tel:+15551234567>', '<http://www.example.com>']) {
    const answer = await client.request(request('REGISTER', `sip:${REALM}`, [`To: ${to}`, '<CONTACT>', 'Expires: 60']
      .map((h) => h.replace('<CONTACT>', `Contact: <sip:caller@${client.localAddress}:${client.localPort}>`))));
    t.equal(statusLine(answer), 400, `To: ${to} → 400`);
    t.equal(sipHeader(answer, 'X-Reason'), 'The address of record must be a SIP or SIPS URI');
  }
  const answer = await client.request(request('REGISTER', `sip:${REALM}`, [`To: <sip:a@${REALM}@${REALM}>`,
    `Contact: <sip:caller@${client.localAddress}:${client.localPort}>`, 'Expires: 60']));
  t.equal(statusLine(answer), 403, 'To: user@host@host → 403 as jambonz answers');
  t.equal(sipHeader(answer, 'X-Reason'), 'Invalid address of record');
});

test('uas conformance: tear down', async (t) => {
  client.close();
  await bed.close();
  t.pass('closed');
});
