/**
 * Requests from the network delivered to an app, and the app's responses: captured exchanges replayed
 * with a raw admin client and raw SIP peers (ports substituted, ids and times checked for format only).
 */
import test from 'tape';
import { WebSocket } from 'ws';
import {
  AdminMessage, RawAdminClient, TcpPeer, UdpPeer, delay, header, headerNames, sip, withStandIn, withTimeout,
} from './helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIME = /^\d{2}:\d{2}:\d{2}\.\d{6}$/;
const TAG = /^[A-Za-z0-9]{13}$/;

/** The OPTIONS sipp sent in capture 1, from `peer` to `server`. */
function capturedOptions(peer: number, server: number, transport = 'UDP', callId = '1-4159@127.0.0.1'): string {
  return sip([
    `OPTIONS sip:127.0.0.1:${server} SIP/2.0`,
    `Via: SIP/2.0/${transport} 127.0.0.1:${peer};branch=z9hG4bK-4159-1-0`,
    `From: <sip:sipp@127.0.0.1:${peer}>;tag=4159SIPpTag001`,
    `To: <sip:127.0.0.1:${server}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    `Contact: <sip:sipp@127.0.0.1:${peer};transport=${transport}>`,
    'Max-Forwards: 70',
    'User-Agent: sipp-smoke',
    'Content-Length: 0',
  ]);
}

/** What drachtio-srf sent for `res.send(200, {headers: {Allow, 'X-Capture': 'yes'}})` in capture 1. */
function capturedAppResponse(peer: number, server: number, callId = '1-4159@127.0.0.1'): string {
  return sip([
    'SIP/2.0 200 OK',
    `Call-ID: ${callId}`,
    'cseq: 1 OPTIONS',
    `from: <sip:sipp@127.0.0.1:${peer}>;tag=4159SIPpTag001`,
    `to: <sip:127.0.0.1:${server}>`,
    'Content-Length: 0',
    'allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER',
    'X-Capture: yes',
  ]);
}

/** The response the server put on the wire in capture 1 (To tag left as a placeholder). */
function capturedWireResponse(peer: number, server: number, toTag: string, transport = 'UDP', rport = peer): string {
  return sip([
    'SIP/2.0 200 OK',
    `Via: SIP/2.0/${transport} 127.0.0.1:${peer};branch=z9hG4bK-4159-1-0;rport=${rport}`,
    `From: <sip:sipp@127.0.0.1:${peer}>;tag=4159SIPpTag001`,
    `To: <sip:127.0.0.1:${server}>;tag=${toTag}`,
    'Call-ID: 1-4159@127.0.0.1',
    'CSeq: 1 OPTIONS',
    'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER',
    'Content-Length: 0',
    'X-Capture: yes',
  ]);
}

function withRport(request: string, port: number): string {
  return request.replace(/^(Via: [^\r]*)/m, `$1;rport=${port}`);
}

function checkDelivery(t: test.Test, m: AdminMessage, expected: Array<string | RegExp>): void {
  t.equal(m.tokens.length, expected.length, `${expected.length} tokens`);
  expected.forEach((e, i) => {
    if (e instanceof RegExp) t.match(m.tokens[i], e, `token ${i} format`);
    else t.equal(m.tokens[i], e, `token ${i}`);
  });
}

test('uas: UDP OPTIONS delivered with the captured token layout, answered with the captured app message', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['options']);
    const peer = await UdpPeer.open();
    const request = capturedOptions(peer.port, s.sipPort);
    peer.send(request, s.sipPort);
    const delivered = await app.sip();
    checkDelivery(t, delivered, [UUID, 'sip', 'network', String(Buffer.byteLength(request)), 'udp', '127.0.0.1', String(peer.port),
      TIME, UUID, '', '127.0.0.1', String(s.sipPort), '']);
    t.equal(delivered.sip, withRport(request, peer.port), 'request re-encoded: only ;rport added to the top Via');

    const txn = delivered.tokens[8];
    const msgId = app.send(`sip|${txn}|\r\n${capturedAppResponse(peer.port, s.sipPort)}`, 'd6de1613-453b-4172-bdd4-f38f3c1c09a2');
    const reply = await app.reply(msgId);
    const wire = await peer.next();
    const toTag = /tag=([A-Za-z0-9]+)\r\nCall-ID/.exec(wire.text)?.[1] ?? '';
    t.match(toTag, TAG, 'To tag added by the server');
    t.equal(wire.text, capturedWireResponse(peer.port, s.sipPort, toTag), 'wire response: header order and values of the capture');
    checkDelivery(t, reply, [UUID, 'response', msgId, 'OK', 'application', String(Buffer.byteLength(wire.text)), '', '127.0.0.1',
      String(peer.port), TIME, txn, '', '', 'Msg sent:', '']);
    t.equal(reply.sip, wire.text, 'Msg sent echo is the response as sent');
    peer.close();
    app.close();
  });
});

test('uas: a retransmission while pending is discarded; after the final it gets the same response, with no second delivery', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['options']);
    const peer = await UdpPeer.open();
    const request = capturedOptions(peer.port, s.sipPort);
    peer.send(request, s.sipPort);
    const delivered = await app.sip();
    peer.send(request, s.sipPort);
    await delay(100);
    t.equal(peer.received.length, 0, 'nothing sent back for a retransmission while pending');
    await app.reply(app.send(`sip|${delivered.tokens[8]}|\r\n${capturedAppResponse(peer.port, s.sipPort)}`));
    const first = await peer.next();
    peer.send(request, s.sipPort);
    peer.send(request, s.sipPort);
    const third = await peer.next(() => true, 2000, 2);
    t.equal(third.text, first.text, 'identical response (same To tag) replayed');
    t.equal(peer.received.length, 3);
    await delay(100);
    t.equal(app.messages.filter((m) => m.tokens[1] === 'sip').length, 1, 'delivered to the app once');
    peer.close();
    app.close();
  });
});

test('uas: unknown transaction → NOK; a second final for the same transaction → NOK', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['options']);
    const unknown = await app.reply(app.send(`sip|00000000-0000-4000-8000-000000000000|\r\n${capturedAppResponse(1, 2)}`));
    t.deepEqual(unknown.tokens.slice(3), ['NOK', 'Response not sent due to unknown transaction']);
    const peer = await UdpPeer.open();
    peer.send(capturedOptions(peer.port, s.sipPort), s.sipPort);
    const txn = (await app.sip()).tokens[8];
    const ok = await app.reply(app.send(`sip|${txn}|\r\n${capturedAppResponse(peer.port, s.sipPort)}`));
    t.equal(ok.tokens[3], 'OK');
    const again = await app.reply(app.send(`sip|${txn}|\r\n${capturedAppResponse(peer.port, s.sipPort)}`));
    t.deepEqual(again.tokens.slice(3), ['NOK', 'Response not sent due to unknown transaction']);
    peer.close();
    app.close();
  });
});

function capturedRegister(peer: number, cseq: number, branch: string, auth?: string): string {
  return sip([
    'REGISTER sip:sipp.test SIP/2.0',
    `Via: SIP/2.0/TCP 127.0.0.1:${peer};branch=${branch}`,
    'From: <sip:alice@sipp.test>;tag=4587SIPpTag001',
    'To: <sip:alice@sipp.test>',
    'Call-ID: 1-4587@127.0.0.1',
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:alice@127.0.0.1:${peer};transport=TCP>`,
    ...(auth ? [`Authorization: ${auth}`] : []),
    'Expires: 3600',
    'Max-Forwards: 70',
    'User-Agent: sipp-reg',
    'Content-Length: 0',
  ]);
}

test('uas: REGISTER over TCP, challenged then accepted (capture 1b)', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['register']);
    const peer = await TcpPeer.connect(s.sipPort);
    const port = peer.localPort;
    const first = capturedRegister(port, 1, 'z9hG4bK-4587-1-0');
    peer.send(first);
    const d1 = await app.sip();
    checkDelivery(t, d1, [UUID, 'sip', 'network', String(Buffer.byteLength(first)), 'tcp', '127.0.0.1', String(port), TIME, UUID, '',
      '127.0.0.1', String(s.sipPort), '']);
    t.equal(d1.sip, withRport(first, port));
    const challenge = sip(['SIP/2.0 401 Unauthorized', 'Call-ID: 1-4587@127.0.0.1', 'cseq: 1 REGISTER',
      'from: <sip:alice@sipp.test>;tag=4587SIPpTag001', 'to: <sip:alice@sipp.test>', 'Content-Length: 0',
      'www-authenticate: Digest realm="sipp.test", nonce="3a7963656255d67d", algorithm=MD5, qop="auth"']);
    const r1 = await app.reply(app.send(`sip|${d1.tokens[8]}|\r\n${challenge}`));
    const wire401 = await peer.until((text) => text.includes('\r\n\r\n'));
    t.deepEqual(headerNames(wire401), ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'WWW-Authenticate', 'Content-Length']);
    t.equal(header(wire401, 'WWW-Authenticate'), 'Digest realm="sipp.test", nonce="3a7963656255d67d", algorithm=MD5, qop="auth"');
    t.deepEqual(r1.tokens.slice(3, 9), ['OK', 'application', String(Buffer.byteLength(wire401)), '', '127.0.0.1', String(port)]);

    const auth = 'Digest username="alice",realm="sipp.test",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:127.0.0.1:5060",nonce="3a7963656255d67d",response="507bd415c72517d43ef1f5a403212b9a",algorithm=MD5';
    peer.send(capturedRegister(port, 2, 'z9hG4bK-4587-1-2', auth));
    const d2 = await app.sip(() => true, 3000, app.messages.indexOf(d1) + 1);
    t.notEqual(d2.tokens[8], d1.tokens[8], 'the retried REGISTER is a new transaction');
    t.ok(d2.sip?.includes(`Authorization: ${auth}\r\n`), 'Authorization passed through untouched');
    const ok = sip(['SIP/2.0 200 OK', 'Call-ID: 1-4587@127.0.0.1', 'cseq: 2 REGISTER', 'from: <sip:alice@sipp.test>;tag=4587SIPpTag001',
      'to: <sip:alice@sipp.test>', 'Content-Length: 0', `contact: <sip:alice@127.0.0.1:${port};transport=TCP>;expires=3600`, 'expires: 3600']);
    const before = peer.text.length;
    const r2 = await app.reply(app.send(`sip|${d2.tokens[8]}|\r\n${ok}`));
    const wire200 = (await peer.until((text) => text.length > before && text.endsWith('\r\n\r\n'))).slice(before);
    t.deepEqual(headerNames(wire200), ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Expires', 'Content-Length']);
    t.equal(header(wire200, 'Contact'), `<sip:alice@127.0.0.1:${port};transport=TCP>;expires=3600`);
    t.match(header(wire200, 'To') ?? '', /^<sip:alice@sipp\.test>;tag=[A-Za-z0-9]{13}$/);
    t.equal(r2.sip, wire200);
    peer.close();
    app.close();
  });
});

test('uas: an app response carrying a folded header sofia cannot parse → NOK, and the server answers 500 itself', async (t) => {
  const lines: string[] = [];
  await withStandIn({ log: (line) => lines.push(line) }, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['register']);
    const peer = await UdpPeer.open();
    const folded = sip([
      'REGISTER sip:sipp.test SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-fold-1`,
      'From: <sip:alice@sipp.test>\r\n  ;tag=fold1',
      'To: <sip:alice@sipp.test>',
      'Call-ID: fold-1@127.0.0.1',
      'CSeq: 1\r\n  REGISTER',
      `Contact: <sip:alice@127.0.0.1:${peer.port}>`,
      'Expires: 3600',
      'Content-Length: 0',
    ]);
    peer.send(folded, s.sipPort);
    const delivered = await app.sip();
    t.ok(delivered.sip?.includes('CSeq: 1\r\n  REGISTER\r\n'), 'the request reaches the app folded, as it came');
    // What drachtio-srf sends when it copies the request's From, To, Call-ID and CSeq as they came.
    const answer = sip(['SIP/2.0 401 Unauthorized', 'Call-ID: fold-1@127.0.0.1', 'cseq: 1\r\n  REGISTER',
      'from: <sip:alice@sipp.test>\r\n  ;tag=fold1', 'to: <sip:alice@sipp.test>', 'Content-Length: 0',
      'www-authenticate: Digest realm="sipp.test", nonce="abc", algorithm=MD5']);
    const reply = await app.reply(app.send(`sip|${delivered.tokens[8]}|\r\n${answer}`));
    t.deepEqual(reply.tokens.slice(3), ['NOK', 'Unknown server error sending response'], 'NOK to the app');
    t.ok(lines.some((l) => l.includes("makeTags - invalid header: '  REGISTER'")), 'the continuation line is logged as an invalid header');
    const wire = await peer.next();
    t.match(wire.text, /^SIP\/2\.0 500 Internal Server Error\r\n/, 'with sofia\'s reason phrase');
    t.equal(header(wire.text, 'CSeq'), '1 REGISTER', 'CSeq from the request, unfolded');
    t.equal(header(wire.text, 'From'), '<sip:alice@sipp.test>;tag=fold1', 'From from the request, unfolded');
    t.match(header(wire.text, 'To') ?? '', /^<sip:alice@sipp\.test>;tag=[A-Za-z0-9]{13}$/, 'To with a tag');
    t.equal(header(wire.text, 'WWW-Authenticate'), undefined, 'none of the app\'s headers');
    peer.send(folded, s.sipPort);
    const again = await peer.next(() => true, 3000, 1);
    t.equal(again.text, wire.text, 'a retransmission gets the same 500');
    t.equal(app.messages.filter((m) => m.tokens[1] === 'sip').length, 1, 'and is not delivered again');

    const unfolded = folded.replace(/\r\n {2}/g, ' ').replace('fold-1@', 'fold-2@').replace('z9hG4bK-fold-1', 'z9hG4bK-fold-2');
    peer.send(unfolded, s.sipPort);
    const second = await app.sip(() => true, 3000, app.messages.indexOf(delivered) + 1);
    const custom = sip(['SIP/2.0 200 OK', 'Call-ID: fold-2@127.0.0.1', 'cseq: 1 REGISTER', 'from: <sip:alice@sipp.test>;tag=fold1',
      'to: <sip:alice@sipp.test>', 'Content-Length: 0', 'X-Note: first\r\n  second']);
    const ok = await app.reply(app.send(`sip|${second.tokens[8]}|\r\n${custom}`));
    t.equal(ok.tokens[3], 'OK', 'a folded custom header does not stop the response');
    t.equal(header(ok.sip ?? '', 'X-Note'), 'first', 'its continuation line is dropped');
    peer.close();
    app.close();
  });
});

test('uas: a response for a TCP request whose connection has closed → NOK transport closed', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['options']);
    const peer = await TcpPeer.connect(s.sipPort);
    peer.send(capturedOptions(peer.localPort, s.sipPort, 'TCP'));
    const delivered = await app.sip();
    peer.close();
    await delay(100);
    const reply = await app.reply(app.send(`sip|${delivered.tokens[8]}|\r\n${capturedAppResponse(peer.localPort, s.sipPort)}`));
    t.deepEqual(reply.tokens.slice(3), ['NOK', 'transport for response has been shutdown or closed']);
    app.close();
  });
});

test('uas: no app routed the method → the server answers 503 itself (captured with MESSAGE)', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['options']);
    const peer = await UdpPeer.open();
    peer.send(sip([`MESSAGE sip:bob@127.0.0.1:${s.sipPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-m1`,
      'From: <sip:a@x>;tag=a1', 'To: <sip:bob@x>', 'Call-ID: m1', 'CSeq: 1 MESSAGE', 'Content-Type: text/plain', 'Content-Length: 2'], 'hi'), s.sipPort);
    const response = await peer.next();
    t.ok(response.text.startsWith('SIP/2.0 503 Service Unavailable\r\n'));
    t.match(header(response.text, 'To') ?? '', /^<sip:bob@x>;tag=[A-Za-z0-9]{13}$/);
    t.equal(header(response.text, 'Via'), `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-m1;rport=${peer.port}`);
    t.deepEqual(headerNames(response.text), ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Content-Length']);
    await delay(50);
    t.equal(app.messages.filter((m) => m.tokens[1] === 'sip').length, 0, 'nothing delivered');
    peer.close();
    app.close();
  });
});

test('uas: requests are round-robined across apps that routed the method', async (t) => {
  await withStandIn({}, async (s) => {
    const a = await RawAdminClient.authenticated(s.adminPort, ['options']);
    const b = await RawAdminClient.authenticated(s.adminPort, ['options']);
    const peer = await UdpPeer.open();
    for (let i = 0; i < 4; i++) peer.send(capturedOptions(peer.port, s.sipPort, 'UDP', `rr-${i}`), s.sipPort);
    await withTimeout((async () => {
      while (a.messages.length + b.messages.length < 4 + 4) await delay(10);
    })(), 3000, 'four deliveries');
    const callIds = (c: RawAdminClient) => c.messages.filter((m) => m.tokens[1] === 'sip').map((m) => header(m.sip ?? '', 'Call-ID'));
    t.deepEqual(callIds(a), ['rr-0', 'rr-2']);
    t.deepEqual(callIds(b), ['rr-1', 'rr-3']);
    b.close();
    await delay(50);
    peer.send(capturedOptions(peer.port, s.sipPort, 'UDP', 'rr-4'), s.sipPort);
    peer.send(capturedOptions(peer.port, s.sipPort, 'UDP', 'rr-5'), s.sipPort);
    await a.sip((m) => header(m.sip ?? '', 'Call-ID') === 'rr-5');
    t.deepEqual(callIds(a), ['rr-0', 'rr-2', 'rr-4', 'rr-5'], 'a disconnected app is skipped');
    const removed = await a.reply(a.send('remove_route|invite'));
    t.equal(removed.tokens[3], 'OK');
    peer.send(capturedOptions(peer.port, s.sipPort, 'UDP', 'rr-6'), s.sipPort);
    const response = await peer.next((d) => d.text.includes('rr-6'));
    t.ok(response.text.startsWith('SIP/2.0 503'), 'remove_route erased every route of the app (quirk)');
    peer.close();
    a.close();
  });
});

function badRequest(port: number, lines: string[]): string {
  return sip(lines.map((l) => l.replace('PEER', String(port))));
}

test('uas: requests the server rejects or drops itself', async (t) => {
  await withStandIn({ optionsAutoRespondUserAgent: 'keepalive-bot' }, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['options', 'register', 'invite']);
    const peer = await UdpPeer.open();
    const via = 'Via: SIP/2.0/UDP 127.0.0.1:PEER;branch=z9hG4bK-';
    const base = (method: string, branch: string, extra: string[] = [], cseqMethod = method) => badRequest(peer.port, [
      `${method} sip:127.0.0.1:${s.sipPort} SIP/2.0`, `${via}${branch}`, 'From: <sip:a@x>;tag=1', 'To: <sip:b@x>',
      `Call-ID: c-${branch}`, `CSeq: 1 ${cseqMethod}`, ...extra, 'Content-Length: 0']);
    const cases: Array<[string, string, string | undefined]> = [
      ['CSeq method mismatch', base('OPTIONS', 'b1', [], 'INVITE'), 'SIP/2.0 400 Bad Request'],
      ['missing Call-ID', base('OPTIONS', 'b2').replace(/Call-ID: [^\r]*\r\n/, ''), 'SIP/2.0 400 Bad Request'],
      ['unparseable CSeq', base('OPTIONS', 'b3').replace('CSeq: 1 OPTIONS', 'CSeq: one OPTIONS'), 'SIP/2.0 400 Bad CSeq Header'],
      ['REGISTER Contact without scheme', base('REGISTER', 'b4', ['Contact: <alice@127.0.0.1>']), 'SIP/2.0 400 Bad Request'],
      ['REGISTER Contact * with Expires 3600', base('REGISTER', 'b5', ['Contact: *', 'Expires: 3600']), 'SIP/2.0 400 Bad Request'],
      ['SIP/3.0', base('OPTIONS', 'b6').replace('SIP/2.0\r\n', 'SIP/3.0\r\n'), 'SIP/2.0 505 Version Not Supported'],
      ['CANCEL matching nothing', base('CANCEL', 'b7'), 'SIP/2.0 481 Call/Transaction Does Not Exist'],
      ['BYE outside a dialog', base('BYE', 'b8'), 'SIP/2.0 481 Call/Transaction Does Not Exist'],
      ['OPTIONS from the auto-respond user agent', base('OPTIONS', 'b9', ['User-Agent: keepalive-bot']), 'SIP/2.0 200 OK'],
      ['ACK matching nothing', base('ACK', 'b10'), undefined],
      ['REFER outside a dialog', base('REFER', 'b11'), undefined],
      ['no Via', base('OPTIONS', 'b12').replace(/Via: [^\r]*\r\n/, ''), undefined],
      ['Via transport not matching the transport', base('OPTIONS', 'b13').replace('SIP/2.0/UDP', 'SIP/2.0/TCP'), undefined],
      // RFC 4475 §3.3.9 mcl01: sofia keeps one instance of a single critical header; another is a fatal error.
      ['two Content-Length headers', base('OPTIONS', 'b14', ['Content-Length: 5']), 'SIP/2.0 400 Bad Content-Length Header'],
      ['two CSeq headers', base('OPTIONS', 'b15', ['CSeq: 2 OPTIONS']), 'SIP/2.0 400 Bad CSeq Header'],
      ['two Call-ID headers (one compact)', base('OPTIONS', 'b16', ['i: another']), 'SIP/2.0 400 Bad Call-ID Header'],
    ];
    for (const [what, text, expected] of cases) {
      const from = peer.received.length;
      peer.send(text, s.sipPort);
      if (expected) {
        const response = await peer.next(() => true, 2000, from);
        t.equal(response.text.split('\r\n')[0], expected, what);
      } else {
        await delay(100);
        t.equal(peer.received.length, from, `${what}: silently dropped`);
      }
    }
    t.equal(app.messages.filter((m) => m.tokens[1] === 'sip').length, 0, 'none of them reached the app');
    peer.close();
    app.close();
  });
});

test('uas: INVITE gets an automatic 100 Trying; a quick CANCEL gets 200, the INVITE 487, and the app is told', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['invite']);
    const peer = await UdpPeer.open();
    const lines = (method: string) => [`${method} sip:bob@127.0.0.1:${s.sipPort} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-inv1`, 'From: <sip:a@x>;tag=a1', 'To: <sip:bob@x>', 'Call-ID: inv-1',
      `CSeq: 1 ${method}`, 'Max-Forwards: 70'];
    peer.send(sip([...lines('INVITE'), 'Content-Type: application/sdp', 'Content-Length: 4'], 'v=0\n'), s.sipPort);
    const trying = await peer.next();
    t.equal(trying.text.split('\r\n')[0], 'SIP/2.0 100 Trying');
    t.equal(header(trying.text, 'To'), '<sip:bob@x>', 'no tag on 100');
    const invite = await app.sip();
    peer.send(sip([...lines('CANCEL'), 'Content-Length: 0']), s.sipPort);
    const cancel = await app.sip(() => true, 3000, app.messages.indexOf(invite) + 1);
    t.equal(cancel.tokens[8], invite.tokens[8], 'CANCEL carries the INVITE transaction id');
    t.equal(cancel.tokens[9], '', 'no dialog id before any response');
    t.ok(cancel.sip?.startsWith('CANCEL '));
    const r200 = await peer.next((d) => d.text.includes('CSeq: 1 CANCEL'));
    const r487 = await peer.next((d) => d.text.startsWith('SIP/2.0 487'));
    t.equal(r200.text.split('\r\n')[0], 'SIP/2.0 200 OK');
    t.equal(r487.text.split('\r\n')[0], 'SIP/2.0 487 Request Terminated');
    const late = await app.reply(app.send(`sip|${invite.tokens[8]}|\r\n${sip(['SIP/2.0 486 Busy Here', 'Content-Length: 0'])}`));
    t.equal(late.tokens[3], 'NOK', 'the app can no longer answer the cancelled INVITE');
    peer.close();
    app.close();
  });
});

test('uas: INVITE answered by the app: proto token and dialog id in Msg sent, Contact added to the 2xx', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['invite']);
    const peer = await UdpPeer.open();
    peer.send(sip([`INVITE sip:answer@127.0.0.1:${s.sipPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-4455-1-0`,
      `From: sipp <sip:sipp@127.0.0.1:${peer.port}>;tag=4455SIPpTag001`, `To: answer <sip:answer@127.0.0.1:${s.sipPort}>`,
      'Call-ID: 1-4455@127.0.0.1', 'CSeq: 1 INVITE', 'Content-Length: 0']), s.sipPort);
    const invite = await app.sip();
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n';
    const answer = sip(['SIP/2.0 200 OK', 'Call-ID: 1-4455@127.0.0.1', 'cseq: 1 INVITE',
      `from: sipp <sip:sipp@127.0.0.1:${peer.port}>;tag=4455SIPpTag001`, `to: answer <sip:answer@127.0.0.1:${s.sipPort}>`,
      `Content-Length: ${sdp.length}`], sdp);
    const reply = await app.reply(app.send(`sip|${invite.tokens[8]}|\r\n${answer}`));
    t.deepEqual(reply.tokens.slice(6, 9), ['udp', '127.0.0.1', String(peer.port)]);
    t.equal(reply.tokens[11], '1-4455@127.0.0.1;from-tag=4455SIPpTag001', 'dialog id');
    t.deepEqual(reply.tokens.slice(12), ['', 'Msg sent:', '']);
    const wire = await peer.next((d) => d.text.startsWith('SIP/2.0 200'));
    t.deepEqual(headerNames(wire.text), ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Content-Type', 'Content-Length']);
    t.equal(header(wire.text, 'Contact'), `<sip:127.0.0.1:${s.sipPort}>`);
    t.equal(header(wire.text, 'Content-Type'), 'application/sdp');
    const toTag = /tag=([A-Za-z0-9]+)/.exec(header(wire.text, 'To') ?? '')?.[1];
    const ackText = sip([`ACK sip:answer@127.0.0.1:${s.sipPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-4455-1-5`,
      `From: sipp <sip:sipp@127.0.0.1:${peer.port}>;tag=4455SIPpTag001`, `To: answer <sip:answer@127.0.0.1:${s.sipPort}>;tag=${toTag}`,
      'Call-ID: 1-4455@127.0.0.1', 'CSeq: 1 ACK', 'Content-Length: 0']);
    peer.send(ackText, s.sipPort);
    const ack = await app.sip((m) => m.sip?.startsWith('ACK') ?? false);
    t.deepEqual(ack.tokens.slice(2, 5), ['network', String(Buffer.byteLength(ackText)), ''], 'ACK: empty proto token as captured');
    t.deepEqual(ack.tokens.slice(8, 10), [invite.tokens[8], '1-4455@127.0.0.1;from-tag=4455SIPpTag001']);
    peer.close();
    app.close();
  });
});

test('uas: SIP over WebSocket (subprotocol sip): reported as tcp, Via gets received and rport', async (t) => {
  await withStandIn({ wsPort: 0 }, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['register']);
    const ws = new WebSocket(`ws://127.0.0.1:${s.wsPort}`, 'sip');
    await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 2000, 'ws open');
    t.equal(ws.protocol, 'sip');
    const received: string[] = [];
    ws.on('message', (data) => received.push(data.toString()));
    ws.send(sip(['REGISTER sip:127.0.0.1 SIP/2.0', 'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws1', 'From: <sip:a@x>;tag=w1',
      'To: <sip:a@x>', 'Call-ID: ws-1', 'CSeq: 1 REGISTER', 'Contact: <sip:a@df7jal23ls0d.invalid;transport=ws>', 'Expires: 60',
      'Content-Length: 0']));
    const delivered = await app.sip();
    t.equal(delivered.tokens[4], 'tcp', 'ws reported as tcp');
    t.deepEqual(delivered.tokens.slice(10, 12), ['127.0.0.1', String(s.wsPort)], 'received on the ws listener');
    t.equal(header(delivered.sip ?? '', 'Via'), `SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws1;received=127.0.0.1;rport=${delivered.tokens[6]}`);
    await app.reply(app.send(`sip|${delivered.tokens[8]}|\r\n${sip(['SIP/2.0 200 OK', 'Content-Length: 0'])}`));
    await withTimeout((async () => { while (!received.length) await delay(10); })(), 2000, 'ws response');
    t.ok(received[0].startsWith('SIP/2.0 200 OK\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;'), 'response on the same websocket');
    ws.close();
    app.close();
  });
});
