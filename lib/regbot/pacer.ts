/**
 * Spaces out the first REGISTERs of new registrations, so that a start-up (or a failover) with thousands
 * of trunks does not flood carriers or drachtio. It hands out start delays instead of blocking, so a
 * reconcile pass never waits for the queue to drain.
 */
export class Pacer {
  private nextSlot = 0;

  constructor(private readonly perSecond: number, private readonly now: () => number = Date.now) {}

  /** The delay (ms) after which the next new registration may start. */
  nextDelay(): number {
    if (this.perSecond <= 0) return 0;
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.perSecond;
    return Math.round(slot - now);
  }
}
