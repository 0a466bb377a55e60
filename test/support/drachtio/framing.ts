/**
 * The admin link's `N#payload` framing. N is the decimal UTF-8 byte length of the payload; there is no
 * terminator, and TCP may split a frame anywhere (even inside the digits) or coalesce several frames.
 */

/** drachtio-server's `readMessageLength` accepts at most five digits before `#`. */
export const SERVER_MAX_LENGTH_DIGITS = 5;

export class FramingError extends Error {}

/** Encodes one payload as `N#payload`, N counted in bytes. */
export function encodeFrame(payload: string): string {
  return `${Buffer.byteLength(payload, 'utf8')}#${payload}`;
}

/**
 * Incremental decoder. `push` returns every complete payload and keeps the remainder; it throws
 * FramingError on an invalid length specifier, after which the connection must be dropped.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxDigits: number = SERVER_MAX_LENGTH_DIGITS) {}

  push(chunk: Buffer): string[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const payloads: string[] = [];
    for (;;) {
      const frame = this.nextFrame();
      if (frame === undefined) break;
      payloads.push(frame);
    }
    return payloads;
  }

  /** Bytes received but not yet part of a complete frame (useful to tests). */
  get buffered(): number {
    return this.pending.length;
  }

  private nextFrame(): string | undefined {
    const hash = this.findHash();
    if (hash === undefined) return undefined;
    const length = Number(this.pending.toString('latin1', 0, hash));
    const end = hash + 1 + length;
    if (this.pending.length < end) return undefined;
    const payload = this.pending.toString('utf8', hash + 1, end);
    this.pending = this.pending.subarray(end);
    return payload;
  }

  /** Position of `#` once the digits before it are complete; validates them as they arrive. */
  private findHash(): number | undefined {
    const limit = Math.min(this.pending.length, this.maxDigits + 1);
    for (let i = 0; i < limit; i++) {
      const byte = this.pending[i];
      if (byte === 0x23 /* # */) {
        if (i === 0) throw new FramingError('invalid message length specifier: empty');
        return i;
      }
      if (byte < 0x30 || byte > 0x39) throw new FramingError('invalid message length specifier: non-digit');
    }
    if (this.pending.length > this.maxDigits) {
      throw new FramingError(`invalid message length specifier: more than ${this.maxDigits} digits`);
    }
    return undefined;
  }
}
