/**
 * Up/down state of one carrier gateway from its ping results, with hysteresis: `downAfter` consecutive
 * misses take it down, `upAfter` consecutive successes bring it back. The reference went down on a single
 * miss, which blacklisted gateways for one lost UDP packet.
 */
export type GatewayState = 'up' | 'down';
export type Transition = 'went-down' | 'came-up' | undefined;

export class GatewayHealth {
  private misses = 0;
  private successes = 0;

  constructor(private current: GatewayState, private readonly downAfter: number, private readonly upAfter: number) {}

  get state(): GatewayState {
    return this.current;
  }

  /** Records one ping result; returns the state change it caused, if any. */
  record(ok: boolean): Transition {
    if (ok) {
      this.misses = 0;
      this.successes++;
      if (this.current === 'down' && this.successes >= this.upAfter) {
        this.current = 'up';
        return 'came-up';
      }
      return undefined;
    }
    this.successes = 0;
    this.misses++;
    if (this.current === 'up' && this.misses >= this.downAfter) {
      this.current = 'down';
      return 'went-down';
    }
    return undefined;
  }
}
