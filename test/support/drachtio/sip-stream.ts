/**
 * Splits a SIP byte stream (TCP) into messages using Content-Length, and recognises the RFC 5626
 * double-CRLF keepalive ping (sofia is created with TPTAG_PONG2PING, so the server answers it with CRLF).
 */
import { findHeaderEnd } from './sip-message';

/** A header block larger than this is treated as garbage (sofia has a similar message size limit). */
const MAX_HEADER_BYTES = 65536;

export type StreamItem = { type: 'message'; data: Buffer } | { type: 'ping' } | { type: 'garbage' };

export class SipStreamSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): StreamItem[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const items: StreamItem[] = [];
    for (;;) {
      const item = this.next();
      if (!item) break;
      items.push(item);
      if (item.type === 'garbage') {
        this.pending = Buffer.alloc(0);
        break;
      }
    }
    return items;
  }

  private next(): StreamItem | undefined {
    const keepalive = this.takeKeepalive();
    if (keepalive !== undefined) return keepalive ?? this.next();
    if (this.pending.length === 0) return undefined;
    const end = findHeaderEnd(this.pending);
    if (!end) return this.pending.length > MAX_HEADER_BYTES ? { type: 'garbage' } : undefined;
    const length = contentLength(this.pending.toString('utf8', 0, end.index));
    if (length === undefined) return { type: 'garbage' };
    const total = end.index + end.length + length;
    if (this.pending.length < total) return undefined;
    const data = Buffer.from(this.pending.subarray(0, total));
    this.pending = this.pending.subarray(total);
    return { type: 'message', data };
  }

  /**
   * Leading CRLFs: `\r\n\r\n` is a ping; a lone `\r\n` (a pong, or stray line break) is skipped once
   * more data shows it is not the start of a ping. Returns undefined when nothing was consumed, null when
   * a pong was skipped.
   */
  private takeKeepalive(): StreamItem | null | undefined {
    if (!this.startsWith('\r\n')) return undefined;
    if (this.startsWith('\r\n\r\n')) {
      this.pending = this.pending.subarray(4);
      return { type: 'ping' };
    }
    if (this.pending.length < 4 && '\r\n\r\n'.startsWith(this.pending.toString('latin1'))) return undefined;
    this.pending = this.pending.subarray(2);
    return null;
  }

  private startsWith(text: string): boolean {
    return this.pending.length >= text.length && this.pending.toString('latin1', 0, text.length) === text;
  }
}

/** Content-Length from a header block; a stream message without one has an empty body (sofia treats it so). */
function contentLength(head: string): number | undefined {
  const m = /(?:^|\r?\n)(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)/i.exec(head);
  if (!m) return 0;
  const value = m[1].trim();
  return /^\d+$/.test(value) ? Number(value) : undefined;
}
