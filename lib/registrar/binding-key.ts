import { parseSipUri, SipUri } from '../sip/uri';

/** What identifies a binding, as parseContactHeader() gives it (instanceId without quotes or <>). */
export interface ContactIdentity {
  uri: string;
  instanceId?: string;
  regId?: number;
}

/**
 * The key of a Contact's binding inside its AoR (RFC 5626 §6, RFC 3261 §10.3 step 7):
 * - `+sip.instance` with `reg-id`: `<instance>;reg-id=<n>`, one binding per flow of the device;
 * - `+sip.instance` alone: `<instance>`, so a device that changes address replaces its own binding;
 * - otherwise the Contact URI.
 * Instance keys start with "<", which a Contact URI (taken out of its brackets) never does, so the
 * two kinds cannot collide.
 */
export function bindingKeyFor(contact: ContactIdentity, parsedUri?: SipUri): string {
  const instance = contact.instanceId === undefined ? '' : normalizeInstanceId(contact.instanceId);
  if (instance === '') return normalizeContactUri(contact.uri, parsedUri);
  return contact.regId === undefined ? `<${instance}>` : `<${instance}>;reg-id=${contact.regId}`;
}

/**
 * URNs compare with "urn:" and the namespace id case-insensitive (RFC 8141 §3.1); a UUID's hex digits
 * are case-insensitive too (RFC 4122 §3), so a urn:uuid is lower-cased whole. Other instance ids are
 * compared as written. Stray quotes or angle brackets are tolerated.
 */
export function normalizeInstanceId(instanceId: string): string {
  const bare = instanceId.trim().replace(/^"(.*)"$/, '$1').replace(/^<(.*)>$/, '$1').trim();
  if (/^urn:uuid:/i.test(bare)) return bare.toLowerCase();
  const urn = /^(urn:[A-Za-z0-9][A-Za-z0-9-]*:)(.*)$/i.exec(bare);
  return urn ? urn[1].toLowerCase() + urn[2] : bare;
}

/**
 * Scheme and host of a SIP URI are case-insensitive (RFC 3261 §19.1.4), so a device that changes
 * their case still refreshes its own binding. User part and parameters are kept as written: full
 * §19.1.4 equivalence is not needed because devices resend the Contact they registered.
 */
function normalizeContactUri(uri: string, parsedUri: SipUri | undefined): string {
  const parsed = parsedUri ?? parseOrUndefined(uri);
  if (!parsed) return uri;
  const { user, password, host } = parsed;
  const colon = uri.indexOf(':');
  const hostStart = user === undefined ? colon + 1 : uri.indexOf('@', colon) + 1;
  if (uri.slice(hostStart, hostStart + host.length).toLowerCase() !== host.toLowerCase()) return uri;
  const userinfo = user === undefined ? '' : `${user}${password === undefined ? '' : `:${password}`}@`;
  return `${parsed.scheme}:${userinfo}${host.toLowerCase()}${uri.slice(hostStart + host.length)}`;
}

function parseOrUndefined(uri: string): SipUri | undefined {
  const parsed = parseSipUri(uri);
  return parsed.ok ? parsed.value : undefined;
}
