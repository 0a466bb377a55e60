import crypto from 'node:crypto';
import { RandomPool } from './random-pool';

/**
 * Stateless digest nonces: `<timestamp><random><mac>` in hex, the MAC an HMAC-SHA256 over the first two
 * and the realm under a secret shared by every sidecar of the cluster. Any sidecar can tell a nonce it
 * (or a peer) issued from a forged one, and an old one from a fresh one, without storing anything.
 */
const TS_HEX = 8;
const RANDOM_HEX = 16;
const MAC_HEX = 32;
const OPAQUE_HEX = 16;
const NONCE_RE = new RegExp(`^[0-9a-f]{${TS_HEX + RANDOM_HEX + MAC_HEX}}$`);

export type NonceCheck = 'valid' | 'stale' | 'invalid';

export class NonceIssuer {
  private readonly random = new RandomPool(4096);
  /** A key object spares createHmac from preparing the key again on every nonce. */
  private readonly key: crypto.KeyObject;

  constructor(
    secret: string,
    private readonly lifetimeSec: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = crypto.createSecretKey(Buffer.from(secret, 'utf8'));
  }

  issue(realm: string): string {
    const ts = Math.floor(this.now() / 1000).toString(16).padStart(TS_HEX, '0').slice(-TS_HEX);
    const random = this.random.hex(RANDOM_HEX / 2);
    return `${ts}${random}${this.mac(`${ts}${random}`, realm)}`;
  }

  /** 'stale' = ours but expired (re-challenge with stale=true); 'invalid' = not ours, or for another realm. */
  check(nonce: string, realm: string): NonceCheck {
    if (!NONCE_RE.test(nonce)) return 'invalid';
    const body = nonce.slice(0, TS_HEX + RANDOM_HEX);
    const expected = Buffer.from(this.mac(body, realm), 'hex');
    const given = Buffer.from(nonce.slice(TS_HEX + RANDOM_HEX), 'hex');
    if (!crypto.timingSafeEqual(expected, given)) return 'invalid';
    const issuedAt = parseInt(body.slice(0, TS_HEX), 16);
    const age = Math.floor(this.now() / 1000) - issuedAt;
    // A nonce from the future (clock skew between sidecars) is accepted within one lifetime.
    return Math.abs(age) <= this.lifetimeSec ? 'valid' : 'stale';
  }

  /**
   * The opaque value sent with a nonce; a client must echo it unchanged. It only has to be tied to the
   * nonce (whose own MAC already proves it ours), so it is the tail of that MAC rather than another HMAC.
   */
  opaqueFor(nonce: string): string {
    return nonce.slice(-OPAQUE_HEX);
  }

  get lifetimeSeconds(): number {
    return this.lifetimeSec;
  }

  private mac(text: string, realm: string): string {
    return crypto.createHmac('sha256', this.key).update(`${text}|${realm.toLowerCase()}`).digest('hex').slice(0, MAC_HEX);
  }
}

/**
 * The nonce key: REGISTRAR_NONCE_SECRET when set; else derived from ENCRYPTION_SECRET/JWT_SECRET (shared by
 * the cluster already, and used here only through an HMAC with its own label); else random per process,
 * which works only while every REGISTER of a device reaches the same sidecar.
 */
export function nonceSecret(explicit: string | undefined, encryptionSecret: string | undefined): { secret: string; shared: boolean } {
  if (explicit) return { secret: explicit, shared: true };
  if (encryptionSecret) {
    return { secret: crypto.createHmac('sha256', encryptionSecret).update('sip-sidecar nonce key').digest('hex'), shared: true };
  }
  return { secret: crypto.randomBytes(32).toString('hex'), shared: false };
}
