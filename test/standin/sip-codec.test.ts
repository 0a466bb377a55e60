import test from 'tape';
import { parseAppHeaders } from '../support/drachtio/app-headers';
import { HeaderSet } from '../support/drachtio/header-set';
import { defaultCSeq, newBranch, newCallId, newTag, timeToken } from '../support/drachtio/ids';
import { receiveRequest } from '../support/drachtio/inbound-request';
import { parseSipMessage } from '../support/drachtio/sip-message';
import { SipStreamSplitter } from '../support/drachtio/sip-stream';
import { canonicalNameAddr, parseVia } from '../support/drachtio/sip-values';
import { sip } from './helpers';

const COMPACT = sip([
  'OPTIONS sip:127.0.0.1:5060 SIP/2.0',
  'v: SIP/2.0/UDP 10.1.2.3:5071;branch=z9hG4bK-1',
  'f: <sip:a@b>;tag=1',
  't: <sip:c@d>',
  'i: abc@host',
  'CSeq: 7 OPTIONS',
  'X-Folded: first',
  '  second',
  'l: 5',
], 'hello and more');

test('sip: compact header forms, folding and a body cut at Content-Length', (t) => {
  const msg = parseSipMessage(Buffer.from(COMPACT));
  t.equal(msg.method, 'OPTIONS');
  t.equal(msg.get('from'), '<sip:a@b>;tag=1');
  t.equal(msg.get('Call-ID'), 'abc@host');
  t.deepEqual(msg.cseq, { seq: 7, method: 'OPTIONS' });
  t.equal(msg.get('x-folded'), 'first second');
  t.equal(msg.headers[5].raw, 'X-Folded: first\r\n  second', 'the raw text keeps the folding');
  t.equal(msg.body.toString(), 'hello');
  t.equal(msg.size, Buffer.byteLength(COMPACT));
  t.end();
});

test('sip: a received request keeps its header text; only the top Via is re-encoded, with received and rport', (t) => {
  const received = receiveRequest(parseSipMessage(Buffer.from(COMPACT)), '127.0.0.1', 5071);
  const lines = received.text.split('\r\n');
  t.equal(lines[1], 'Via: SIP/2.0/UDP 10.1.2.3:5071;branch=z9hG4bK-1;received=127.0.0.1;rport=5071');
  t.equal(lines[2], 'f: <sip:a@b>;tag=1', 'compact form kept');
  t.ok(received.text.includes('l: 5\r\n\r\nhello'), 'body as announced');
  t.end();
});

test('sip: an existing ;rport is filled in place; no received when the host is the source address', (t) => {
  const msg = parseSipMessage(Buffer.from(sip([
    'REGISTER sip:x SIP/2.0', 'Via: SIP/2.0/TCP 127.0.0.1:5073;rport;branch=z9hG4bK-2, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-0',
    'From: <sip:a@x>;tag=1', 'To: <sip:a@x>', 'Call-ID: c', 'CSeq: 1 REGISTER',
  ])));
  const received = receiveRequest(msg, '127.0.0.1', 40000);
  t.deepEqual(received.vias, ['SIP/2.0/TCP 127.0.0.1:5073;rport=40000;branch=z9hG4bK-2', 'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-0']);
  t.ok(received.text.includes('Content-Length: 0\r\n\r\n'), 'Content-Length added when missing');
  t.end();
});

test('sip: the TCP stream splitter frames by Content-Length and answers double-CRLF pings', (t) => {
  const one = sip(['OPTIONS sip:a SIP/2.0', 'Content-Length: 3'], 'abc');
  const two = sip(['OPTIONS sip:b SIP/2.0', 'l: 0']);
  const stream = Buffer.from(`\r\n\r\n${one}\r\n${two}`);
  for (let cut = 1; cut < stream.length; cut++) {
    const splitter = new SipStreamSplitter();
    const items = [...splitter.push(stream.subarray(0, cut)), ...splitter.push(stream.subarray(cut))];
    const summary = items.map((i) => (i.type === 'message' ? i.data.toString() : i.type));
    if (JSON.stringify(summary) !== JSON.stringify(['ping', one, two])) {
      t.fail(`split at ${cut}: ${JSON.stringify(summary)}`);
      return t.end();
    }
  }
  t.pass('ping, then both messages, at every split position');
  t.end();
});

test('sip: headers are written in sofia order, custom ones after Content-Length, extensions last', (t) => {
  const set = new HeaderSet();
  set.set('content_length', '0');
  set.addUnknown('X-Capture: yes');
  set.add('p_asserted_identity', '<sip:pai@x>');
  set.add('allow', 'INVITE,ACK');
  set.add('allow', 'BYE');
  set.set('cseq', '1  OPTIONS');
  set.set('to', 'sip:127.0.0.1:5082;transport=tcp');
  set.set('via', 'SIP/2.0/UDP h;branch=z9hG4bKx');
  t.deepEqual(set.lines(), [
    'Via: SIP/2.0/UDP h;branch=z9hG4bKx',
    'To: <sip:127.0.0.1:5082>;transport=tcp',
    'CSeq: 1 OPTIONS',
    'Allow: INVITE, ACK, BYE',
    'Content-Length: 0',
    'X-Capture: yes',
    'P-Asserted-Identity: <sip:pai@x>',
  ]);
  t.end();
});

test('sip: makeTags rules for app headers', (t) => {
  const block = [
    'Call-ID: 1-4159@127.0.0.1', 'cseq: 1 OPTIONS', 'Content-Length: 0', 'Via: SIP/2.0/UDP evil', 'Route: <sip:evil>',
    'contact: <sip:alice@localhost>', 'p-charging-vector: icid=1', 'x-lower: kept', 'Bad Name: dropped', 'Bad@Name: dropped',
    'www-authenticate: Digest realm="r",nonce="n"',
  ].join('\r\n');
  const headers = parseAppHeaders(block, '127.0.0.1:5090');
  t.deepEqual(headers.known, [
    { key: 'call_id', value: '1-4159@127.0.0.1' },
    { key: 'cseq', value: '1 OPTIONS' },
    { key: 'contact', value: '<sip:alice@127.0.0.1:5090>' },
    { key: 'www_authenticate', value: 'Digest realm="r",nonce="n"' },
  ]);
  t.deepEqual(headers.unknown, ['P-Charging-Vector: icid=1', 'x-lower: kept']);
  const set = new HeaderSet();
  for (const h of headers.known) set.add(h.key, h.value);
  t.ok(set.lines().includes('WWW-Authenticate: Digest realm="r", nonce="n"'), 'auth params re-encoded with ", "');
  t.end();
});

test('sip: name-addr and Via values', (t) => {
  t.equal(canonicalNameAddr('sip:nobody@x;tag=1'), '<sip:nobody@x>;tag=1');
  t.equal(canonicalNameAddr('sipp <sip:sipp@127.0.0.1:5077> ; tag = 4'), 'sipp <sip:sipp@127.0.0.1:5077>;tag=4');
  t.equal(canonicalNameAddr('"A, B" <sip:a@b>'), '"A, B" <sip:a@b>');
  t.deepEqual(parseVia('SIP / 2.0 / udp [::1]:5060 ; branch=z9hG4bK1'), {
    protocol: 'SIP/2.0/UDP', transport: 'UDP', host: '[::1]', port: '5060', params: ['branch=z9hG4bK1'],
  });
  t.equal(parseVia('garbage'), undefined);
  t.end();
});

test('ids: formats of tags, branches, Call-IDs, time tokens and the default CSeq', (t) => {
  t.match(newTag(), /^[A-Za-z0-9]{13}$/);
  t.match(newBranch(), /^z9hG4bK[A-Za-z0-9]{13}$/);
  t.match(newCallId(), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.match(timeToken(), /^\d{2}:\d{2}:\d{2}\.\d{6}$/);
  t.equal(defaultCSeq(Date.parse('2026-11-22T09:49:51.952Z')), 123116703, 'the captured CSeq at the captured time');
  t.equal(defaultCSeq(Date.parse('2026-11-22T09:54:05.991Z')), 123116830, 'capture 4');
  t.end();
});
