/**
 * The API's inputs, checked before anything reads Redis: anything malformed is a 400 with a short reason
 * that does not echo the input.
 */
import net from 'node:net';
import { ApiError } from './api-reply';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const MAX_AOR_LENGTH = 512;
const MAX_PREFIX_LENGTH = 64;
/** Host names, IPv4 and bracketed IPv6: what a SIP realm can be. */
const REALM = /^[A-Za-z0-9._\-:[\]]{1,253}$/;
/** Control characters, found without a regex literal full of them. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** One decoded path segment; a bad %-escape is a 400, not an exception. */
export function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, 'malformed percent-encoding in the path');
  }
}

export function ipParam(raw: string): string {
  const ip = pathSegment(raw);
  if (net.isIP(ip) === 0) throw new ApiError(400, 'not an IP address');
  return ip;
}

export function aorParam(raw: string): string {
  const aor = pathSegment(raw);
  const at = aor.lastIndexOf('@');
  if (aor.length > MAX_AOR_LENGTH || at <= 0 || at === aor.length - 1 || hasControl(aor) || /\s/.test(aor)) {
    throw new ApiError(400, 'not an address of record (user@realm)');
  }
  return aor;
}

export function limitParam(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_PAGE_SIZE;
  const limit = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) throw new ApiError(400, `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  return limit;
}

export function realmParam(raw: string | null): string | undefined {
  if (raw === null || raw === '') return undefined;
  if (!REALM.test(raw)) throw new ApiError(400, 'realm must be a domain name or an IP address');
  return raw.toLowerCase();
}

export function userPrefixParam(raw: string | null): string | undefined {
  if (raw === null || raw === '') return undefined;
  if (raw.length > MAX_PREFIX_LENGTH || hasControl(raw)) {
    throw new ApiError(400, `q must be at most ${MAX_PREFIX_LENGTH} printable characters`);
  }
  return raw;
}
