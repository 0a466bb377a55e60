import type { NonceIssuer } from '../sip/nonce';
import { buildChallenge, DigestCredentials } from '../sip/digest';
import type { AuthGuardStore } from '../store/auth-guard-store';

export type GateResult =
  | { pass: true }
  /** Answer with a fresh challenge; `stale` when the credentials were good but the nonce too old. */
  | { pass: false; stale: boolean; why: string };

/**
 * Everything about the digest exchange that is ours to judge before anyone checks the password: the
 * nonce was issued by this cluster for this realm and is fresh, the opaque came back unchanged, and
 * the nonce-count moves forward (a replayed REGISTER is refused even if its response is right).
 */
export class DigestGate {
  constructor(
    private readonly nonces: NonceIssuer,
    private readonly guard: AuthGuardStore,
    private readonly offerSha256: boolean,
  ) {}

  /** WWW-Authenticate value(s) for a 401: SHA-256 first when offered (RFC 8760), then MD5. */
  challenge(realm: string, stale = false): string {
    const nonce = this.nonces.issue(realm);
    const opaque = this.nonces.opaqueFor(nonce);
    const md5 = buildChallenge({ realm, nonce, algorithm: 'MD5', qop: 'auth', opaque, stale });
    if (!this.offerSha256) return md5;
    // drachtio-srf cannot send one header name twice, so both challenges share one header (RFC 7235 allows a list).
    return `${buildChallenge({ realm, nonce, algorithm: 'SHA-256', qop: 'auth', opaque, stale })}, ${md5}`;
  }

  async check(credentials: DigestCredentials, realm: string): Promise<GateResult> {
    const freshness = this.nonces.check(credentials.nonce, realm);
    if (freshness === 'invalid') return { pass: false, stale: false, why: 'unknown nonce' };
    if (credentials.opaque !== this.nonces.opaqueFor(credentials.nonce)) return { pass: false, stale: false, why: 'opaque mismatch' };
    if (freshness === 'stale') return { pass: false, stale: true, why: 'stale nonce' };
    const nc = credentials.qop ? parseInt(credentials.nc ?? '0', 16) : 0;
    const ttlMs = this.nonces.lifetimeSeconds * 2000;
    if (!(await this.guard.acceptNonceCount(credentials.nonce, nc, ttlMs))) {
      return { pass: false, stale: false, why: 'nonce count replayed' };
    }
    return { pass: true };
  }
}
