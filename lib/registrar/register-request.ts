import { headerLookup, HeaderLookup, SrfRequest } from '../drachtio/sip-router';
import { parseSipUri, parseHeaderUri, parseNameAddr, aorFromUri } from '../sip/uri';
import { parseContactHeader, requestedExpires, parseDeltaSeconds, ContactHeader } from '../sip/contact';
import { transportFromVia } from '../sip/via';
import type { ParsedRegister, RegisterRequest } from './register-request.types';
import { bindingKeyFor } from './binding-key';

const INVALID_AOR = 'Invalid address of record';
/** Longest User-Agent kept with a binding: enough for any real device, bounded for a hostile one. */
export const USER_AGENT_MAX = 200;
const AOR_NOT_SIP = 'The address of record must be a SIP or SIPS URI';
const NO_CONTACTS: ContactHeader = { kind: 'list', contacts: [] };

/**
 * Reads a REGISTER into a RegisterRequest, refusing it with jambonz's answers in jambonz's order:
 * Request-URI without a realm (403), unparseable Contact or Expires (400), unusable To (403). Where
 * jambonz answers 400 RFC 3261 is followed instead: a REGISTER without Contact is a query of the AoR's
 * bindings (§10.2.3), and one asking for no expiry (neither an expires parameter on its first Contact nor
 * an Expires header) asks for `defaultExpires` (§10.3 step 7 lets the registrar choose). A To whose URI is
 * not sip: or sips: (RFC 4475 §3.3.4, `isbn:`) is a bad request (400), as §10.2 wants the AoR in it.
 */
export function parseRegister(req: SrfRequest, defaultExpires: number): ParsedRegister {
  const requestUri = parseSipUri(req.uri);
  // Devices must address the registrar by its domain: an IPv4 literal names no realm.
  if (!requestUri.ok || !requestUri.value.host || requestUri.value.hostType === 'ipv4') return { ok: false, status: 403 };

  const header = headerLookup(req);
  const contactHeader = header('Contact');
  if (contactHeader === undefined) {
    const to = addressOfRecord(header('To'));
    if (!to) return refuseTo(header('To'));
    return { ok: true, request: buildRequest(req, header, '', NO_CONTACTS, 0, to, 'query') };
  }
  const contact = parseContactHeader(contactHeader);
  if (!contact.ok) return { ok: false, status: 400, reason: 'Invalid Contact header' };

  const expires = requestedExpires(contact.value, header('Expires'));
  if (!expires.ok) return { ok: false, status: 400 };
  if (contact.value.kind === 'wildcard' && expires.expires !== 0) {
    return { ok: false, status: 400, reason: 'Contact: * requires Expires: 0' };
  }

  const to = addressOfRecord(header('To'));
  if (!to) return refuseTo(header('To'));

  const asked = expires.expires ?? defaultExpires;
  return { ok: true, request: buildRequest(req, header, contactHeader, contact.value, asked, to, asked === 0 ? 'unregister' : 'register') };
}

/** The answer to an unusable To: 400 when its address is not a SIP or SIPS URI at all, else jambonz's 403. */
function refuseTo(toHeader: string | undefined): ParsedRegister {
  const nameAddr = parseNameAddr(toHeader ?? '');
  const sipOrUnreadable = !nameAddr.ok || /^sips?:/i.test(nameAddr.value.uri);
  return sipOrUnreadable ? { ok: false, status: 403, reason: INVALID_AOR } : { ok: false, status: 400, reason: AOR_NOT_SIP };
}

interface AddressOfRecord {
  /** `user@host` of the To URI. */
  aor: string;
  /** The host of the To URI. */
  realm: string;
}

function addressOfRecord(toHeader: string | undefined): AddressOfRecord | undefined {
  const to = parseHeaderUri(toHeader ?? '');
  const aor = to.ok ? aorFromUri(to.value) : undefined;
  return to.ok && aor ? { aor, realm: to.value.host } : undefined;
}

function buildRequest(req: SrfRequest, header: HeaderLookup, contactHeader: string, contact: ContactHeader, expires: number,
  to: AddressOfRecord, type: RegisterRequest['type']): RegisterRequest {
  const first = contact.kind === 'list' ? contact.contacts[0] : undefined;
  const meta = req as unknown as { source_port: number | string; receivedOn?: string };
  const expiresHeader = header('Expires');
  return {
    aor: to.aor,
    realm: to.realm,
    contactHeader,
    contactUri: first?.uri ?? (contact.kind === 'wildcard' ? '*' : ''),
    contactHost: first?.sipUri?.host,
    contactPort: first?.sipUri?.port,
    expires,
    type,
    transport: transportFromVia(header('Via')),
    sourceAddress: req.source_address,
    sourcePort: Number(meta.source_port),
    receivedOn: meta.receivedOn,
    callId: header('Call-ID') ?? '',
    cseq: Number(/^\s*(\d+)/.exec(header('CSeq') ?? '')?.[1] ?? 0),
    contacts: contact.kind === 'list' ? contact.contacts.map((c) => ({
      key: bindingKeyFor(c, c.sipUri), uri: c.uri, host: c.sipUri?.host, port: c.sipUri?.port, expires: c.expires, q: c.q, instanceId: c.instanceId, regId: c.regId,
    })) : [],
    expiresHeader: expiresHeader === undefined ? undefined : parseDeltaSeconds(expiresHeader),
    path: pathOf(header),
    authorization: header('Authorization'),
    userAgent: header('User-Agent')?.slice(0, USER_AGENT_MAX),
  };
}

/** Path is stored and echoed only when the device says it supports it (RFC 3327 §5.3). */
function pathOf(header: HeaderLookup): string[] | undefined {
  const path = header('Path');
  if (path === undefined) return undefined;
  const supported = (header('Supported') ?? '').split(',').map((s) => s.trim().toLowerCase());
  if (!supported.includes('path')) return undefined;
  return path.split(/,(?=\s*<)/).map((value) => value.trim()).filter(Boolean);
}
