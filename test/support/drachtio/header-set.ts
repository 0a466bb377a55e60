/**
 * The headers of a message the stand-in builds (a response to an app, a UAC request), kept by type and
 * rendered in sofia's serialisation order with sofia's value encoding.
 */
import {
  UNKNOWN_RANK, WellKnownHeader, formatHeaderValues, wellKnownHeader,
} from './sip-headers';

function known(key: string): WellKnownHeader {
  const header = wellKnownHeader(key);
  if (!header) throw new Error(`not a well-known header: ${key}`);
  return header;
}

export class HeaderSet {
  private readonly values = new Map<string, string[]>();
  private readonly unknownLines: string[] = [];

  /** Adds a value with sofia's semantics: single headers are replaced, list/append ones accumulate. */
  add(key: string, value: string): void {
    const existing = this.values.get(key);
    if (!existing || known(key).multiplicity === 'single') this.values.set(key, [value]);
    else existing.push(value);
  }

  set(key: string, ...values: string[]): void {
    known(key);
    this.values.set(key, values);
  }

  get(key: string): string | undefined {
    return this.values.get(key)?.[0];
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  delete(key: string): void {
    this.values.delete(key);
  }

  /** A custom header line, already `Name: value`. */
  addUnknown(line: string): void {
    this.unknownLines.push(line);
  }

  /**
   * The header lines in sofia's order. `canonical` re-encodes values as sofia does when a message is
   * prepared for the wire; without it values are written as given (a message not yet prepared).
   */
  lines(canonical = true): string[] {
    const keys = [...this.values.keys()].sort((a, b) => known(a).rank - known(b).rank);
    const out: string[] = [];
    let unknownWritten = false;
    for (const key of keys) {
      const header = known(key);
      if (!unknownWritten && header.rank > UNKNOWN_RANK) {
        out.push(...this.unknownLines);
        unknownWritten = true;
      }
      out.push(...this.render(header, this.values.get(key) ?? [], canonical));
    }
    if (!unknownWritten) out.push(...this.unknownLines);
    return out;
  }

  private render(header: WellKnownHeader, values: string[], canonical: boolean): string[] {
    if (!canonical) return values.map((v) => `${header.name}: ${v}`);
    const merged = header.multiplicity === 'list' ? [values.join(', ')] : values;
    return merged.flatMap((v) => formatHeaderValues(header, v)).map((v) => `${header.name}: ${v}`);
  }
}
