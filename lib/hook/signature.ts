/**
 * The `Jambonz-Signature` header sent with registration-hook requests (spec §3.7):
 *   t=<unix seconds>,v1=<hex HMAC-SHA256(webhook_secret, "<t>.<payload>")>
 * Customers' hooks verify it with jambonz's own libraries, so the format must match exactly.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Jambonz-Signature';

/**
 * What the reference signs for a GET hook, which has no body: the JSON encoding of the string
 * "null", i.e. the six characters `"null"` including the quotes (it JSON-encodes its 'null'
 * placeholder a second time). A POST signs its JSON body text exactly as sent.
 */
export const GET_HOOK_SIGNED_PAYLOAD = '"null"';

/** Lower-case hex HMAC-SHA256 of `<t>.<payload>`, both UTF-8. */
export function computeHookSignature(payload: string, secret: string, timestampSeconds: number): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${payload}`, 'utf8').digest('hex');
}

/**
 * The header value for `body` signed at `nowSeconds` (Unix time in seconds, not milliseconds; a
 * fractional value is floored as the reference's Math.floor(Date.now() / 1000) would be).
 */
export function signHookBody(body: string, secret: string, nowSeconds: number): string {
  if (!Number.isFinite(nowSeconds) || nowSeconds < 0) throw new RangeError(`invalid timestamp ${nowSeconds}`);
  const timestamp = Math.floor(nowSeconds);
  return `t=${timestamp},v1=${computeHookSignature(body, secret, timestamp)}`;
}

export interface HookSignature {
  timestamp: number;
  /** Every v1 value present; a verifier accepts the header if any of them matches. */
  signatures: string[];
}

/** Reads `t=…,v1=…[,v1=…]`; unknown schemes are ignored. Undefined when t or v1 is missing or bad. */
export function parseHookSignature(header: string): HookSignature | undefined {
  if (typeof header !== 'string') return undefined;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,15}$/.test(value) || timestamp !== undefined) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return undefined;
      signatures.push(value.toLowerCase());
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

export interface VerifyHookSignatureOptions {
  /** When given, the signature must be no older (or newer) than toleranceSeconds. */
  nowSeconds?: number;
  /** Default 300 s. */
  toleranceSeconds?: number;
}

/** Checks a Jambonz-Signature header against the payload, timing-safely. Never throws. */
export function verifyHookSignature(
  header: string,
  payload: string,
  secret: string,
  options: VerifyHookSignatureOptions = {},
): boolean {
  const parsed = parseHookSignature(header);
  if (!parsed) return false;
  if (options.nowSeconds !== undefined) {
    const tolerance = options.toleranceSeconds ?? 300;
    if (Math.abs(options.nowSeconds - parsed.timestamp) > tolerance) return false;
  }
  const expected = Buffer.from(computeHookSignature(payload, secret, parsed.timestamp), 'hex');
  return parsed.signatures.some((signature) => timingSafeEqual(expected, Buffer.from(signature, 'hex')));
}
