/**
 * SIP/SIPS URI parsing (RFC 3261 §19.1, §25.1) and the name-addr / addr-spec wrapper used by
 * To, From and Contact.
 *
 * The parser follows the RFC grammar for the user, password, host, port, parameters and headers.
 * That is what makes `sip:john@jambonz.org@jambonz.org` fail (a second "@" fits nowhere), which
 * the registrar answers with 403 "Invalid address of record". Two tolerances are deliberate,
 * because drachtio-srf's parser (the reference) accepts them and devices send them: "_" in host
 * labels (container host names) and a top label starting with a digit as long as it is not
 * all digits.
 */
import { isIPv6 } from 'node:net';
import {
  HeaderParams,
  Parsed,
  fail,
  hasControlChar,
  isLinearWhitespace,
  ok,
  parseHeaderParams,
  readQuotedString,
  trimLws,
  unfold,
} from './header-tokens';

export type SipScheme = 'sip' | 'sips';
export type HostType = 'ipv4' | 'ipv6' | 'hostname';

export interface HostPort {
  /** As written; an IPv6 host keeps its brackets, e.g. `[2001:db8::1]`. */
  host: string;
  hostType: HostType;
  port?: number;
}

export interface SipUri extends HostPort {
  scheme: SipScheme;
  /** Still %-escaped, exactly as written: the AoR and Redis keys use this form. */
  user?: string;
  password?: string;
  /** Lower-cased names; a parameter without a value maps to null. */
  params: ReadonlyMap<string, string | null>;
  /** Lower-cased names, values still %-escaped. */
  headers: ReadonlyMap<string, string>;
}

const ESCAPED = '%[0-9A-Fa-f]{2}';
const UNRESERVED = "A-Za-z0-9\\-_.!~*'()";
const USER_RE = new RegExp(`^(?:[${UNRESERVED}&=+$,;?/]|${ESCAPED})+$`);
const PASSWORD_RE = new RegExp(`^(?:[${UNRESERVED}&=+$,]|${ESCAPED})*$`);
const PARAM_TEXT_RE = new RegExp(`^(?:[${UNRESERVED}\\[\\]/:&+$]|${ESCAPED})+$`);
const HEADER_NAME_RE = new RegExp(`^(?:[${UNRESERVED}\\[\\]/?:+$]|${ESCAPED})+$`);
const HEADER_VALUE_RE = new RegExp(`^(?:[${UNRESERVED}\\[\\]/?:+$]|${ESCAPED})*$`);
const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const DOTTED_QUAD_RE = /^(?:\d{1,3}\.){3}\d{1,3}$/;
const HOST_LABEL_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
const ALL_DIGITS_RE = /^\d+$/;
const MAX_HOSTNAME_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;

/**
 * True for a dotted-quad host such as `192.168.1.10`. This is the shape test the reference uses to
 * refuse REGISTERs whose Request-URI has an IP address instead of a SIP realm; it deliberately also
 * matches out-of-range octets like `999.1.1.1`, which are no domain name either.
 */
export function isIPv4Literal(host: string): boolean {
  return DOTTED_QUAD_RE.test(host);
}

function isValidIPv4(host: string): boolean {
  return isIPv4Literal(host) && host.split('.').every((octet) => Number(octet) <= 255);
}

export function parseSipUri(text: string): Parsed<SipUri> {
  if (typeof text !== 'string') return fail('URI is not a string');
  const uri = trimLws(text);
  if (uri.length === 0) return fail('empty URI');
  if (/\s/.test(uri) || hasControlChar(uri)) return fail('whitespace or control character in URI');

  const scheme = SCHEME_RE.exec(uri);
  if (!scheme) return fail('missing URI scheme');
  const schemeName = scheme[1].toLowerCase();
  if (schemeName !== 'sip' && schemeName !== 'sips') return fail(`unsupported URI scheme "${scheme[1]}"`);

  const rest = uri.slice(scheme[0].length);
  const at = rest.indexOf('@');
  const userinfo: Parsed<{ user?: string; password?: string }> = at >= 0 ? parseUserinfo(rest.slice(0, at)) : ok({});
  if (!userinfo.ok) return userinfo;
  const afterUserinfo = at >= 0 ? rest.slice(at + 1) : rest;
  // "@" is legal neither in a host nor in parameters or headers (there it must be %40)
  if (afterUserinfo.includes('@')) return fail('more than one "@" in URI');

  const { hostport, paramText, headerText } = splitHostportParamsHeaders(afterUserinfo);
  const host = parseHostPort(hostport);
  if (!host.ok) return host;
  const params = parseUriParams(paramText);
  if (!params.ok) return params;
  const headers = parseUriHeaders(headerText);
  if (!headers.ok) return headers;

  // Built field by field rather than by spreading: this runs several times per REGISTER.
  const parsed: SipUri = { scheme: schemeName, host: host.value.host, hostType: host.value.hostType, params: params.value, headers: headers.value };
  if (userinfo.value.user !== undefined) parsed.user = userinfo.value.user;
  if (userinfo.value.password !== undefined) parsed.password = userinfo.value.password;
  if (host.value.port !== undefined) parsed.port = host.value.port;
  return ok(parsed);
}

function parseUserinfo(text: string): Parsed<{ user?: string; password?: string }> {
  const colon = text.indexOf(':');
  const user = colon >= 0 ? text.slice(0, colon) : text;
  if (!USER_RE.test(user)) return fail(user ? `invalid user part "${user}"` : 'empty user part');
  if (colon < 0) return ok({ user });
  const password = text.slice(colon + 1);
  if (!PASSWORD_RE.test(password)) return fail('invalid password in URI');
  return ok({ user, password });
}

/** Parameters start at the first ";", headers at the first "?"; neither may appear in a host. */
function splitHostportParamsHeaders(text: string): { hostport: string; paramText: string; headerText?: string } {
  const question = text.indexOf('?');
  const beforeHeaders = question >= 0 ? text.slice(0, question) : text;
  const headerText = question >= 0 ? text.slice(question + 1) : undefined;
  const semicolon = beforeHeaders.indexOf(';');
  if (semicolon < 0) return { hostport: beforeHeaders, paramText: '', headerText };
  return { hostport: beforeHeaders.slice(0, semicolon), paramText: beforeHeaders.slice(semicolon), headerText };
}

/** Parses `host[:port]` where host is a hostname, an IPv4 address or a bracketed IPv6 reference. */
export function parseHostPort(text: string): Parsed<HostPort> {
  if (text.startsWith('[')) return parseIPv6HostPort(text);
  const parts = text.split(':');
  if (parts.length > 2) return fail(`invalid host "${text}"`);
  const host = parts[0];
  const hostType = classifyHost(host);
  if (!hostType.ok) return hostType;
  return withPort({ host, hostType: hostType.value }, parts[1]);
}

function parseIPv6HostPort(text: string): Parsed<HostPort> {
  const close = text.indexOf(']');
  if (close < 0) return fail('unterminated IPv6 reference');
  const address = text.slice(1, close);
  // isIPv6 accepts zone ids ("%eth0"), which a SIP URI cannot carry
  if (address.includes('%') || !isIPv6(address)) return fail(`invalid IPv6 address "${address}"`);
  const host = text.slice(0, close + 1);
  const rest = text.slice(close + 1);
  if (rest === '') return ok({ host, hostType: 'ipv6' });
  if (!rest.startsWith(':')) return fail(`unexpected text after IPv6 reference "${rest}"`);
  return withPort({ host, hostType: 'ipv6' }, rest.slice(1));
}

function withPort(host: HostPort, portText: string | undefined): Parsed<HostPort> {
  if (portText === undefined) return ok(host);
  const port = parsePort(portText);
  if (port === undefined) return fail(`invalid port "${portText}"`);
  host.port = port;
  return ok(host);
}

export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function classifyHost(host: string): Parsed<HostType> {
  if (host === '') return fail('missing host');
  if (isIPv4Literal(host)) return isValidIPv4(host) ? ok('ipv4') : fail(`invalid IPv4 address "${host}"`);
  return isValidHostname(host) ? ok('hostname') : fail(`invalid host "${host}"`);
}

function isValidHostname(host: string): boolean {
  if (host.length > MAX_HOSTNAME_LENGTH) return false;
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  const validLabels = labels.every((label) => label.length <= MAX_LABEL_LENGTH && HOST_LABEL_RE.test(label));
  // an all-digit top label would make "1.2.3" or "1.2.3.4.5" a "hostname"
  return validLabels && !ALL_DIGITS_RE.test(labels[labels.length - 1]);
}

function parseUriParams(text: string): Parsed<ReadonlyMap<string, string | null>> {
  const params = new Map<string, string | null>();
  if (text === '') return ok(params);
  for (const item of text.slice(1).split(';')) {
    const eq = item.indexOf('=');
    const name = eq >= 0 ? item.slice(0, eq) : item;
    const value = eq >= 0 ? item.slice(eq + 1) : null;
    if (!PARAM_TEXT_RE.test(name)) return fail(name ? `invalid URI parameter "${name}"` : 'empty URI parameter');
    if (value !== null && !PARAM_TEXT_RE.test(value)) return fail(`invalid value for URI parameter "${name}"`);
    const key = name.toLowerCase();
    if (params.has(key)) return fail(`duplicate URI parameter "${key}"`);
    params.set(key, value);
  }
  return ok(params);
}

function parseUriHeaders(text: string | undefined): Parsed<ReadonlyMap<string, string>> {
  const headers = new Map<string, string>();
  if (text === undefined) return ok(headers);
  for (const item of text.split('&')) {
    const eq = item.indexOf('=');
    if (eq < 0) return fail(`URI header without "=": "${item}"`);
    const name = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (!HEADER_NAME_RE.test(name) || !HEADER_VALUE_RE.test(value)) return fail(`invalid URI header "${item}"`);
    headers.set(name.toLowerCase(), value);
  }
  return ok(headers);
}

/**
 * The address-of-record key the registrar uses: `user@host`, without scheme, port or parameters.
 * Undefined when the URI does not parse or has no user part (the reference would build the string
 * "undefined@host" there; callers should reject instead).
 */
export function aorFromUri(uri: SipUri | string): string | undefined {
  const parsed = typeof uri === 'string' ? parseSipUri(uri) : ok(uri);
  if (!parsed.ok || parsed.value.user === undefined) return undefined;
  return `${parsed.value.user}@${parsed.value.host}`;
}

export interface NameAddr {
  displayName?: string;
  /** The URI text, not yet parsed, so that tel: or odd Contact URIs can still be carried. */
  uri: string;
  /** Header parameters after the address (tag, expires, +sip.instance, ...). */
  params: HeaderParams;
  /** True when the URI was written inside `<...>`. */
  bracketed: boolean;
}

/**
 * Parses one name-addr (`"Alice" <sip:a@b>;tag=x`) or addr-spec (`sip:a@b;tag=x`) element. In the
 * addr-spec form every ";" starts a header parameter, as RFC 3261 §20 requires; a URI that has its
 * own parameters must be written in angle brackets.
 */
export function parseNameAddr(value: string): Parsed<NameAddr> {
  if (typeof value !== 'string') return fail('header value is not a string');
  const unfolded = unfold(value);
  if (hasControlChar(unfolded)) return fail('control character in header value');
  const text = trimLws(unfolded);
  if (text === '') return fail('empty address');
  if (text.startsWith('"')) return parseQuotedNameAddr(text);
  const lt = text.indexOf('<');
  if (lt >= 0) return parseBracketedAddress(text, lt, unquotedDisplayName(text.slice(0, lt)));
  return parseAddrSpec(text);
}

function parseQuotedNameAddr(text: string): Parsed<NameAddr> {
  const quoted = readQuotedString(text, 0);
  if (!quoted.ok) return quoted;
  let lt = quoted.value.end;
  while (isLinearWhitespace(text[lt])) lt++;
  if (text[lt] !== '<') return fail('expected "<" after display name');
  return parseBracketedAddress(text, lt, ok(quoted.value.value));
}

/** Unquoted display names are tokens separated by whitespace; non-ASCII letters are tolerated. */
function unquotedDisplayName(text: string): Parsed<string | undefined> {
  const name = trimLws(text);
  if (name === '') return ok(undefined);
  if (!/^[A-Za-z0-9\-.!%*_+`'~ \t\u0080-\uFFFF]+$/.test(name)) return fail(`invalid display name "${name}"`);
  return ok(name);
}

function parseBracketedAddress(text: string, lt: number, displayName: Parsed<string | undefined>): Parsed<NameAddr> {
  if (!displayName.ok) return displayName;
  const gt = text.indexOf('>', lt + 1);
  if (gt < 0) return fail('unterminated "<" in address');
  const uri = text.slice(lt + 1, gt);
  if (uri === '' || uri.includes('<')) return fail('invalid URI inside "<>"');
  const params = parseHeaderParams(text.slice(gt + 1));
  if (!params.ok) return params;
  const result: NameAddr = { uri, params: params.value, bracketed: true };
  if (displayName.value !== undefined) result.displayName = displayName.value;
  return ok(result);
}

function parseAddrSpec(text: string): Parsed<NameAddr> {
  const semicolon = text.indexOf(';');
  const uri = trimLws(semicolon >= 0 ? text.slice(0, semicolon) : text);
  if (uri === '' || /[\s">]/.test(uri)) return fail('invalid address');
  const params = parseHeaderParams(semicolon >= 0 ? text.slice(semicolon) : '');
  if (!params.ok) return params;
  return ok({ uri, params: params.value, bracketed: false });
}

/** The URI text of a To/From/Contact-style header value, or undefined when it does not parse. */
export function uriFromHeaderValue(value: string): string | undefined {
  const nameAddr = parseNameAddr(value);
  return nameAddr.ok ? nameAddr.value.uri : undefined;
}

/** Parses the SIP URI carried by a To/From-style header value (name-addr or addr-spec). */
export function parseHeaderUri(value: string): Parsed<SipUri> {
  const nameAddr = parseNameAddr(value);
  return nameAddr.ok ? parseSipUri(nameAddr.value.uri) : nameAddr;
}
