/**
 * The admin protocol, replayed with a raw client against the captured exchanges (drachtio-wire-captures.md).
 */
import net from 'node:net';
import test from 'tape';
import { RawAdminClient, SECRET, delay, withStandIn, withTimeout } from './helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('admin: authenticate with tags → OK|hostports|version|localHostports (capture 1)', async (t) => {
  await withStandIn({ sipPort: 0 }, async (s) => {
    const app = await RawAdminClient.connect(s.adminPort);
    const id = app.send(`authenticate|${SECRET}|capture-app`, '543dce80-9e1b-4190-83fd-0535dd33c2a4');
    const reply = await app.reply(id);
    t.match(reply.tokens[0], UUID, 'fresh uuid as msg id');
    const hostports = `tcp/127.0.0.1:${s.sipPort},udp/127.0.0.1:${s.sipPort}`;
    t.deepEqual(reply.tokens.slice(1), ['response', id, 'OK', hostports, 'v0.9.10-1-g9c2dd4cb6a', hostports]);
    t.equal(s.hostports, hostports);
    t.equal(s.connectedApps(), 1);
    app.close();
  });
});

test('admin: authenticate without tags (trailing |), and the external IP only in hostports', async (t) => {
  await withStandIn({ externalIp: '203.0.113.9', wsPort: 0 }, async (s) => {
    const app = await RawAdminClient.connect(s.adminPort);
    const reply = await app.reply(app.send(`authenticate|${SECRET}|`));
    const port = s.sipPort;
    t.deepEqual(reply.tokens.slice(3), [
      'OK',
      `tcp/203.0.113.9:${port},udp/203.0.113.9:${port},ws/203.0.113.9:${s.wsPort}`,
      'v0.9.10-1-g9c2dd4cb6a',
      `tcp/127.0.0.1:${port},udp/127.0.0.1:${port},ws/127.0.0.1:${s.wsPort}`,
    ]);
    app.close();
  });
});

test('admin: a wrong secret gets NO|incorrect secret and the connection is closed (capture 3)', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.connect(s.adminPort);
    const id = app.send('authenticate|wrong', '11111111-2222-3333-4444-555555555555');
    const reply = await app.reply(id);
    t.deepEqual(reply.tokens.slice(1), ['response', id, 'NO', 'incorrect secret']);
    t.equal(Buffer.byteLength(reply.raw), 102, 'same length as the captured 102# payload');
    await app.waitClosed();
    t.pass('server closed the connection');
    t.equal(s.connectedApps(), 0);
  });
});

test('admin: an authenticate without a secret is answered NO', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.connect(s.adminPort);
    const reply = await app.reply(app.send('authenticate'));
    t.equal(reply.tokens[3], 'NO');
    await app.waitClosed();
  });
});

test('admin: route replies OK (coalesced commands in one chunk), ping → OK|pong, unknown command → NOK', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    app.socket.write('50#98deb776-d6b7-4529-bb5d-1bf534c75fec|route|options51#78b3d8ff-cfea-4dc5-a3fe-5ac131bbc499|route|register');
    const r1 = await app.reply('98deb776-d6b7-4529-bb5d-1bf534c75fec');
    const r2 = await app.reply('78b3d8ff-cfea-4dc5-a3fe-5ac131bbc499');
    t.deepEqual([r1.tokens.slice(3), r2.tokens.slice(3)], [['OK'], ['OK']]);
    t.equal(Buffer.byteLength(r1.raw), 85, 'route reply is 85 bytes like the captured ones');
    const pong = await app.reply(app.send('ping', '2fb88924-9162-47c9-8306-33803c4d6eb5'));
    t.deepEqual(pong.tokens.slice(1), ['response', '2fb88924-9162-47c9-8306-33803c4d6eb5', 'OK', 'pong']);
    t.equal(Buffer.byteLength(pong.raw), 90, 'pong is 90 bytes like the capture');
    const nok = await app.reply(app.send('frobnicate|x'));
    t.equal(nok.tokens[3], 'NOK');
    app.close();
  });
});

test('admin: a 6-digit length prefix drops the connection', async (t) => {
  await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    app.socket.write('100000#x');
    await app.waitClosed();
    t.pass('connection dropped');
  });
});

test('admin: stop() closes app connections and listeners', async (t) => {
  const closed = await withStandIn({}, async (s) => {
    const app = await RawAdminClient.authenticated(s.adminPort);
    const port = s.adminPort;
    return { app, port };
  });
  await closed.app.waitClosed();
  t.pass('app connection closed by stop()');
  const refused = await withTimeout(new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: closed.port });
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(true));
  }), 2000, 'connect attempt');
  t.ok(refused, 'admin port no longer listening');
});

test('admin: app-connected / app-disconnected events', async (t) => {
  await withStandIn({}, async (s) => {
    const events: string[] = [];
    s.on('app-connected', () => events.push('connected'));
    s.on('app-disconnected', () => events.push('disconnected'));
    const app = await RawAdminClient.authenticated(s.adminPort);
    app.close();
    await withTimeout((async () => { while (events.length < 2) await delay(10); })(), 2000, 'events');
    t.deepEqual(events, ['connected', 'disconnected']);
    t.equal(s.connectedApps(), 0);
  });
});
