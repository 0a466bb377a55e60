/**
 * Protects the SBC from a slow or dead registration hook, per hook URL:
 * - at most `maxInFlight` calls at once (more would only pile up SIP transactions);
 * - a circuit breaker: after `breakerFailures` consecutive failures the hook is not called for
 *   `breakerCooldownMs`, then one probe call decides whether it is back;
 * - connection-failure alerts at most once per `alertPeriodMs`.
 */
export interface HookGuardOptions {
  maxInFlight: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  alertPeriodMs: number;
  now?: () => number;
}

export type Admission = 'allowed' | 'busy' | 'open';

interface HookState {
  inFlight: number;
  failures: number;
  openUntil: number;
  probing: boolean;
  lastAlertAt: number;
}

export class HookGuard {
  private readonly states = new Map<string, HookState>();
  private readonly now: () => number;

  constructor(private readonly options: HookGuardOptions) {
    this.now = options.now ?? Date.now;
  }

  admit(url: string): Admission {
    const state = this.state(url);
    if (state.openUntil > 0) {
      if (this.now() < state.openUntil || state.probing) return 'open';
      state.probing = true; // half-open: this call is the probe
    }
    if (state.inFlight >= this.options.maxInFlight) {
      state.probing = false;
      return 'busy';
    }
    state.inFlight++;
    return 'allowed';
  }

  /** Reports the end of an admitted call. */
  release(url: string, failed: boolean): void {
    const state = this.state(url);
    state.inFlight = Math.max(0, state.inFlight - 1);
    state.probing = false;
    if (!failed) {
      state.failures = 0;
      state.openUntil = 0;
      return;
    }
    state.failures++;
    if (state.failures >= this.options.breakerFailures) state.openUntil = this.now() + this.options.breakerCooldownMs;
  }

  isOpen(url: string): boolean {
    return this.state(url).openUntil > this.now();
  }

  /** True at most once per alert period per URL. */
  shouldAlert(url: string): boolean {
    const state = this.state(url);
    if (state.lastAlertAt && this.now() - state.lastAlertAt < this.options.alertPeriodMs) return false;
    state.lastAlertAt = this.now();
    return true;
  }

  private state(url: string): HookState {
    let state = this.states.get(url);
    if (!state) {
      state = { inFlight: 0, failures: 0, openUntil: 0, probing: false, lastAlertAt: 0 };
      this.states.set(url, state);
    }
    return state;
  }
}
