import test from 'tape';
import fc from 'fast-check';
import {
  SecretCipherError,
  cipherSecretFromEnv,
  decryptSecret,
  deriveSecretKey,
  encryptSecret,
  isLegacyCrypto,
} from '../../lib/crypto/secret-cipher';

const SECRET = 'test-secret';
const FIXED_IV = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof SecretCipherError ? err.code : `unexpected ${String(err)}`;
  }
}

test('secret-cipher: key derivation of jambonz-schema §12', (t) => {
  const key = deriveSecretKey(SECRET);
  t.equal(key.toString('ascii'), 'nK8Gu0Q2zb+iCvkSGmJrwQk8T1SzHA+p');
  t.equal(key.toString('hex'), '6e4b3847753051327a622b6943766b53476d4a7277516b385431537a48412b70');
  t.equal(errorCode(() => deriveSecretKey('')), 'NO_SECRET');
  t.end();
});

test('secret-cipher: the worked vectors decrypt', (t) => {
  const vectors: Array<[string, string, boolean]> = [
    ['{"iv":"000102030405060708090a0b0c0d0e0f","content":"40c5cf7710b2753edf9cd054ab776034"}', 'p4ssw0rd', false],
    ['{"iv":"a1b2c3d4e5f60718293a4b5c6d7e8f90","content":"e2ef64eb68a9eb14d39bfc381674d7c7"}', 'p4ssw0rd', false],
    ['{"iv":"000102030405060708090a0b0c0d0e0f","content":"d2099914ac1919162272bb60d01b4caf6435f5c0e2c186d38fdd3625ff63ecb3"}', '0123456789abcdef', false],
    ['{"iv":"000102030405060708090a0b0c0d0e0f","content":"0b096cb9569a556f"}', 'p4ssw0rd', true],
    // readers parse JSON, so key order, whitespace and hex case do not matter
    ['{ "content": "40C5CF7710B2753EDF9CD054AB776034", "iv": "000102030405060708090A0B0C0D0E0F" }', 'p4ssw0rd', false],
  ];
  for (const [stored, plain, legacy] of vectors) t.equal(decryptSecret(stored, SECRET, { legacy }), plain, stored);
  t.end();
});

test('secret-cipher: encryption reproduces the vectors with a fixed IV', (t) => {
  t.equal(encryptSecret('p4ssw0rd', SECRET, { iv: FIXED_IV }),
    '{"iv":"000102030405060708090a0b0c0d0e0f","content":"40c5cf7710b2753edf9cd054ab776034"}');
  t.equal(encryptSecret('p4ssw0rd', SECRET, { iv: FIXED_IV, legacy: true }),
    '{"iv":"000102030405060708090a0b0c0d0e0f","content":"0b096cb9569a556f"}');
  const a = encryptSecret('p4ssw0rd', SECRET);
  const b = encryptSecret('p4ssw0rd', SECRET);
  t.notEqual(a, b, 'a fresh IV per value by default');
  t.equal(decryptSecret(a, SECRET), 'p4ssw0rd');
  t.equal(errorCode(() => encryptSecret('x', SECRET, { iv: Buffer.alloc(8) })), 'BAD_IV');
  t.end();
});

test('secret-cipher: bad input is a typed error, never a crash', (t) => {
  const good = '{"iv":"000102030405060708090a0b0c0d0e0f","content":"40c5cf7710b2753edf9cd054ab776034"}';
  const cases: Array<[string, string, boolean, string]> = [
    ['not json', SECRET, false, 'MALFORMED_VALUE'],
    ['', SECRET, false, 'MALFORMED_VALUE'],
    ['null', SECRET, false, 'MALFORMED_VALUE'],
    ['[1,2]', SECRET, false, 'MALFORMED_VALUE'],
    ['"p4ssw0rd"', SECRET, false, 'MALFORMED_VALUE'],
    ['{}', SECRET, false, 'BAD_IV'],
    ['{"iv":"0001","content":"40c5cf7710b2753edf9cd054ab776034"}', SECRET, false, 'BAD_IV'],
    ['{"iv":"zz0102030405060708090a0b0c0d0e0f","content":"40c5cf7710b2753edf9cd054ab776034"}', SECRET, false, 'BAD_IV'],
    ['{"iv":12,"content":"40c5"}', SECRET, false, 'BAD_IV'],
    ['{"iv":"000102030405060708090a0b0c0d0e0f"}', SECRET, false, 'BAD_CONTENT'],
    ['{"iv":"000102030405060708090a0b0c0d0e0f","content":"40c5cf7710b2753edf9cd054ab77603"}', SECRET, false, 'BAD_CONTENT'],
    ['{"iv":"000102030405060708090a0b0c0d0e0f","content":"40c5"}', SECRET, false, 'BAD_CONTENT'],
    ['{"iv":"000102030405060708090a0b0c0d0e0f","content":""}', SECRET, false, 'BAD_CONTENT'],
    ['{"iv":"000102030405060708090a0b0c0d0e0f","content":"xyz!"}', SECRET, true, 'BAD_CONTENT'],
    [good, 'another-secret', false, 'DECRYPT_FAILED'],
    [good, '', false, 'NO_SECRET'],
    ['{"iv":"000102030405060708090a0b0c0d0e0f","content":"ffffffffffffffff"}', SECRET, true, 'DECRYPT_FAILED'],
  ];
  for (const [stored, secret, legacy, code] of cases) {
    t.equal(errorCode(() => decryptSecret(stored, secret, { legacy })), code, `${stored} with ${secret || '(no secret)'}`);
  }
  t.end();
});

test('secret-cipher: environment helpers', (t) => {
  t.equal(cipherSecretFromEnv({ ENCRYPTION_SECRET: 'a', JWT_SECRET: 'b' }), 'a');
  t.equal(cipherSecretFromEnv({ ENCRYPTION_SECRET: '', JWT_SECRET: 'b' }), 'b');
  t.equal(cipherSecretFromEnv({}), undefined);
  t.equal(isLegacyCrypto({ LEGACY_CRYPTO: '1' }), true);
  t.equal(isLegacyCrypto({ LEGACY_CRYPTO: '' }), false);
  t.equal(isLegacyCrypto({}), false);
  t.end();
});

test('secret-cipher: encrypt → decrypt round-trips in both modes (property)', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), fc.string({ minLength: 1, maxLength: 32 }), fc.boolean(),
      (plain, secret, legacy) => decryptSecret(encryptSecret(plain, secret, { legacy }), secret, { legacy }) === plain),
    { numRuns: 300 },
  );
  t.pass('round trip holds');
  t.end();
});

test('secret-cipher: decrypt of arbitrary text only ever throws SecretCipherError (property)', (t) => {
  const storedish = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.record({ iv: fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{32}$/)), content: fc.stringMatching(/^(?:[0-9a-f]{2}){0,40}$/) })
      .map((value) => JSON.stringify(value)),
  );
  fc.assert(
    fc.property(storedish, fc.boolean(), (stored, legacy) => {
      const code = errorCode(() => decryptSecret(stored, SECRET, { legacy }));
      return code === undefined || !code.startsWith('unexpected');
    }),
    { numRuns: 2000 },
  );
  t.pass('only typed errors');
  t.end();
});
