/**
 * Contact header handling for REGISTER (RFC 3261 §10.3, §20.10; RFC 5626 for +sip.instance/reg-id).
 *
 * The reference registrar looks only at the first Contact and echoes the header text back with one
 * regex substitution; `rewriteFirstExpires` and `requestedExpires` reproduce exactly that. The full
 * list parse is here so that a future multi-binding registrar has what it needs.
 */
import { Parsed, fail, ok, splitHeaderValues, trimLws, unfold } from './header-tokens';
import { SipUri, parseNameAddr, parseSipUri } from './uri';

/** RFC 3261 §20.19: delta-seconds range from 0 to 2^32-1; larger values are treated as the maximum. */
export const MAX_DELTA_SECONDS = 4294967295;

export interface ContactBinding {
  /** The element's text as received, trimmed. */
  raw: string;
  displayName?: string;
  /** The URI text, exactly as sent: this is what the reference stores as `contact`. */
  uri: string;
  /** The parsed URI, when it is a well-formed SIP/SIPS URI. */
  sipUri?: SipUri;
  params: ReadonlyMap<string, string | null>;
  expires?: number;
  q?: number;
  /** The +sip.instance value without its quotes and angle brackets, e.g. `urn:uuid:...`. */
  instanceId?: string;
  regId?: number;
}

export type ContactHeader =
  | { kind: 'wildcard' }
  | { kind: 'list'; contacts: ContactBinding[] };

/**
 * Parses a Contact header value (or the values of several Contact headers). `*` is accepted only
 * on its own, as RFC 3261 §10.2.2 requires. A malformed `expires` on any contact fails the parse;
 * a malformed `q` or `reg-id` is only left out, since nothing here depends on them.
 */
export function parseContactHeader(value: string | readonly string[]): Parsed<ContactHeader> {
  const elements = splitHeaderValues(value);
  if (!elements.ok) return elements;
  if (elements.value.length === 0) return fail('empty Contact header');
  if (elements.value.includes('*')) {
    return elements.value.length === 1 ? ok({ kind: 'wildcard' }) : fail('"*" mixed with other contacts');
  }
  const contacts: ContactBinding[] = [];
  for (const element of elements.value) {
    const contact = parseContactElement(element);
    if (!contact.ok) return contact;
    contacts.push(contact.value);
  }
  return ok({ kind: 'list', contacts });
}

function parseContactElement(element: string): Parsed<ContactBinding> {
  if (/^\*[ \t]*;/.test(element)) return fail('"*" contact cannot carry parameters');
  const nameAddr = parseNameAddr(element);
  if (!nameAddr.ok) return nameAddr;
  const { displayName, uri, params } = nameAddr.value;
  const contact: ContactBinding = { raw: element, uri, params };
  if (displayName !== undefined) contact.displayName = displayName;
  const sipUri = parseSipUri(uri);
  if (sipUri.ok) contact.sipUri = sipUri.value;

  const expires = params.get('expires');
  if (expires !== undefined) {
    const seconds = expires === null ? undefined : parseDeltaSeconds(expires);
    if (seconds === undefined) return fail(`invalid Contact expires "${expires ?? ''}"`);
    contact.expires = seconds;
  }
  const q = parseQValue(params.get('q'));
  if (q !== undefined) contact.q = q;
  const instanceId = unwrapInstance(params.get('+sip.instance'));
  if (instanceId !== undefined) contact.instanceId = instanceId;
  const regId = parseRegId(params.get('reg-id'));
  if (regId !== undefined) contact.regId = regId;
  return ok(contact);
}

/**
 * Strict delta-seconds: ASCII digits only (no sign, no decimals, no "3600abc" as parseInt would
 * allow), surrounding blanks ignored. Values beyond 2^32-1 clamp to it instead of overflowing.
 */
export function parseDeltaSeconds(text: string): number | undefined {
  const digits = trimLws(unfold(text)); // not a /[ \t]+$/ regex: that is quadratic on long runs of blanks
  if (!/^\d+$/.test(digits)) return undefined;
  const significant = digits.replace(/^0+(?=\d)/, '');
  // more than 10 digits is certainly above 2^32-1, and Number() would start losing precision
  if (significant.length > 10) return MAX_DELTA_SECONDS;
  return Math.min(Number(significant), MAX_DELTA_SECONDS);
}

/** RFC 3261 qvalue: 0, 0.x..0.xxx, 1, 1.0..1.000. */
function parseQValue(text: string | null | undefined): number | undefined {
  if (!text || !/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text)) return undefined;
  return Number(text);
}

/** RFC 5626: reg-id is 1 to 2^31-1. */
function parseRegId(text: string | null | undefined): number | undefined {
  if (!text || !/^\d{1,10}$/.test(text)) return undefined;
  const regId = Number(text);
  return regId >= 1 && regId <= 2147483647 ? regId : undefined;
}

function unwrapInstance(text: string | null | undefined): string | undefined {
  if (!text) return undefined;
  return text.startsWith('<') && text.endsWith('>') ? text.slice(1, -1) : text;
}

export type RequestedExpires =
  | { ok: true; expires: number | undefined; source: 'contact' | 'expires-header' | 'none' }
  | { ok: false; reason: string };

/**
 * The expiry a REGISTER asks for, by the reference rule: the `expires` parameter of the FIRST
 * Contact, else the Expires header, else undefined (the reference answers 400 then). Later
 * contacts are ignored, as in the reference. A present but malformed Expires header is an error
 * rather than "absent", so the caller can answer 400 instead of guessing.
 */
export function requestedExpires(contact: ContactHeader, expiresHeader: string | undefined): RequestedExpires {
  if (contact.kind === 'list' && contact.contacts[0]?.expires !== undefined) {
    return { ok: true, expires: contact.contacts[0].expires, source: 'contact' };
  }
  if (expiresHeader === undefined) return { ok: true, expires: undefined, source: 'none' };
  const seconds = parseDeltaSeconds(expiresHeader);
  if (seconds === undefined) return { ok: false, reason: `invalid Expires header "${expiresHeader}"` };
  return { ok: true, expires: seconds, source: 'expires-header' };
}

/**
 * The Contact text for a 200 OK, built the way the reference builds it: the first `expires=<digits>`
 * in the raw header text becomes `expires=<seconds>`, everything else is echoed byte for byte.
 * Like the reference regex, the match is case-sensitive and positional: it can hit an `expires=`
 * inside a URI, `Expires=` is left alone, and a Contact without one is returned unchanged.
 */
export function rewriteFirstExpires(contactHeaderText: string, seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError(`expires must be a non-negative integer, got ${seconds}`);
  }
  return contactHeaderText.replace(/expires=\d+/, `expires=${seconds}`);
}
