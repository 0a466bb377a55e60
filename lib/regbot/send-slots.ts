/**
 * Caps how many REGISTER transactions regbot has open at once. Without it, a start-up of thousands of
 * trunks with pacing off opens them all in the same instant: every pending transaction holds its request
 * and drachtio-srf state until the carrier answers, so memory peaks with the number in flight, and a burst
 * of thousands of datagrams is more than socket buffers (ours, drachtio's, the carrier's) take.
 *
 * A sender takes a slot before it builds its REGISTER, so the thousands waiting hold no request yet.
 * Waiting takers are served in order, except that a REGISTER continuing an exchange (the answer to a
 * 401, a retry after a 423) goes ahead of first REGISTERs: in one queue it waited behind every other
 * gateway's first REGISTER, so all the exchanges of a large start-up were open at once, each holding its
 * challenge for the whole burst, and what they held outlived the young generation and grew the old one.
 * The cap never delays a REGISTER while fewer than `max` slots are taken; 0 means no cap.
 */
export class SendSlots {
  private taken = 0;
  private readonly continuing: Array<() => void> = [];
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  /** Resolves with the slot's release function once one is free. */
  async acquire(continuesExchange: boolean): Promise<() => void> {
    if (this.max > 0 && this.taken >= this.max) {
      const queue = continuesExchange ? this.continuing : this.waiting;
      await new Promise<void>((resolve) => queue.push(resolve));
    }
    this.taken++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.taken--;
      (this.continuing.shift() ?? this.waiting.shift())?.();
    };
  }

  /** Slots taken now, and takers waiting for one. */
  get load(): { open: number; waiting: number } {
    return { open: this.taken, waiting: this.continuing.length + this.waiting.length };
  }
}
