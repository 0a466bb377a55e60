/**
 * Raw SIP message parsing and serialisation. Header lines keep their original text and order, because the
 * server forwards received messages with unmodified headers exactly as they arrived (sofia keeps each
 * header's original fragment).
 */
import { longHeaderName } from './sip-headers';
import { CSeq, parseCSeq } from './sip-values';

export const CRLF = '\r\n';

export interface SipHeaderLine {
  /** Name as written (possibly compact, any case). */
  name: string;
  /** Lower-case long name: `f` → `from`. */
  key: string;
  /** Value with folding undone and surrounding blanks trimmed. */
  value: string;
  /** Original text of the header, continuation lines included, without the final line break. */
  raw: string;
}

export interface RequestLine {
  kind: 'request';
  method: string;
  uri: string;
  version: string;
}

export interface StatusLine {
  kind: 'response';
  version: string;
  status: number;
  reason: string;
}

export class SipParseError extends Error {}

export class SipMessage {
  constructor(
    readonly startLine: string,
    readonly first: RequestLine | StatusLine,
    readonly headers: SipHeaderLine[],
    readonly body: Buffer,
    /** Size in bytes of the message as received. */
    readonly size: number,
    /** Content-Length announced more bytes than there were (sofia flags this as truncated). */
    readonly truncated = false,
    /** Lines in the header block that are not `name: value`. */
    readonly malformedLines: string[] = [],
  ) {}

  get isRequest(): boolean {
    return this.first.kind === 'request';
  }

  get method(): string | undefined {
    return this.first.kind === 'request' ? this.first.method : undefined;
  }

  get status(): number | undefined {
    return this.first.kind === 'response' ? this.first.status : undefined;
  }

  /** First value of a header, by long or compact name, case-insensitively. */
  get(name: string): string | undefined {
    const key = longHeaderName(name);
    return this.headers.find((h) => h.key === key)?.value;
  }

  /** Every value of a header (one entry per header line; comma lists are not split). */
  getAll(name: string): string[] {
    const key = longHeaderName(name);
    return this.headers.filter((h) => h.key === key).map((h) => h.value);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  get callId(): string | undefined {
    return this.get('call-id');
  }

  get cseq(): CSeq | undefined {
    return parseCSeq(this.get('cseq'));
  }

  toString(): string {
    return serialiseMessage(this.startLine, this.headers.map((h) => h.raw), this.body).toString('utf8');
  }
}

const REQUEST_LINE = /^([A-Za-z0-9\-.!%*_+`'~]+) +(\S+) +(SIP\/\d+\.\d+)$/i;
const STATUS_LINE = /^(SIP\/\d+\.\d+) +(\d{3})(?: (.*))?$/i;

/** Parses a start line; undefined when it is neither a request line nor a status line. */
export function parseStartLine(line: string): RequestLine | StatusLine | undefined {
  const status = STATUS_LINE.exec(line);
  if (status) return { kind: 'response', version: status[1].toUpperCase(), status: Number(status[2]), reason: status[3] ?? '' };
  const request = REQUEST_LINE.exec(line);
  if (request) return { kind: 'request', method: request[1], uri: request[2], version: request[3].toUpperCase() };
  return undefined;
}

/** Offset of the empty line ending the header block, and the length of that separator. */
export function findHeaderEnd(data: Buffer, from = 0): { index: number; length: number } | undefined {
  const crlf = data.indexOf('\r\n\r\n', from);
  const lf = data.indexOf('\n\n', from);
  if (crlf < 0 && lf < 0) return undefined;
  if (lf >= 0 && (crlf < 0 || lf < crlf)) return { index: lf, length: 2 };
  return { index: crlf, length: 4 };
}

/** Splits the header block into header lines, joining continuation lines (leading SP/HT) to their header. */
function parseHeaderBlock(block: string): { headers: SipHeaderLine[]; malformed: string[] } {
  const headers: SipHeaderLine[] = [];
  const malformed: string[] = [];
  const physical = block.split(/\r?\n/);
  for (let i = 0; i < physical.length; i++) {
    let raw = physical[i];
    while (i + 1 < physical.length && /^[ \t]/.test(physical[i + 1])) raw += CRLF + physical[++i];
    if (!raw) continue;
    const colon = raw.indexOf(':');
    const name = colon > 0 ? raw.slice(0, colon).trim() : '';
    if (!name || /\s/.test(name)) {
      malformed.push(raw);
      continue;
    }
    const value = raw.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    headers.push({ name, key: longHeaderName(name), value, raw });
  }
  return { headers, malformed };
}

/**
 * Parses one complete message. With a Content-Length the body is exactly that many bytes (for a datagram,
 * trailing bytes are ignored); without one the body is whatever follows the header block.
 */
export function parseSipMessage(data: Buffer): SipMessage {
  let start = 0;
  while (data[start] === 0x0d || data[start] === 0x0a) start++;
  const end = findHeaderEnd(data, start);
  const headEnd = end ? end.index : data.length;
  const head = data.toString('utf8', start, headEnd);
  const lineBreak = head.search(/\r?\n/);
  const startLine = lineBreak < 0 ? head : head.slice(0, lineBreak);
  const first = parseStartLine(startLine);
  if (!first) throw new SipParseError(`not a SIP start line: ${JSON.stringify(startLine.slice(0, 80))}`);
  const block = lineBreak < 0 ? '' : head.slice(head.indexOf('\n') + 1);
  const { headers, malformed } = parseHeaderBlock(block);
  const bodyStart = end ? end.index + end.length : data.length;
  const declared = contentLengthOf(headers);
  let body = data.subarray(bodyStart);
  let truncated = false;
  if (declared !== undefined && !Number.isNaN(declared)) {
    truncated = body.length < declared;
    body = body.subarray(0, declared);
  }
  return new SipMessage(startLine, first, headers, Buffer.from(body), data.length, truncated, malformed);
}

/** The announced Content-Length: undefined when absent, NaN when not a number. */
export function contentLengthOf(headers: SipHeaderLine[]): number | undefined {
  const header = headers.find((h) => h.key === 'content-length');
  if (!header) return undefined;
  return /^\d+$/.test(header.value) ? Number(header.value) : NaN;
}

/** Start line + header lines + empty line + body. */
export function serialiseMessage(startLine: string, headerLines: string[], body: Buffer | string): Buffer {
  const head = [startLine, ...headerLines].join(CRLF) + CRLF + CRLF;
  return Buffer.concat([Buffer.from(head, 'utf8'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}

/**
 * Splits a message an app sent on the admin link: start line, header lines and body, as drachtio's
 * splitMsg does (header block up to the first empty line).
 */
export function splitAppMessage(text: string): { startLine: string; headerBlock: string; body: string } {
  const sep = text.indexOf('\r\n\r\n');
  const head = sep < 0 ? text : text.slice(0, sep);
  const body = sep < 0 ? '' : text.slice(sep + 4);
  const nl = head.indexOf('\r\n');
  return nl < 0
    ? { startLine: head, headerBlock: '', body }
    : { startLine: head.slice(0, nl), headerBlock: head.slice(nl + 2), body };
}

/** A received message as the server passes it on: original text, Content-Length added when missing. */
export function encodeAsReceived(msg: SipMessage): string {
  const lines = msg.headers.map((h) => h.raw);
  if (!msg.has('content-length')) lines.push(`Content-Length: ${msg.body.length}`);
  return [msg.startLine, ...lines].join(CRLF) + CRLF + CRLF + msg.body.toString('utf8');
}
