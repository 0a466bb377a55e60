import type { AttemptPlan, AuthGuardStore, FailurePolicy } from '../store/auth-guard-store';
import type { RateLimiter } from './rate-limiter';

export interface AuthAttempt {
  admitted: boolean;
  /** The place reserved in the source's failure window, when there is one. */
  place?: string;
}

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

  /**
   * Takes a place for one authentication among the source's failures, so that concurrent guesses (a scanner
   * sends them in bursts) count against the threshold while the hook is still deciding them: at most the
   * threshold of them ever reach it. `admitted: false` when failures and authentications in progress fill the
   * window. Fails open, like the ban check.
   */
  async beginAttempt(sourceIp: string): Promise<AuthAttempt> {
    if (this.policy.perSource <= 0) return { admitted: true };
    try {
      const place = await this.store.reserveAttempt(sourceIp, this.policy);
      return place === undefined ? { admitted: false } : { admitted: true, place };
    } catch {
      return { admitted: true };
    }
  }

  /**
   * The reservation beginAttempt would take, for a script that takes it in a round trip it makes anyway
   * (the refresh fast path's); undefined when no source threshold is set. Read its outcome with attemptOf().
   */
  planAttempt(sourceIp: string): AttemptPlan | undefined {
    return this.policy.perSource > 0 ? this.store.attemptPlan(sourceIp, this.policy) : undefined;
  }

  /** The attempt a plan became: admitted with its place when reserved, refused when the window was full. */
  attemptOf(plan: AttemptPlan, reserved: boolean): AuthAttempt {
    return reserved ? { admitted: true, place: plan.member } : { admitted: false };
  }

  /** Ends an attempt that did not fail: its place is given back (in the background; nothing waits on it). */
  endAttempt(sourceIp: string, attempt: AuthAttempt): void {
    if (attempt.place) this.store.releaseAttempt(sourceIp, attempt.place).catch(() => undefined);
  }

  /** Counts a failed authentication (in the attempt's place); true when the source is now banned. */
  recordFailure(sourceIp: string, aor: string, attempt?: AuthAttempt): Promise<boolean> {
    if (this.policy.perSource <= 0 && this.policy.perAor <= 0) return Promise.resolve(false);
    return this.store.recordFailure(sourceIp, aor, this.policy, Date.now(), attempt?.place);
  }

  ban(sourceIp: string, seconds: number): Promise<void> {
    return this.store.ban(sourceIp, seconds * 1000);
  }
}
