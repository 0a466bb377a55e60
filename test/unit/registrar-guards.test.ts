import test from 'tape';
import { NonceIssuer, nonceSecret } from '../../lib/sip/nonce';
import { RateLimiter } from '../../lib/registrar/rate-limiter';
import { HookGuard } from '../../lib/hook/hook-guard';

test('nonce: issued nonces check valid for their realm only, go stale after the lifetime, resist forgery', (t) => {
  let now = 1_800_000_000_000;
  const issuer = new NonceIssuer('k', 300, () => now);
  const nonce = issuer.issue('example.com');
  t.match(nonce, /^[0-9a-f]{56}$/);
  t.equal(issuer.check(nonce, 'example.com'), 'valid');
  t.equal(issuer.check(nonce, 'EXAMPLE.com'), 'valid', 'realms compare case-insensitively');
  t.equal(issuer.check(nonce, 'other.com'), 'invalid', 'bound to the realm');
  t.equal(new NonceIssuer('other-key', 300, () => now).check(nonce, 'example.com'), 'invalid', 'another key cannot verify it');
  const tampered = `${(parseInt(nonce.slice(0, 8), 16) + 1).toString(16).padStart(8, '0')}${nonce.slice(8)}`;
  t.equal(issuer.check(tampered, 'example.com'), 'invalid', 'changing the timestamp breaks the MAC');
  t.equal(issuer.check('zz', 'example.com'), 'invalid');
  t.equal(issuer.check('', 'example.com'), 'invalid');
  now += 300_000;
  t.equal(issuer.check(nonce, 'example.com'), 'valid', 'valid through the lifetime');
  now += 1000;
  t.equal(issuer.check(nonce, 'example.com'), 'stale', 'stale after it');
  t.notEqual(issuer.issue('example.com'), issuer.issue('example.com'), 'random part differs');
  t.equal(issuer.opaqueFor(nonce), issuer.opaqueFor(nonce));
  t.notEqual(issuer.opaqueFor(nonce), issuer.opaqueFor(issuer.issue('example.com')));
  t.end();
});

test('nonce: the key comes from REGISTRAR_NONCE_SECRET, else the encryption secret, else per process', (t) => {
  t.deepEqual(nonceSecret('explicit', 'enc'), { secret: 'explicit', shared: true });
  const derived = nonceSecret(undefined, 'enc');
  t.ok(derived.shared);
  t.notEqual(derived.secret, 'enc', 'never the encryption secret itself');
  t.equal(derived.secret, nonceSecret(undefined, 'enc').secret, 'the same on every sidecar');
  const random = nonceSecret(undefined, undefined);
  t.notOk(random.shared);
  t.notEqual(random.secret, nonceSecret(undefined, undefined).secret);
  t.end();
});

test('rate limiter: a burst, then the refill rate, per source', (t) => {
  let now = 0;
  const limiter = new RateLimiter(2, 3, 10, () => now);
  t.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0], 'burst of 3');
  t.equal(limiter.take('a'), 1, 'then wait');
  t.equal(limiter.take('b'), 0, 'other sources have their own bucket');
  now += 500;
  t.equal(limiter.take('a'), 0, 'one token back after 0.5 s at 2/s');
  t.equal(new RateLimiter(0, 1).take('x'), 0, 'rate 0 disables');
  t.end();
});

test('hook guard: in-flight bound, breaker open → half-open probe → closed, alert throttle', (t) => {
  let now = 0;
  const guard = new HookGuard({ maxInFlight: 2, breakerFailures: 2, breakerCooldownMs: 1000, alertPeriodMs: 500, now: () => now });
  const url = 'http://hook';
  t.equal(guard.admit(url), 'allowed');
  t.equal(guard.admit(url), 'allowed');
  t.equal(guard.admit(url), 'busy', 'third concurrent call refused');
  guard.release(url, true);
  guard.release(url, true);
  t.ok(guard.isOpen(url), 'open after 2 failures');
  t.equal(guard.admit(url), 'open');
  now = 1000;
  t.equal(guard.admit(url), 'allowed', 'one probe after the cool-down');
  t.equal(guard.admit(url), 'open', 'only one probe at a time');
  guard.release(url, false);
  t.notOk(guard.isOpen(url), 'closed after a successful probe');
  t.equal(guard.admit('http://other'), 'allowed', 'per URL');
  t.ok(guard.shouldAlert('x'));
  t.notOk(guard.shouldAlert('x'));
  now = 1500;
  t.ok(guard.shouldAlert('x'), 'again after the period');
  t.end();
});

test('expiry policy: 423 below the minimum, clamp above the maximum, jitter only on long lifetimes', async (t) => {
  const { decideExpires } = await import('../../lib/registrar/expiry-policy');
  const policy = { minExpires: 60, maxExpires: 3600, jitterPercent: 10, jitterFloor: 300 };
  t.deepEqual(decideExpires(0, policy), { kind: 'granted', expires: 0 }, 'unregister untouched');
  t.deepEqual(decideExpires(59, policy), { kind: 'too-brief', minExpires: 60 });
  t.deepEqual(decideExpires(120, policy, () => 0.99), { kind: 'granted', expires: 120 }, 'short: no jitter');
  t.deepEqual(decideExpires(7200, policy, () => 0), { kind: 'granted', expires: 3600 }, 'clamped');
  t.deepEqual(decideExpires(3600, policy, () => 0.5), { kind: 'granted', expires: 3420 }, '5% off with random 0.5');
  t.deepEqual(decideExpires(3600, policy, () => 0.999), { kind: 'granted', expires: 3241 }, 'never more than 10% off');
  t.deepEqual(decideExpires(600, { ...policy, jitterPercent: 0 }, () => 0.5), { kind: 'granted', expires: 600 }, 'jitter off');
});

test('nonce: random parts differ across many issues, past the first random block', (t) => {
  const issuer = new NonceIssuer('k', 300, () => 1_700_000_000_000);
  const randoms = new Set<string>();
  // 4096-byte blocks of 8 bytes per nonce: 1200 nonces span three blocks.
  for (let i = 0; i < 1200; i++) {
    const nonce = issuer.issue('example.com');
    t.equal(issuer.check(nonce, 'example.com'), 'valid', `nonce ${i} is valid`);
    randoms.add(nonce.slice(8, 24));
  }
  t.equal(randoms.size, 1200, 'no random part repeats');
  t.end();
});
