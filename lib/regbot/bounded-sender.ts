/**
 * Caps how many REGISTER transactions regbot has open at once. Without it, a start-up of thousands of
 * trunks with pacing off opens them all in the same instant: every pending transaction holds its request
 * and drachtio-srf state until the carrier answers, so memory peaks with the number in flight, and a burst
 * of thousands of datagrams is more than socket buffers (ours, drachtio's, the carrier's) take. Waiting
 * sends queue in order; the cap never delays a REGISTER while fewer than `maxInFlight` are open.
 */
import type { RegisterRequest } from './register-request-builder';
import type { RegisterSender, SendResult } from './register-sender';

export class BoundedRegisterSender implements RegisterSender {
  private open = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly inner: RegisterSender, private readonly maxInFlight: number) {}

  async send(request: RegisterRequest): Promise<SendResult> {
    if (this.maxInFlight > 0 && this.open >= this.maxInFlight) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.open++;
    try {
      return await this.inner.send(request);
    } finally {
      this.open--;
      this.waiting.shift()?.();
    }
  }

  /** Transactions open now, and sends waiting for a slot. */
  get load(): { open: number; waiting: number } {
    return { open: this.open, waiting: this.waiting.length };
  }
}
