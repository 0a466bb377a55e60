import test from 'tape';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import {
  GET_HOOK_SIGNED_PAYLOAD,
  computeHookSignature,
  parseHookSignature,
  signHookBody,
  verifyHookSignature,
} from '../../lib/hook/signature';

const SECRET = 'wh_secret_abc123';
const BODY = JSON.stringify({ source_address: '203.0.113.7', source_port: 5060, method: 'REGISTER', expires: 3600, scheme: 'digest', username: 'alice' });

test('hook-signature: t=<seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>', (t) => {
  const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
  t.equal(signHookBody(BODY, SECRET, 1700000000), `t=1700000000,v1=${expected}`);
  t.equal(signHookBody(BODY, SECRET, 1700000000.999), `t=1700000000,v1=${expected}`, 'fractions are floored');
  t.equal(computeHookSignature(BODY, SECRET, 1700000000), expected);
  t.equal(
    computeHookSignature('{"a":1}', 'secret', 1),
    createHmac('sha256', 'secret').update('1.{"a":1}').digest('hex'),
  );
  t.throws(() => signHookBody(BODY, SECRET, Number.NaN), RangeError);
  t.throws(() => signHookBody(BODY, SECRET, -1), RangeError);
  t.end();
});

test('hook-signature: a GET hook signs the JSON text "null", quotes included', (t) => {
  t.equal(GET_HOOK_SIGNED_PAYLOAD, JSON.stringify('null'));
  const header = signHookBody(GET_HOOK_SIGNED_PAYLOAD, SECRET, 1700000000);
  t.equal(header, `t=1700000000,v1=${createHmac('sha256', SECRET).update('1700000000."null"').digest('hex')}`);
  t.end();
});

test('hook-signature: non-ASCII bodies are signed as UTF-8', (t) => {
  const body = JSON.stringify({ username: 'jöhn', realm: 'ユーザー.example' });
  t.equal(computeHookSignature(body, SECRET, 5), createHmac('sha256', SECRET).update(Buffer.from(`5.${body}`, 'utf8')).digest('hex'));
  t.end();
});

test('hook-signature: verification', (t) => {
  const header = signHookBody(BODY, SECRET, 1700000000);
  t.ok(verifyHookSignature(header, BODY, SECRET));
  t.ok(verifyHookSignature(header, BODY, SECRET, { nowSeconds: 1700000100 }));
  t.notOk(verifyHookSignature(header, BODY, SECRET, { nowSeconds: 1700000301 }), 'too old');
  t.ok(verifyHookSignature(header, BODY, SECRET, { nowSeconds: 1700000301, toleranceSeconds: 600 }));
  t.notOk(verifyHookSignature(header, `${BODY} `, SECRET), 'body changed');
  t.notOk(verifyHookSignature(header, BODY, 'other'), 'other secret');
  t.notOk(verifyHookSignature(header.replace('t=1700000000', 't=1700000001'), BODY, SECRET), 'timestamp changed');
  t.ok(verifyHookSignature(`${header},v1=${'0'.repeat(64)}`, BODY, SECRET), 'any matching v1 is enough');
  t.ok(verifyHookSignature(`v0=abc, ${header.replace(',', ', ')}`, BODY, SECRET), 'unknown schemes and blanks are ignored');
  for (const bad of ['', 't=1', 'v1=ab', 't=x,v1=ab', `t=1,v1=${'g'.repeat(64)}`, `t=1,t=1,v1=${'0'.repeat(64)}`, 'garbage', 't=1,v1']) {
    t.equal(parseHookSignature(bad), undefined, `unparseable: ${JSON.stringify(bad)}`);
    t.notOk(verifyHookSignature(bad, BODY, SECRET));
  }
  t.end();
});

test('hook-signature: sign → verify round-trips and verify never throws (property)', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 40 }),
      (body, secret, now) => verifyHookSignature(signHookBody(body, secret, now), body, secret, { nowSeconds: now })),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (header) => {
      verifyHookSignature(header, BODY, SECRET);
    }),
    { numRuns: 2000 },
  );
  t.pass('round trip holds; no exceptions');
  t.end();
});
