/**
 * Requests an app originates (`sip||[|proxy]`), replayed with a raw admin client against raw SIP peers.
 */
import net from 'node:net';
import test from 'tape';
import { WebSocket, WebSocketServer } from 'ws';
import { defaultCSeq } from '../support/drachtio/ids';
import {
  RawAdminClient, TcpPeer, UdpPeer, delay, freePort, header, headerNames, sip, withStandIn, withTimeout,
} from './helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIME = /^\d{2}:\d{2}:\d{2}\.\d{6}$/;

/** A response built from a received request the way sipp's UAS scenarios do. */
function answer(request: string, status: string, extra: string[] = [], toTag = '4163SIPpTag011'): string {
  return sip([
    `SIP/2.0 ${status}`,
    `Via: ${header(request, 'Via')}`,
    `From: ${header(request, 'From')}`,
    `To: ${header(request, 'To')};tag=${toTag}`,
    `Call-ID: ${header(request, 'Call-ID')}`,
    `CSeq: ${header(request, 'CSeq')}`,
    ...extra,
    'Content-Length: 0',
  ]);
}

test('uac: OPTIONS to a UDP peer: Msg sent layout, filled-in headers, 100 swallowed, 200 forwarded once (capture 1)', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const peer = await UdpPeer.open();
    const msgId = app.send(`sip||\r\n${sip([`OPTIONS sip:127.0.0.1:${peer.port} SIP/2.0`, 'User-Agent: capture-app', 'Content-Length: 0'])}`);
    const request = await peer.next();
    const reply = await app.reply(msgId);
    t.equal(request.port, s.sipPort, 'sent from the SIP listener port');
    t.deepEqual(reply.tokens.slice(1, 9), ['response', msgId, 'OK', 'application', String(Buffer.byteLength(request.text)), 'udp', '127.0.0.1', String(s.sipPort)]);
    t.match(reply.tokens[9], TIME);
    t.match(reply.tokens[10], UUID);
    t.deepEqual(reply.tokens.slice(11), ['Msg sent:', '']);
    t.equal(reply.sip, request.text, 'echo is the request as sent');
    const text = request.text;
    t.equal(text.split('\r\n')[0], `OPTIONS sip:127.0.0.1:${peer.port} SIP/2.0`);
    t.deepEqual(headerNames(text), ['Via', 'Max-Forwards', 'From', 'To', 'Call-ID', 'CSeq', 'User-Agent', 'Content-Length']);
    t.match(header(text, 'Via') ?? '', new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${s.sipPort};rport;branch=z9hG4bK[A-Za-z0-9]{13}$`));
    t.equal(header(text, 'Max-Forwards'), '70');
    t.match(header(text, 'From') ?? '', new RegExp(`^<sip:127\\.0\\.0\\.1:${s.sipPort}>;tag=[A-Za-z0-9]{13}$`));
    t.equal(header(text, 'To'), `<sip:127.0.0.1:${peer.port}>`);
    t.match(header(text, 'Call-ID') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const cseq = Number((header(text, 'CSeq') ?? '').split(' ')[0]);
    t.ok(Math.abs(cseq - defaultCSeq()) <= 1, 'CSeq = (NTP seconds >> 1) & 0x7ffffff');

    peer.send(answer(text, '100 Trying'), s.sipPort);
    const ok = answer(text, '200 OK', ['Server: sipp-uas']);
    peer.send(ok, s.sipPort);
    peer.send(ok, s.sipPort);
    const forwarded = await app.sip();
    t.deepEqual(forwarded.tokens.slice(1, 7), ['sip', 'network', String(Buffer.byteLength(ok)), 'udp', '127.0.0.1', String(peer.port)]);
    t.deepEqual(forwarded.tokens.slice(8), [reply.tokens[10], '', '']);
    t.equal(forwarded.sip, ok, 'response forwarded as received');
    await delay(100);
    t.equal(app.messages.filter((m) => m.tokens[1] === 'sip').length, 1, '100 swallowed, retransmitted 200 absorbed');
    peer.close();
    app.close();
  });
});

test('uac: UDP retransmissions at T1, 2·T1, 4·T1 (capped at T2) until a response', async (t) => {
  await withStandIn({ timers: { t1: 60, t2: 200 } }, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const peer = await UdpPeer.open();
    const started = Date.now();
    app.send(`sip||\r\n${sip([`OPTIONS sip:127.0.0.1:${peer.port} SIP/2.0`, 'Content-Length: 0'])}`);
    await peer.next(() => true, 3000, 4);
    const elapsed = Date.now() - started;
    t.ok(elapsed >= 60 + 120 + 200 + 200 - 30, `5 transmissions took ${elapsed} ms (0, 60, 180, 380, 580)`);
    t.equal(new Set(peer.received.map((d) => d.text)).size, 1, 'retransmissions are identical');
    peer.send(answer(peer.received[0].text, '200 OK'), s.sipPort);
    await app.sip();
    const count = peer.received.length;
    await delay(450);
    t.equal(peer.received.length, count, 'no retransmission after the final response');
    peer.close();
    app.close();
  });
});

test('uac: no answer within Timer F → internal 408 Request Timeout', async (t) => {
  await withStandIn({ timers: { t1: 50, timerB: 400 } }, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const peer = await UdpPeer.open();
    const reply = await app.reply(app.send(`sip||\r\n${sip([`OPTIONS sip:127.0.0.1:${peer.port} SIP/2.0`, 'Content-Length: 0'])}`));
    const timeout = await app.sip(() => true, 3000);
    t.deepEqual(timeout.tokens.slice(1, 7), ['sip', 'network', '0', 'udp', '', '0']);
    t.deepEqual(timeout.tokens.slice(8), [reply.tokens[10], '', '']);
    const text = timeout.sip ?? '';
    t.equal(text.split('\r\n')[0], 'SIP/2.0 408 Request Timeout');
    t.deepEqual(headerNames(text), ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Content-Length']);
    t.match(header(text, 'To') ?? '', new RegExp(`^sip:127\\.0\\.0\\.1:${peer.port};tag=[A-Za-z0-9]{13}$`), 'raw request-URI + tag');
    t.equal(header(text, 'Via'), header(reply.sip ?? '', 'Via'));
    peer.close();
    app.close();
  });
});

test('uac: a closed UDP port → internal 503 in the SAME chunk as the Msg sent reply (capture 4)', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const closed = await freePort();
    const msgId = app.send(`sip||\r\n${sip([`OPTIONS sip:127.0.0.1:${closed} SIP/2.0`, 'Content-Length: 0'])}`);
    const reply = await app.reply(msgId);
    const failure = await app.sip();
    t.equal(failure.chunk, reply.chunk, 'one TCP chunk');
    t.ok(app.messages.indexOf(reply) < app.messages.indexOf(failure), 'reply first');
    t.deepEqual(reply.tokens.slice(6, 9), ['udp', '127.0.0.1', String(s.sipPort)]);
    t.deepEqual(failure.tokens.slice(1, 7), ['sip', 'network', '0', 'udp', '', '0']);
    t.equal(failure.tokens[8], reply.tokens[10]);
    t.equal((failure.sip ?? '').split('\r\n')[0], 'SIP/2.0 503 Service Unavailable');
    t.match(header(failure.sip ?? '', 'To') ?? '', new RegExp(`^sip:127\\.0\\.0\\.1:${closed};tag=[A-Za-z0-9]{13}$`));
    app.close();
  });
});

test('uac: TCP connection refused → OK naming the peer + internal 503 in the same chunk (capture 4)', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const closed = await freePort();
    const reply = await app.reply(app.send(`sip||\r\n${sip([`OPTIONS sip:127.0.0.1:${closed};transport=tcp SIP/2.0`, 'Content-Length: 0'])}`));
    const failure = await app.sip();
    t.equal(failure.chunk, reply.chunk, 'one TCP chunk');
    t.deepEqual(reply.tokens.slice(6, 9), ['tcp', '127.0.0.1', String(closed)], 'TCP meta names the remote peer');
    const echo = reply.sip ?? '';
    t.match(header(echo, 'Via') ?? '', new RegExp(`^SIP/2\\.0/TCP 127\\.0\\.0\\.1:${s.sipPort};branch=z9hG4bK[A-Za-z0-9]{13}$`), 'no rport over TCP');
    t.match(header(echo, 'From') ?? '', new RegExp(`^<sip:127\\.0\\.0\\.1:${s.sipPort};transport=tcp>;tag=`));
    t.equal(header(echo, 'To'), `<sip:127.0.0.1:${closed}>;transport=tcp`, 'URI parameter becomes a To parameter (quirk)');
    t.deepEqual(failure.tokens.slice(3, 7), ['0', 'tcp', '', '0']);
    t.match(header(failure.sip ?? '', 'To') ?? '', new RegExp(`^sip:127\\.0\\.0\\.1:${closed};transport=tcp;tag=[A-Za-z0-9]{13}$`));
    app.close();
  });
});

test('uac: over TCP to a live peer: request on a new connection, responses forwarded with the peer address', async (t) => {
  const received: string[] = [];
  const server = net.createServer((socket) => socket.on('data', (d) => {
    received.push(d.toString());
    socket.write(answer(d.toString(), '407 Proxy Authentication Required', ['Proxy-Authenticate: Digest realm="sipp.test", nonce="n1", qop="auth"']));
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const reply = await app.reply(app.send(`sip||\r\n${sip([`OPTIONS sip:127.0.0.1:${port};transport=tcp SIP/2.0`, 'Content-Length: 0'])}`));
    t.deepEqual(reply.tokens.slice(6, 9), ['tcp', '127.0.0.1', String(port)]);
    const response = await app.sip();
    t.deepEqual(response.tokens.slice(4, 7), ['tcp', '127.0.0.1', String(port)]);
    t.ok(response.sip?.startsWith('SIP/2.0 407'), '407 forwarded');
    t.equal(received[0], reply.sip);
    app.close();
  });
  await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 2000, 'peer server close');
});

test('uac: proxy token, app-supplied Call-ID/CSeq/From tag, @localhost and Authorization re-encoding (capture 1)', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const proxy = await UdpPeer.open();
    const auth = 'Digest username="alice",realm="sipp.test",nonce="4b1d2f3e5a6c7d8e",uri="sip:sipp.test",response="259faf41392860f32f34df11b728e9aa",algorithm=MD5,qop=auth,opaque="op42",nc=00000001,cnonce="c111e064"';
    const msgId = app.send(`sip|||sip:127.0.0.1:${proxy.port}\r\n${sip([
      'REGISTER sip:sipp.test SIP/2.0', 'From: <sip:alice@sipp.test>;tag=pteStry0K9ZXS', 'To: <sip:alice@sipp.test>',
      'Contact: <sip:alice@localhost>', 'Expires: 3600', 'CSeq: 123116705 REGISTER', 'Call-ID: e7ef720c-60fc-1240-faa2-c6c80946f624',
      `Authorization: ${auth}`, 'Content-Length: 0'])}`);
    const request = await proxy.next();
    const reply = await app.reply(msgId);
    const text = request.text;
    t.equal(text.split('\r\n')[0], 'REGISTER sip:sipp.test SIP/2.0', 'request-URI unchanged, sent to the proxy');
    t.deepEqual(headerNames(text), ['Via', 'Max-Forwards', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Expires', 'Authorization', 'Content-Length']);
    t.equal(header(text, 'From'), '<sip:alice@sipp.test>;tag=pteStry0K9ZXS', 'app tag kept');
    t.equal(header(text, 'Call-ID'), 'e7ef720c-60fc-1240-faa2-c6c80946f624');
    t.equal(header(text, 'CSeq'), '123116705 REGISTER');
    t.equal(header(text, 'Contact'), `<sip:alice@127.0.0.1:${s.sipPort}>`);
    t.equal(header(text, 'Authorization'), 'Digest username="alice", realm="sipp.test", nonce="4b1d2f3e5a6c7d8e", uri="sip:sipp.test", response="259faf41392860f32f34df11b728e9aa", algorithm=MD5, qop=auth, opaque="op42", nc=00000001, cnonce="c111e064"');
    t.equal(reply.sip, text);
    proxy.close();
    app.close();
  });
});

test('uac: requests the server refuses', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const nok = async (head: string, lines: string[], body = '') => (await app.reply(app.send(`${head}\r\n${sip(lines, body)}`))).tokens.slice(3).join('|');
    t.equal(await nok('sip||', ['FOO sip:127.0.0.1:5999 SIP/2.0', 'Content-Length: 0']), 'NOK|invalid request-uri: FOO sip:127.0.0.1:5999 SIP/2.0');
    t.equal(await nok('sip||', ['OPTIONS nonsense SIP/2.0', 'Content-Length: 0']), 'NOK|invalid request-uri: OPTIONS nonsense SIP/2.0');
    t.equal(await nok('sip||', ['MESSAGE sip:127.0.0.1:5999 SIP/2.0', 'Content-Length: 2'], 'hi'), 'NOK|missing content-type');
    t.equal(await nok('sip||', [`OPTIONS sip:127.0.0.1:${s.sipPort} SIP/2.0`, 'Content-Length: 0']), 'NOK|can not send request to myself');
    t.equal(await nok('sip||', [`OPTIONS sip:localhost:${s.sipPort} SIP/2.0`, 'Content-Length: 0']), 'NOK|can not send request to myself');
    t.equal(await nok('sip||', ['OPTIONS sip:127.0.0.1:5999;transport=ws SIP/2.0', 'Content-Length: 0']), 'NOK|requested protocol/transport not available');
    t.equal(await nok('sip||', ['OPTIONS sips:127.0.0.1:5999 SIP/2.0', 'Content-Length: 0']), 'NOK|requested protocol/transport not available');
    t.equal(await nok('sip||1-2@x;from-tag=abc', ['BYE sip:placeholder SIP/2.0', 'Content-Length: 0']), 'NOK|Server error: unable to find dialog for dialog id provided');
    t.equal(await nok('sip|00000000-0000-4000-8000-000000000000|', ['CANCEL sip:127.0.0.1:5999 SIP/2.0', 'Content-Length: 0']),
      'NOK|unable to cancel unknown transaction id: 00000000-0000-4000-8000-000000000000');
    app.close();
  });
});

test('uac: a host name that does not resolve → OK with unknown meta and no Via, then 503 DNS Error (capture 4)', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const reply = await app.reply(app.send(`sip||\r\n${sip(['OPTIONS sip:nobody@nonexistent.invalid SIP/2.0', 'Content-Length: 0'])}`));
    t.deepEqual(reply.tokens.slice(3, 9), ['OK', 'application', '0', 'unknown', '', '0']);
    const echo = reply.sip ?? '';
    t.deepEqual(headerNames(echo), ['Max-Forwards', 'From', 'To', 'Call-ID', 'CSeq', 'Content-Length'], 'not prepared yet: no Via');
    t.equal(header(echo, 'To'), 'sip:nobody@nonexistent.invalid', 'To as given, unbracketed');
    const failure = await app.sip(() => true, 15000);
    t.deepEqual(failure.tokens.slice(3, 7), ['0', 'unknown', '', '0']);
    t.equal((failure.sip ?? '').split('\r\n')[0], 'SIP/2.0 503 DNS Error');
    t.match(header(failure.sip ?? '', 'Via') ?? '', /^SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;rport;branch=z9hG4bK/);
    t.match(header(failure.sip ?? '', 'To') ?? '', /^sip:nobody@nonexistent\.invalid;tag=[A-Za-z0-9]{13}$/);
    app.close();
  });
});

test('uac: CANCEL of an INVITE: same branch, the 200 to the CANCEL is not reported, 487 is, and it is ACKed', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const peer = await UdpPeer.open();
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n';
    const inviteReply = await app.reply(app.send(`sip||\r\n${sip([`INVITE sip:carol@127.0.0.1:${peer.port} SIP/2.0`, `Content-Length: ${sdp.length}`], sdp)}`));
    const invite = (await peer.next()).text;
    t.equal(header(invite, 'Content-Type'), 'application/sdp', 'SDP detected');
    t.equal(header(invite, 'Contact'), `<sip:127.0.0.1:${s.sipPort}>`, 'Contact added to INVITE');
    const txn = inviteReply.tokens[10];
    peer.send(answer(invite, '180 Ringing'), s.sipPort);
    const ringing = await app.sip();
    t.match(ringing.tokens[9], new RegExp(`^${header(invite, 'Call-ID')};from-tag=[A-Za-z0-9]{13}$`), 'INVITE responses carry the dialog id');
    const cancelReply = await app.reply(app.send(`sip|${txn}|\r\n${sip([`CANCEL sip:carol@127.0.0.1:${peer.port} SIP/2.0`, 'Content-Length: 0'])}`));
    t.notEqual(cancelReply.tokens[10], txn, 'the CANCEL gets its own transaction id');
    const cancel = await peer.next((d) => d.text.startsWith('CANCEL'));
    t.equal(header(cancel.text, 'Via'), header(invite, 'Via'), 'same Via and branch as the INVITE');
    t.equal(header(cancel.text, 'CSeq'), `${(header(invite, 'CSeq') ?? '').split(' ')[0]} CANCEL`);
    t.equal(cancelReply.sip, cancel.text);
    peer.send(answer(cancel.text, '200 OK'), s.sipPort);
    peer.send(answer(invite, '487 Request Terminated'), s.sipPort);
    const terminated = await app.sip((m) => m.sip?.startsWith('SIP/2.0 487') ?? false);
    t.equal(terminated.tokens[8], txn);
    const ack = await peer.next((d) => d.text.startsWith('ACK'));
    t.equal(header(ack.text, 'Via'), header(invite, 'Via'), 'ACK for a non-2xx reuses the INVITE branch');
    t.match(header(ack.text, 'To') ?? '', /;tag=4163SIPpTag011$/);
    t.equal(app.messages.filter((m) => m.tokens[1] === 'sip' && m.sip?.includes('CANCEL')).length, 0, '200 to the CANCEL never reported');
    const appAck = await app.reply(app.send(`sip||${terminated.tokens[9]}\r\n${sip([`ACK sip:carol@127.0.0.1:${peer.port} SIP/2.0`, 'Content-Length: 0'])}`));
    t.deepEqual(appAck.tokens.slice(3), ['NOK', 'Server error: ACK for non-success final response is automatically generated by server']);
    peer.close();
    app.close();
  });
});

test('uac: over WebSocket to a peer (subprotocol sip)', async (t) => {
  await withStandIn({ wsPort: 0 }, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'sip' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const port = (wss.address() as net.AddressInfo).port;
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(answer(data.toString(), '200 OK'))));
    const reply = await app.reply(app.send(`sip||\r\n${sip([`OPTIONS sip:127.0.0.1:${port};transport=ws SIP/2.0`, 'Content-Length: 0'])}`));
    t.deepEqual(reply.tokens.slice(6, 9), ['tcp', '127.0.0.1', String(port)], 'ws reported as tcp, remote peer');
    t.match(header(reply.sip ?? '', 'Via') ?? '', new RegExp(`^SIP/2\\.0/WS 127\\.0\\.0\\.1:${s.wsPort};branch=`));
    const response = await app.sip();
    t.ok(response.sip?.startsWith('SIP/2.0 200 OK'));
    app.close();
    for (const client of wss.clients) client.terminate();
    await withTimeout(new Promise<void>((resolve) => wss.close(() => resolve())), 2000, 'ws server close');
  });
});

test('uac: a TCP connection from a peer is reused for requests to that peer', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const peer = await TcpPeer.connect(s.sipPort);
    await delay(50);
    await app.reply(app.send(`sip||\r\n${sip([`OPTIONS sip:127.0.0.1:${peer.localPort};transport=tcp SIP/2.0`, 'Content-Length: 0'])}`));
    const text = await peer.until((x) => x.includes('\r\n\r\n'));
    t.ok(text.startsWith(`OPTIONS sip:127.0.0.1:${peer.localPort};transport=tcp SIP/2.0`), 'request arrived on the existing connection');
    peer.close();
    app.close();
  });
});

test('uac: an OPTIONS to a user registered over WebSocket goes out on the cached connection', async (t) => {
  await withStandIn({ wsPort: 0 }, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort, ['register']);
    const ws = new WebSocket(`ws://127.0.0.1:${s.wsPort}`, 'sip');
    await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 2000, 'ws open');
    const received: string[] = [];
    ws.on('message', (data) => received.push(data.toString()));
    ws.send(sip(['REGISTER sip:127.0.0.1 SIP/2.0', 'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws2', 'From: <sip:alice@x>;tag=w2',
      'To: <sip:alice@x>', 'Call-ID: ws-2', 'CSeq: 1 REGISTER', 'Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>', 'Expires: 60',
      'Content-Length: 0']));
    const register = await app.sip();
    const ok = sip(['SIP/2.0 200 OK', 'Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>;expires=60', 'Content-Length: 0']);
    await app.reply(app.send(`sip|${register.tokens[8]}|\r\n${ok}`));
    const reply = await app.reply(app.send(`sip||\r\n${sip(['OPTIONS sip:alice@df7jal23ls0d.invalid;transport=ws SIP/2.0', 'Content-Length: 0'])}`));
    t.equal(reply.tokens[3], 'OK', 'no DNS lookup of the .invalid host');
    t.deepEqual(reply.tokens.slice(6, 9), ['tcp', '127.0.0.1', register.tokens[6]], 'sent to the registered client connection');
    await withTimeout((async () => { while (received.length < 2) await delay(10); })(), 2000, 'the OPTIONS on the websocket');
    t.ok(received[1].startsWith('OPTIONS sip:alice@df7jal23ls0d.invalid;transport=ws SIP/2.0'));
    t.match(header(received[1], 'Via') ?? '', new RegExp(`^SIP/2\\.0/WS 127\\.0\\.0\\.1:${s.wsPort};branch=`));
    ws.close();
    app.close();
  });
});
