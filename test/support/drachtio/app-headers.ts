/**
 * drachtio's makeTags(): how the header block of a message an app sends (a response, or a UAC request) is
 * turned into sofia tags. Invalid lines are dropped, immutable headers ignored, well-known headers kept
 * typed (with `@localhost` rewritten in From/To/Contact/P-Asserted-Identity), the rest become custom headers.
 */
import { HeaderSet } from './header-set';
import {
  capitaliseHeaderName, drachtioKey, isImmutableHeader, isValidHeaderName, sofiaAccepts, wellKnownHeader,
} from './sip-headers';
import { replaceLocalhost } from './sip-values';

export interface AppHeader {
  key: string;
  value: string;
}

export interface AppHeaders {
  /** Well-known headers, in the app's order. */
  known: AppHeader[];
  /** Custom header lines, `Name: value`. */
  unknown: string[];
}

const LOCALHOST_REWRITTEN = new Set(['from', 'to', 'contact', 'p_asserted_identity']);

/**
 * Parses an app's header block. `hostport` is the chosen transport's `host:port`, used for `@localhost`.
 * The block is split on any CR or LF (as drachtio's splitLines does), so a value can never carry one.
 */
export function parseAppHeaders(block: string, hostport: string, log: (line: string) => void = () => undefined): AppHeaders {
  const known: AppHeader[] = [];
  const unknown: string[] = [];
  for (const line of block.split(/[\r\n]+/)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!isValidHeaderName(name)) {
      log(`makeTags - invalid header: '${line}'`);
      continue;
    }
    let value = line.slice(colon + 1).trim();
    const key = drachtioKey(name);
    if (isImmutableHeader(key)) continue;
    if (wellKnownHeader(key)) {
      if (LOCALHOST_REWRITTEN.has(key)) value = replaceLocalhost(value, hostport);
      known.push({ key, value });
    } else {
      unknown.push(`${capitaliseHeaderName(name)}: ${value}`);
    }
  }
  return { known, unknown };
}

/** The first well-known header whose value sofia cannot parse, as `name: value`; undefined when all parse. */
export function unparseableHeader(headers: AppHeaders): string | undefined {
  for (const { key, value } of headers.known) {
    const header = wellKnownHeader(key);
    if (header && !sofiaAccepts(header, value)) return `${header.name}: ${value}`;
  }
  return undefined;
}

export function findKnown(headers: AppHeaders, key: string): string | undefined {
  let found: string | undefined;
  for (const h of headers.known) if (h.key === key) found = h.value;
  return found;
}

/** Adds the app's headers to a set, skipping the keys the caller already handled. */
export function addAppHeaders(set: HeaderSet, headers: AppHeaders, skip: Set<string> = new Set()): void {
  for (const { key, value } of headers.known) if (!skip.has(key)) set.add(key, value);
  for (const line of headers.unknown) set.addUnknown(line);
}
