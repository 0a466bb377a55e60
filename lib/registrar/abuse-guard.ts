import type { AuthGuardStore, FailurePolicy } from '../store/auth-guard-store';
import type { RateLimiter } from './rate-limiter';

/**
 * Brute-force and flood protection for REGISTER: a per-source rate limit (in process), and bans shared
 * by the cluster, set after too many failed authentications from a source or against one AoR, or when
 * the registration hook asks for one.
 */
export class AbuseGuard {
  constructor(
    private readonly store: AuthGuardStore,
    private readonly limiter: RateLimiter,
    private readonly policy: FailurePolicy,
  ) {}

  /** Seconds the source must wait (0 = go ahead). */
  rateLimit(sourceIp: string): number {
    return this.limiter.take(sourceIp);
  }

  /** Fails open: while Redis is away nothing can be registered anyway, and the answer should say why. */
  isBanned(sourceIp: string): Promise<boolean> {
    return this.store.isBanned(sourceIp).catch(() => false);
  }

  /** Counts a failed authentication; true when the source is now banned. */
  recordFailure(sourceIp: string, aor: string): Promise<boolean> {
    if (this.policy.perSource <= 0 && this.policy.perAor <= 0) return Promise.resolve(false);
    return this.store.recordFailure(sourceIp, aor, this.policy);
  }

  ban(sourceIp: string, seconds: number): Promise<void> {
    return this.store.ban(sourceIp, seconds * 1000);
  }
}
