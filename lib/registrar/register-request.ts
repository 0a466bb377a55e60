import type { SrfRequest } from '../drachtio/sip-router';
import { parseSipUri, parseHeaderUri, aorFromUri } from '../sip/uri';
import { parseContactHeader, requestedExpires, parseDeltaSeconds, ContactHeader } from '../sip/contact';
import { transportFromVia } from '../sip/via';
import type { ParsedRegister, RegisterRequest } from './register-request.types';

const CONTACT_REQUIRED = 'Contact header is required for REGISTER requests';
const INVALID_AOR = 'Invalid address of record';

/**
 * Reads a REGISTER into a RegisterRequest, refusing it with jambonz's answers in jambonz's order:
 * Request-URI without a realm (403), no Contact (400), no expiry (400), unusable To (403).
 */
export function parseRegister(req: SrfRequest): ParsedRegister {
  const requestUri = parseSipUri(req.uri);
  // Devices must address the registrar by its domain: an IPv4 literal names no realm.
  if (!requestUri.ok || !requestUri.value.host || requestUri.value.hostType === 'ipv4') return { ok: false, status: 403 };

  if (!req.has('Contact')) return { ok: false, status: 400, reason: CONTACT_REQUIRED };
  const contactHeader = req.get('Contact');
  const contact = parseContactHeader(contactHeader);
  if (!contact.ok) return { ok: false, status: 400, reason: 'Invalid Contact header' };

  const expires = requestedExpires(contact.value, req.has('Expires') ? req.get('Expires') : undefined);
  if (!expires.ok || expires.expires === undefined) return { ok: false, status: 400 };
  if (contact.value.kind === 'wildcard' && expires.expires !== 0) {
    return { ok: false, status: 400, reason: 'Contact: * requires Expires: 0' };
  }

  const to = parseHeaderUri(req.has('To') ? req.get('To') : '');
  const aor = to.ok ? aorFromUri(to.value) : undefined;
  if (!to.ok || !aor) return { ok: false, status: 403, reason: INVALID_AOR };

  return { ok: true, request: buildRequest(req, contactHeader, contact.value, expires.expires, aor, to.value.host) };
}

function buildRequest(req: SrfRequest, contactHeader: string, contact: ContactHeader, expires: number, aor: string,
  realm: string): RegisterRequest {
  const first = contact.kind === 'list' ? contact.contacts[0] : undefined;
  const meta = req as unknown as { source_port: number | string; receivedOn?: string };
  return {
    aor,
    realm,
    contactHeader,
    contactUri: first?.uri ?? '*',
    contactHost: first?.sipUri?.host,
    contactPort: first?.sipUri?.port,
    expires,
    type: expires === 0 ? 'unregister' : 'register',
    transport: transportFromVia(req.get('Via')),
    sourceAddress: req.source_address,
    sourcePort: Number(meta.source_port),
    receivedOn: meta.receivedOn,
    callId: req.get('Call-ID'),
    cseq: Number(/^\s*(\d+)/.exec(req.get('CSeq') ?? '')?.[1] ?? 0),
    contacts: contact.kind === 'list' ? contact.contacts.map((c) => ({
      uri: c.uri, host: c.sipUri?.host, port: c.sipUri?.port, expires: c.expires, q: c.q, instanceId: c.instanceId, regId: c.regId,
    })) : [],
    expiresHeader: req.has('Expires') ? parseDeltaSeconds(req.get('Expires')) : undefined,
    path: pathOf(req),
    authorization: req.has('Authorization') ? req.get('Authorization') : undefined,
  };
}

/** Path is stored and echoed only when the device says it supports it (RFC 3327 §5.3). */
function pathOf(req: SrfRequest): string[] | undefined {
  if (!req.has('Path')) return undefined;
  const supported = (req.has('Supported') ? req.get('Supported') : '').split(',').map((s) => s.trim().toLowerCase());
  if (!supported.includes('path')) return undefined;
  return req.get('Path').split(/,(?=\s*<)/).map((value) => value.trim()).filter(Boolean);
}
