/**
 * Pure timing rules of outbound registration: the expiry a 200 grants to OUR binding, when to refresh,
 * and how long to wait after a failure. Randomness comes in as an argument so tests can pin it.
 */
import { parseContactHeader, parseDeltaSeconds } from '../sip/contact';

export type Random = () => number;

export interface GrantInput {
  /** The Contact header(s) of the 200, joined by commas (as drachtio-srf joins repeated headers). */
  contactHeader: string | undefined;
  expiresHeader: string | undefined;
  /** The `user@host[:port]` we put in our Contact. */
  ourContact: string;
  requested: number;
  minExpires: number;
}

/**
 * The expiry of our own binding: its Contact's `expires`, else the Expires header, else what we asked
 * for (the reference reads the FIRST Contact, which is another UA's binding on shared AoRs).
 * Garbage or values below the floor become the floor, as in the reference.
 */
export function grantedExpires(input: GrantInput): number {
  const fromContact = ourContactExpires(input.contactHeader, input.ourContact);
  const fromHeader = input.expiresHeader === undefined ? undefined : parseDeltaSeconds(input.expiresHeader);
  const granted = fromContact ?? fromHeader ?? input.requested;
  return Math.max(granted, input.minExpires);
}

function ourContactExpires(header: string | undefined, ourContact: string): number | undefined {
  if (!header) return undefined;
  const parsed = parseContactHeader(header);
  if (!parsed.ok || parsed.value.kind !== 'list') return undefined;
  const ours = splitContact(ourContact);
  const match = parsed.value.contacts.find((contact) => {
    const uri = contact.sipUri;
    if (!uri || uri.user !== ours.user || uri.host.toLowerCase() !== ours.host) return false;
    // carriers sometimes drop or add the default port; only two explicit, different ports disagree
    return uri.port === undefined || ours.port === undefined || uri.port === ours.port;
  });
  return match?.expires;
}

function splitContact(contact: string): { user: string; host: string; port?: number } {
  const at = contact.lastIndexOf('@');
  const user = contact.slice(0, at);
  const hostport = contact.slice(at + 1);
  const portMatch = /^(.*):(\d+)$/.exec(hostport);
  if (!portMatch || hostport.endsWith(']')) return { user, host: hostport.replace(/^\[|\]$/g, '').toLowerCase() };
  return { user, host: portMatch[1].replace(/^\[|\]$/g, '').toLowerCase(), port: Number(portMatch[2]) };
}

/** The next refresh: `fraction` of the expiry, pulled earlier by up to `jitter` of it (never later). */
export function refreshDelayMs(expiresSec: number, fraction: number, jitter: number, random: Random): number {
  const share = Math.max(0.05, fraction - jitter * random());
  return Math.max(500, Math.round(expiresSec * 1000 * share));
}

export interface BackoffInput {
  /** Consecutive failures including this one (1 for the first). */
  failures: number;
  baseMs: number;
  capMs: number;
  /** Retry-After of the response, in seconds. */
  retryAfterSec?: number;
  random: Random;
}

/**
 * Exponential backoff with "equal jitter" (half fixed, half random), capped; a carrier's Retry-After
 * is a floor, since retrying earlier only earns another 503.
 */
export function failureDelayMs(input: BackoffInput): number {
  const exponent = Math.min(Math.max(input.failures - 1, 0), 30);
  const ceiling = Math.min(input.capMs, input.baseMs * 2 ** exponent);
  const delay = Math.round(ceiling / 2 + (ceiling / 2) * input.random());
  const floor = input.retryAfterSec !== undefined ? input.retryAfterSec * 1000 : 0;
  return Math.max(delay, floor);
}

/** The slow retry after a 403: the interval, spread by ±10 % so a fleet of bad trunks does not sync up. */
export function forbiddenDelayMs(intervalSec: number, random: Random): number {
  return Math.round(intervalSec * 1000 * (0.9 + 0.2 * random()));
}

/** `Retry-After: 120 (maintenance);duration=…` → 120. */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const match = /^\s*(\d{1,9})/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/**
 * The Expires to ask for: always the configured value, raised to a carrier's Min-Expires after a 423;
 * never the last granted value, so a carrier's shortening cannot ratchet down refresh after refresh.
 */
export function requestedExpires(defaultExpires: number, carrierMinExpires: number | undefined): number {
  return Math.max(defaultExpires, carrierMinExpires ?? 0);
}
