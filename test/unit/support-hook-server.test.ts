/** The registration-hook fixture, driven over real HTTP on localhost. */
import crypto from 'node:crypto';
import http from 'node:http';
import test from 'tape';
import axios from 'axios';
import { jambonzSignature, parseJambonzSignature, startHookServer, verifyJambonzSignature } from '../support/hook-server';

test('support-hook-server: records a signed POST with its JSON body and basic auth', async (t) => {
  const hook = await startHookServer();
  try {
    const body = JSON.stringify({ username: 'john', realm: 'example.com', expires: 3600 });
    const res = await axios.post(hook.url(), body, {
      headers: {
        'Content-Type': 'application/json',
        'Jambonz-Signature': jambonzSignature('wh_secret_abc', body),
        Authorization: `Basic ${Buffer.from('foo:bar').toString('base64')}`,
      },
    });
    t.equal(res.status, 200);
    t.deepEqual(res.data, { status: 'ok' }, 'default reply');
    const [req] = hook.requests;
    t.equal(req.method, 'POST');
    t.equal(req.path, '/auth');
    t.equal(req.rawBody, body);
    t.deepEqual(req.json, { username: 'john', realm: 'example.com', expires: 3600 });
    t.equal(req.headers.authorization, 'Basic Zm9vOmJhcg==');
    t.ok(verifyJambonzSignature(req.headers['jambonz-signature'], req.rawBody, 'wh_secret_abc', 60), 'signature verifies');
    t.notOk(verifyJambonzSignature(req.headers['jambonz-signature'], req.rawBody, 'other-secret'), 'wrong secret');
    t.notOk(verifyJambonzSignature(req.headers['jambonz-signature'], `${req.rawBody} `, 'wh_secret_abc'), 'altered body');
  } finally {
    await hook.stop();
  }
});

test('support-hook-server: records a GET with its query string', async (t) => {
  const hook = await startHookServer();
  try {
    hook.respondWith({ status: 200, body: { status: 'fail', msg: 'nope' } });
    const res = await axios.get(hook.url('/reg'), { params: { username: 'john', tag: ['a', 'b'] } });
    t.deepEqual(res.data, { status: 'fail', msg: 'nope' });
    const [req] = hook.requests;
    t.equal(req.method, 'GET');
    t.equal(req.path, '/reg');
    t.deepEqual(req.query, { username: 'john', 'tag[]': ['a', 'b'] });
    t.equal(req.rawBody, '');
    t.equal(req.json, undefined);
  } finally {
    await hook.stop();
  }
});

test('support-hook-server: handler replies, raw bodies, statuses, delays, drops and reset', async (t) => {
  const hook = await startHookServer();
  const client = axios.create({ validateStatus: () => true });
  try {
    hook.respondWith((req) => ({ status: 200, body: { status: 'ok', expires: req.query.e === '1' ? 60 : 30 } }));
    t.deepEqual((await client.get(hook.url('/auth?e=1'))).data, { status: 'ok', expires: 60 }, 'handler sees the request');

    hook.respondWith({ status: 200, body: 'not json', headers: { 'x-extra': 'y' } });
    const raw = await client.get(hook.url(), { responseType: 'text' });
    t.equal(raw.data, 'not json');
    t.equal(raw.headers['x-extra'], 'y');
    t.equal(raw.headers['content-type'], 'text/plain');

    hook.respondWith({ status: 503 });
    t.equal((await client.post(hook.url(), {})).status, 503);

    hook.respondWith({ delayMs: 300 });
    const started = Date.now();
    await client.get(hook.url());
    t.ok(Date.now() - started >= 290, 'reply delayed');

    hook.respondWith({ drop: true });
    await client.get(hook.url()).then(
      () => t.fail('a dropped request should fail'),
      (err: Error) => t.match(err.message, /socket hang up|ECONNRESET/, 'connection dropped'),
    );

    t.equal(hook.requests.length, 5);
    hook.reset();
    t.equal(hook.requests.length, 0, 'reset forgets requests');
    t.deepEqual((await client.get(hook.url())).data, { status: 'ok' }, 'reset restores the default reply');
    t.equal((await hook.waitForRequests(1)).length, 1);
  } finally {
    await hook.stop();
  }
});

test('support-hook-server: keeps connections alive and stop() closes them', async (t) => {
  const hook = await startHookServer();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const reused: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      reused.push(await new Promise<boolean>((resolve, reject) => {
        const req = http.get(hook.url(), { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(req.reusedSocket));
        });
        req.on('error', reject);
      }));
    }
    t.deepEqual(reused, [false, true, true], 'one socket for three requests');
  } finally {
    const started = Date.now();
    await hook.stop();
    t.ok(Date.now() - started < 1000, 'stop() does not wait for idle keep-alive sockets');
    agent.destroy();
  }
});

test('support-hook-server: signature helpers', (t) => {
  const header = jambonzSignature('s3cret', '{"a":1}', 1700000000);
  const independent = crypto.createHmac('sha256', 's3cret').update('1700000000.{"a":1}').digest('hex');
  t.equal(header, `t=1700000000,v1=${independent}`, 'the documented header format');
  t.deepEqual(parseJambonzSignature(header), { t: '1700000000', v1: [independent] });
  t.ok(verifyJambonzSignature(header, '{"a":1}', 's3cret'));
  t.notOk(verifyJambonzSignature(header, '{"a":1}', 's3cret', 60), 'too old with maxAgeSec');
  t.ok(verifyJambonzSignature(jambonzSignature('k', 'null'), 'null', 'k', 5), 'GET hooks sign "null"');
  t.notOk(verifyJambonzSignature(undefined, '', 'k'), 'missing header');
  t.notOk(verifyJambonzSignature('v1=abc', '', 'k'), 'no timestamp');
  t.notOk(verifyJambonzSignature('t=1,v1=zz', '', 'k'), 'garbage digest');
  t.end();
});
