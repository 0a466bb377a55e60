/**
 * Caps how many REGISTER transactions regbot has open at once. Without it, a start-up of thousands of
 * trunks with pacing off opens them all in the same instant: every pending transaction holds its request
 * and drachtio-srf state until the carrier answers, so memory peaks with the number in flight, and a burst
 * of thousands of datagrams is more than socket buffers (ours, drachtio's, the carrier's) take. Waiting
 * sends queue in order; the cap never delays a REGISTER while fewer than `maxInFlight` are open.
 *
 * A REGISTER that continues an exchange (the answer to a 401, a retry after a 423) goes ahead of first
 * REGISTERs: in one queue it waited behind every other gateway's first REGISTER, so all the exchanges of
 * a large start-up were open at once, each holding its challenge for the whole burst, and what they held
 * outlived the young generation and grew the old one (RSS peaked near 220 MB for 5,000 trunks).
 */
import type { RegisterRequest } from './register-request-builder';
import type { RegisterSender, SendResult } from './register-sender';

export class BoundedRegisterSender implements RegisterSender {
  private open = 0;
  private readonly continuing: Array<() => void> = [];
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly inner: RegisterSender, private readonly maxInFlight: number) {}

  async send(request: RegisterRequest): Promise<SendResult> {
    if (this.maxInFlight > 0 && this.open >= this.maxInFlight) {
      const queue = request.continuesExchange ? this.continuing : this.waiting;
      await new Promise<void>((resolve) => queue.push(resolve));
    }
    this.open++;
    try {
      return await this.inner.send(request);
    } finally {
      this.open--;
      (this.continuing.shift() ?? this.waiting.shift())?.();
    }
  }

  /** Transactions open now, and sends waiting for a slot. */
  get load(): { open: number; waiting: number } {
    return { open: this.open, waiting: this.continuing.length + this.waiting.length };
  }
}
