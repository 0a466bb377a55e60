import crypto from 'node:crypto';

/**
 * Random bytes drawn from the CSPRNG a block at a time, each handed out once. One CSPRNG call per nonce or
 * cnonce cost about as much as the rest of building the message (a syscall-backed call each time).
 */
export class RandomPool {
  private block = Buffer.alloc(0);
  private offset = 0;

  constructor(private readonly blockSize = 4096) {}

  hex(bytes: number): string {
    if (this.offset + bytes > this.block.length) {
      this.block = crypto.randomBytes(Math.max(bytes, this.blockSize));
      this.offset = 0;
    }
    const hex = this.block.toString('hex', this.offset, this.offset + bytes);
    this.offset += bytes;
    return hex;
  }
}
