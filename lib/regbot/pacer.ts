/**
 * Spaces out the first REGISTERs of new registrations, so that a start-up (or a failover) with thousands
 * of trunks does not flood carriers or drachtio. It is a gate, not a schedule: each turn is granted at
 * least 1/perSecond after the previous turn actually ran, so timers that fire late on a busy machine
 * slow the pace down instead of bunching REGISTERs together. Waiting callers queue; nothing blocks.
 */
export class Pacer {
  private readonly waiting: Array<() => void> = [];
  private lastTurn = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly perSecond: number, private readonly now: () => number = Date.now) {}

  /** Resolves when the caller may send its first REGISTER (at once when pacing is off). */
  turn(): Promise<void> {
    if (this.perSecond <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.grantDue();
    });
  }

  /** How many callers wait for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Drops every waiting caller without granting it (shutdown); their promises never resolve. */
  clear(): void {
    this.waiting.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private grantDue(): void {
    if (this.timer || this.waiting.length === 0) return;
    const wait = this.lastTurn + 1000 / this.perSecond - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.grantDue();
      }, Math.ceil(wait));
      return;
    }
    this.lastTurn = this.now();
    (this.waiting.shift() as () => void)();
    this.grantDue();
  }
}
