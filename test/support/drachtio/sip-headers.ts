/**
 * What the stand-in knows about header names: compact forms, sofia's well-known headers (with their
 * canonical spelling and the order sofia serialises them in), and how sofia re-encodes their values.
 *
 * sofia serialises a message it builds in the order of the fields of its `sip_t` struct: Via, Route, ...,
 * Content-Length, then unknown headers, then extension headers (P-Asserted-Identity & co. are registered as
 * extensions, whose slots come after the struct). That is why custom headers appear after Content-Length.
 */
import {
  canonicalNameAddr, hasUriScheme, isToken, normaliseParams, parseCSeq, parseNameAddr, splitTopLevel,
} from './sip-values';

/** RFC 3261 §7.3.3 compact forms (plus the RFC 3265/3515/4028/3841 ones sofia knows). */
const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type', f: 'from',
  s: 'subject', k: 'supported', t: 'to', v: 'via', o: 'event', u: 'allow-events', r: 'refer-to',
  b: 'referred-by', x: 'session-expires', a: 'accept-contact', j: 'reject-contact', d: 'request-disposition',
};

/** Lower-case long name of a header as written on the network (`f` → `from`, `Call-ID` → `call-id`). */
export function longHeaderName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

/**
 * How sofia re-encodes a typed header value:
 * addr       single name-addr, URI always bracketed
 * addr-list  comma-separated name-addrs, each one written on its own header line
 * list       comma-separated items merged into one line, joined with ', '
 * auth       `Scheme p1, p2, ...`
 * auth-info  `p1, p2, ...`
 * params     `value;p1;p2` with the blanks around `;` and `=` removed
 * cseq       `N METHOD`
 * generic    trimmed text
 */
export type HeaderKind = 'addr' | 'addr-list' | 'list' | 'auth' | 'auth-info' | 'params' | 'cseq' | 'generic';

/** single: a second value replaces the first (sofia msg_kind_single). */
type Multiplicity = 'single' | 'append' | 'list';

export interface WellKnownHeader {
  /** drachtio's key: lower-case name with `-` replaced by `_`. */
  key: string;
  name: string;
  kind: HeaderKind;
  multiplicity: Multiplicity;
  /** Serialisation rank; unknown headers sit between the struct fields and the extensions. */
  rank: number;
}

type Row = [key: string, name: string, kind: HeaderKind, multiplicity: Multiplicity];

/** sip_t field order (sofia-sip sip.h). */
const STRUCT_FIELDS: Row[] = [
  ['via', 'Via', 'generic', 'append'],
  ['route', 'Route', 'addr-list', 'append'],
  ['record_route', 'Record-Route', 'addr-list', 'append'],
  ['max_forwards', 'Max-Forwards', 'generic', 'single'],
  ['proxy_require', 'Proxy-Require', 'list', 'list'],
  ['from', 'From', 'addr', 'single'],
  ['to', 'To', 'addr', 'single'],
  ['call_id', 'Call-ID', 'generic', 'single'],
  ['cseq', 'CSeq', 'cseq', 'single'],
  ['contact', 'Contact', 'addr-list', 'append'],
  ['rseq', 'RSeq', 'generic', 'single'],
  ['rack', 'RAck', 'generic', 'single'],
  ['request_disposition', 'Request-Disposition', 'list', 'list'],
  ['accept_contact', 'Accept-Contact', 'params', 'append'],
  ['reject_contact', 'Reject-Contact', 'params', 'append'],
  ['expires', 'Expires', 'generic', 'single'],
  ['date', 'Date', 'generic', 'single'],
  ['retry_after', 'Retry-After', 'params', 'single'],
  ['timestamp', 'Timestamp', 'generic', 'single'],
  ['min_expires', 'Min-Expires', 'generic', 'single'],
  ['subject', 'Subject', 'generic', 'single'],
  ['priority', 'Priority', 'generic', 'single'],
  ['call_info', 'Call-Info', 'addr-list', 'append'],
  ['organization', 'Organization', 'generic', 'single'],
  ['server', 'Server', 'generic', 'single'],
  ['user_agent', 'User-Agent', 'generic', 'single'],
  ['in_reply_to', 'In-Reply-To', 'list', 'list'],
  ['accept', 'Accept', 'list', 'list'],
  ['accept_encoding', 'Accept-Encoding', 'list', 'list'],
  ['accept_language', 'Accept-Language', 'list', 'list'],
  ['allow', 'Allow', 'list', 'list'],
  ['require', 'Require', 'list', 'list'],
  ['supported', 'Supported', 'list', 'list'],
  ['unsupported', 'Unsupported', 'list', 'list'],
  ['event', 'Event', 'params', 'single'],
  ['allow_events', 'Allow-Events', 'list', 'list'],
  ['subscription_state', 'Subscription-State', 'params', 'single'],
  ['proxy_authenticate', 'Proxy-Authenticate', 'auth', 'append'],
  ['proxy_authentication_info', 'Proxy-Authentication-Info', 'auth-info', 'single'],
  ['proxy_authorization', 'Proxy-Authorization', 'auth', 'append'],
  ['authorization', 'Authorization', 'auth', 'append'],
  ['www_authenticate', 'WWW-Authenticate', 'auth', 'append'],
  ['authentication_info', 'Authentication-Info', 'auth-info', 'single'],
  ['error_info', 'Error-Info', 'addr-list', 'append'],
  ['warning', 'Warning', 'generic', 'append'],
  ['refer_to', 'Refer-To', 'addr', 'single'],
  ['referred_by', 'Referred-By', 'addr', 'single'],
  ['replaces', 'Replaces', 'params', 'single'],
  ['session_expires', 'Session-Expires', 'params', 'single'],
  ['min_se', 'Min-SE', 'params', 'single'],
  ['path', 'Path', 'addr-list', 'append'],
  ['service_route', 'Service-Route', 'addr-list', 'append'],
  ['reason', 'Reason', 'params', 'append'],
  ['security_client', 'Security-Client', 'params', 'append'],
  ['security_server', 'Security-Server', 'params', 'append'],
  ['security_verify', 'Security-Verify', 'params', 'append'],
  ['privacy', 'Privacy', 'generic', 'single'],
  ['etag', 'SIP-ETag', 'generic', 'single'],
  ['if_match', 'SIP-If-Match', 'generic', 'single'],
  ['mime_version', 'MIME-Version', 'generic', 'single'],
  ['content_type', 'Content-Type', 'params', 'single'],
  ['content_encoding', 'Content-Encoding', 'list', 'list'],
  ['content_language', 'Content-Language', 'list', 'list'],
  ['content_disposition', 'Content-Disposition', 'params', 'single'],
  ['content_length', 'Content-Length', 'generic', 'single'],
];

/** sofia's extension headers that drachtio maps to typed tags; serialised after the unknown headers. */
const EXTENSION_FIELDS: Row[] = [
  ['alert_info', 'Alert-Info', 'addr-list', 'append'],
  ['reply_to', 'Reply-To', 'addr', 'single'],
  ['remote_party_id', 'Remote-Party-ID', 'addr-list', 'append'],
  ['p_asserted_identity', 'P-Asserted-Identity', 'addr-list', 'append'],
  ['p_preferred_identity', 'P-Preferred-Identity', 'addr-list', 'append'],
  ['refer_sub', 'Refer-Sub', 'params', 'single'],
];

/** Rank given to unknown headers: after Content-Length, before the extensions. */
export const UNKNOWN_RANK = STRUCT_FIELDS.length;

const WELL_KNOWN = new Map<string, WellKnownHeader>();
STRUCT_FIELDS.forEach(([key, name, kind, multiplicity], rank) => WELL_KNOWN.set(key, { key, name, kind, multiplicity, rank }));
EXTENSION_FIELDS.forEach(([key, name, kind, multiplicity], i) => {
  WELL_KNOWN.set(key, { key, name, kind, multiplicity, rank: UNKNOWN_RANK + 1 + i });
});

/** Headers an app may not set (drachtio's m_setImmutableHdrs). */
const IMMUTABLE = new Set(['via', 'route', 'rseq', 'record_route', 'content_length']);

/** drachtio's key for a header name an app wrote: `WWW-Authenticate` → `www_authenticate`. */
export function drachtioKey(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
}

export function wellKnownHeader(key: string): WellKnownHeader | undefined {
  return WELL_KNOWN.get(key);
}

export function isImmutableHeader(key: string): boolean {
  return IMMUTABLE.has(key);
}

/** drachtio validates custom header names against the RFC 3261 token set. */
export function isValidHeaderName(name: string): boolean {
  return name.length > 0 && isToken(name);
}

/** Unknown header names are Capitalised-After-Dashes unless they start with X- (kept as given). */
export function capitaliseHeaderName(name: string): string {
  if (/^x-/i.test(name)) return name;
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-');
}

// ------------------------------------------------------------------------------------ value encoding

function formatList(value: string): string {
  return splitTopLevel(value, ',').map((item) => normaliseParams(item.split(';')).join(';')).filter(Boolean).join(', ');
}

function formatParams(value: string): string {
  return normaliseParams(splitTopLevel(value, ';')).join(';');
}

function formatAuthParams(value: string): string {
  return normaliseParams(splitTopLevel(value, ',')).join(', ');
}

function formatAuth(value: string): string {
  const m = /^\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+(.*)$/s.exec(value);
  if (!m) return value.trim();
  return `${m[1]} ${formatAuthParams(m[2])}`;
}

/** Encodes one header value the way sofia would after parsing it; addr-list values give several lines. */
export function formatHeaderValues(header: WellKnownHeader, value: string): string[] {
  switch (header.kind) {
    case 'addr':
      return [canonicalNameAddr(value)];
    case 'addr-list':
      return splitTopLevel(value, ',').filter((v) => v.trim()).map(canonicalNameAddr);
    case 'list':
      return [formatList(value)];
    case 'auth':
      return [formatAuth(value)];
    case 'auth-info':
      return [formatAuthParams(value)];
    case 'params':
      return [formatParams(value)];
    case 'cseq':
      return [value.trim().replace(/\s+/g, ' ')];
    case 'generic':
      return [value.trim()];
  }
}

// ------------------------------------------------------------------------------------ value parsing

/** One name-addr or addr-spec sofia can parse: a URI with a scheme (`*` only where a Contact allows it). */
function isParseableNameAddr(value: string, starAllowed: boolean): boolean {
  const na = parseNameAddr(value);
  if (!na) return false;
  return na.star ? starAllowed : hasUriScheme(na.uri);
}

/**
 * Whether sofia's parser accepts a value an app gave for a typed header. When it does not, sip_add_tl fails
 * and so does the response or request carrying it (nta_incoming_treply returns -1). Checked for the headers
 * whose syntax the stand-in knows: name-addrs and CSeq; other kinds are taken as sofia would re-encode them.
 * A folded value (`CSeq: 1\r\n REGISTER`) reaches here cut at its first line (`1`), which is how an app
 * copying a folded header from a request makes drachtio-server refuse its response.
 */
export function sofiaAccepts(header: WellKnownHeader, value: string): boolean {
  switch (header.kind) {
    case 'addr':
      return isParseableNameAddr(value, false);
    case 'addr-list':
      return splitTopLevel(value, ',').filter((v) => v.trim()).every((v) => isParseableNameAddr(v, header.key === 'contact'));
    case 'cseq':
      return parseCSeq(value) !== undefined;
    default:
      return true;
  }
}
