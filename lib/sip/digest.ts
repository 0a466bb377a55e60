/**
 * SIP digest authentication (RFC 3261 §22.4, RFC 7616 algorithms and qop, RFC 8760 for SHA-2 in SIP).
 *
 * Server side: parse the device's Authorization header, build the 401 challenge, and check a
 * response against a known password. Client side (outbound carrier registration): parse a
 * WWW-/Proxy-Authenticate challenge and build the Authorization value that answers it.
 *
 * Nonce creation and validation live elsewhere; here a nonce is just an opaque string.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Parsed, fail, hasControlChar, isLinearWhitespace, ok, readQuotedString, skipLws, unfold } from './header-tokens';
import { RandomPool } from './random-pool';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';
export type DigestQop = 'auth' | 'auth-int';

/** Thrown by the builders and computeResponse when their (trusted, local) input cannot be encoded. */
export class DigestInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestInputError';
  }
}

const ALGORITHMS: ReadonlyMap<string, DigestAlgorithm> = new Map<string, DigestAlgorithm>([
  ['md5', 'MD5'],
  ['md5-sess', 'MD5-sess'],
  ['sha-256', 'SHA-256'],
  ['sha-256-sess', 'SHA-256-sess'],
  ['sha-512-256', 'SHA-512-256'],
  ['sha-512-256-sess', 'SHA-512-256-sess'],
]);

/** Canonical spelling of an algorithm name (case-insensitive); absent means MD5 (RFC 7616 §3.3). */
export function normalizeAlgorithm(raw: string | undefined): DigestAlgorithm | undefined {
  if (raw === undefined) return 'MD5';
  return ALGORITHMS.get(raw.toLowerCase());
}

function hashFunctionName(algorithm: DigestAlgorithm): string {
  if (algorithm.startsWith('SHA-512-256')) return 'sha512-256';
  return algorithm.startsWith('SHA-256') ? 'sha256' : 'md5';
}

function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith('-sess');
}

/* ------------------------------------------------------------------------------------------------
 * auth-param scanning, shared by Authorization and WWW-Authenticate
 * ---------------------------------------------------------------------------------------------- */

interface AuthParam {
  name: string;
  value: string;
}

interface AuthElement {
  scheme: string;
  params: AuthParam[];
}

/** RFC 7230 tchar, the character set of auth-scheme and auth-param names. */
function isTokenChar(ch: string): boolean {
  return /^[A-Za-z0-9!#$%&'*+\-.^_`|~]$/.test(ch);
}

function readToken(text: string, start: number): number {
  let pos = start;
  while (pos < text.length && isTokenChar(text[pos])) pos++;
  return pos;
}

/**
 * Splits `Scheme a=b, c="d", Scheme2 e=f` into schemes and their parameters. A token that is not
 * followed by "=" starts a new scheme, which is how several challenges joined into one header
 * value are told apart. Values are quoted strings (escapes undone) or bare runs of non-blank,
 * non-comma characters: devices send `uri=sip:x` and `nc=00000001` unquoted.
 */
function scanAuthElements(text: string): Parsed<AuthElement[]> {
  const elements: AuthElement[] = [];
  let current: AuthElement | undefined;
  let pos = skipSeparators(text, 0);
  while (pos < text.length) {
    const nameEnd = readToken(text, pos);
    if (nameEnd === pos) return fail(`unexpected "${text[pos]}" at offset ${pos}`);
    const name = text.slice(pos, nameEnd);
    const afterName = skipLws(text, nameEnd);
    if (text[afterName] === '=') {
      if (!current) return fail('parameter before the authentication scheme');
      const value = readAuthValue(text, skipLws(text, afterName + 1));
      if (!value.ok) return value;
      current.params.push({ name: name.toLowerCase(), value: value.value.value });
      const next = afterParam(text, value.value.end);
      if (!next.ok) return next;
      pos = next.value;
      continue;
    }
    current = { scheme: name, params: [] };
    elements.push(current);
    if (afterName < text.length && afterName === nameEnd && text[afterName] !== ',') {
      return fail(`unexpected "${text[afterName]}" after scheme "${name}"`);
    }
    pos = skipSeparators(text, afterName);
  }
  return ok(elements);
}

function readAuthValue(text: string, start: number): Parsed<{ value: string; end: number }> {
  if (text[start] === '"') return readQuotedString(text, start);
  let end = start;
  while (end < text.length && text[end] !== ',' && text[end] !== '"' && !isLinearWhitespace(text[end])) end++;
  if (text[end] === '"') return fail('stray quote in parameter value');
  if (end === start) return fail('empty parameter value');
  return ok({ value: text.slice(start, end), end });
}

/** After a value only blanks and then a comma (or the end) may follow. */
function afterParam(text: string, end: number): Parsed<number> {
  const pos = skipLws(text, end);
  if (pos >= text.length) return ok(pos);
  if (text[pos] !== ',') return fail(`expected "," at offset ${pos}`);
  return ok(skipSeparators(text, pos));
}

function skipSeparators(text: string, start: number): number {
  let pos = start;
  while (pos < text.length && (text[pos] === ',' || isLinearWhitespace(text[pos]))) pos++;
  return pos;
}

/* ------------------------------------------------------------------------------------------------
 * Server side: Authorization
 * ---------------------------------------------------------------------------------------------- */

/**
 * The parsed Authorization header. Field names, their order and the optional fields' absence match
 * what the reference forwards to registration hooks, so the object can be spread into the payload.
 */
export interface DigestCredentials {
  scheme: 'digest';
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  /** As sent (default `MD5`); see normalizeAlgorithm. Unknown names are kept for the hook to judge. */
  algorithm: string;
  response: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
}

type CredentialField = 'username' | 'realm' | 'nonce' | 'uri' | 'response' | 'algorithm' | 'qop' | 'nc' | 'cnonce' | 'opaque';
const CREDENTIAL_FIELDS: readonly CredentialField[] = [
  'username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'qop', 'nc', 'cnonce', 'opaque',
];
const REQUIRED_FIELDS: readonly CredentialField[] = ['username', 'realm', 'nonce', 'uri', 'response'];

function isCredentialField(name: string): name is CredentialField {
  return (CREDENTIAL_FIELDS as readonly string[]).includes(name);
}

/**
 * parseAuthorization's answer. `otherScheme` is set when the value holds no Digest credentials at all but
 * a scheme we do not know (RFC 4475 §3.3.7 `NoOneKnowsThisScheme opaque-data=here`): a registrar treats
 * that as no credentials and challenges. Without it the failure is a malformed header.
 */
export type AuthorizationParse = { ok: true; value: DigestCredentials } | { ok: false; reason: string; otherScheme?: string };

/**
 * Parses an Authorization (or Proxy-Authorization) header value. Any problem, including a missing
 * username/realm/nonce/uri/response, a repeated field, bad quoting or a non-Digest scheme, gives
 * an error result. (The reference throws and answers 500; spec §14 item 6 wants 400/403.)
 * When qop is present, nc (8 hex digits) and cnonce are required, as RFC 7616 §3.4 demands.
 */
export function parseAuthorization(value: string): AuthorizationParse {
  if (typeof value !== 'string') return fail('Authorization is not a string');
  const headerValue = unfold(value);
  if (hasControlChar(headerValue)) return fail('control character in Authorization');
  const scanned = scanAuthElements(headerValue);
  if (!scanned.ok) return notDigest(leadingScheme(headerValue)) ?? scanned;
  const [element] = scanned.value;
  if (!element) return fail('empty Authorization');
  if (!scanned.value.some((e) => isDigest(e.scheme))) return notDigest(element.scheme) ?? fail('no Digest credentials');
  if (scanned.value.length > 1) return fail('more than one credential');

  const fields = collectCredentialFields(element.params);
  if (!fields.ok) return fields;
  const values = fields.value;
  for (const name of REQUIRED_FIELDS) {
    if (!values.get(name)) return fail(`missing ${name}`);
  }
  const qopCheck = checkQopCompanions(values);
  if (!qopCheck.ok) return qopCheck;
  return ok(toCredentials(values));
}

function isDigest(scheme: string): boolean {
  return scheme.toLowerCase() === 'digest';
}

/** The auth-scheme token a value starts with, if any. */
function leadingScheme(text: string): string | undefined {
  const start = skipLws(text, 0);
  const end = readToken(text, start);
  return end > start && (end === text.length || isLinearWhitespace(text[end])) ? text.slice(start, end) : undefined;
}

/** A scheme other than Digest, reported as such; undefined for Digest or no scheme. */
function notDigest(scheme: string | undefined): AuthorizationParse | undefined {
  if (scheme === undefined || isDigest(scheme)) return undefined;
  return { ok: false, reason: `unsupported authentication scheme "${scheme}"`, otherScheme: scheme };
}

function collectCredentialFields(params: readonly AuthParam[]): Parsed<Map<CredentialField, string>> {
  const values = new Map<CredentialField, string>();
  for (const { name, value } of params) {
    if (!isCredentialField(name)) continue; // unknown auth-params are allowed and ignored
    if (values.has(name)) return fail(`duplicate ${name}`);
    values.set(name, value);
  }
  return ok(values);
}

function checkQopCompanions(values: ReadonlyMap<CredentialField, string>): Parsed<true> {
  if (!values.has('qop')) return ok(true);
  const nc = values.get('nc');
  if (!nc) return fail('qop without nc');
  if (!/^[0-9A-Fa-f]{8}$/.test(nc)) return fail(`invalid nc "${nc}"`);
  if (!values.get('cnonce')) return fail('qop without cnonce');
  return ok(true);
}

function toCredentials(values: ReadonlyMap<CredentialField, string>): DigestCredentials {
  const credentials: DigestCredentials = {
    scheme: 'digest',
    username: values.get('username') ?? '',
    realm: values.get('realm') ?? '',
    nonce: values.get('nonce') ?? '',
    uri: values.get('uri') ?? '',
    algorithm: values.get('algorithm') || 'MD5',
    response: values.get('response') ?? '',
  };
  for (const name of ['qop', 'nc', 'cnonce', 'opaque'] as const) {
    const value = values.get(name);
    if (value !== undefined) credentials[name] = value;
  }
  return credentials;
}

/* ------------------------------------------------------------------------------------------------
 * Server side: challenge
 * ---------------------------------------------------------------------------------------------- */

export interface ChallengeOptions {
  realm: string;
  nonce: string;
  /** Default MD5, the only algorithm the reference offers. */
  algorithm?: DigestAlgorithm;
  /** Default `auth`; an empty list leaves qop out (RFC 2069 style). */
  qop?: DigestQop | readonly DigestQop[];
  opaque?: string;
  /** Sent as `stale=true` when true; never sent as false. */
  stale?: boolean;
}

/**
 * A WWW-Authenticate value. With the defaults it is byte-for-byte the reference's challenge:
 * `Digest realm="<realm>", algorithm=MD5, qop="auth", nonce="<nonce>"`.
 */
export function buildChallenge(options: ChallengeOptions): string {
  const qop = options.qop === undefined ? ['auth'] : typeof options.qop === 'string' ? [options.qop] : options.qop;
  const parts = [`realm=${quote(options.realm)}`, `algorithm=${options.algorithm ?? 'MD5'}`];
  if (qop.length > 0) parts.push(`qop=${quote(qop.join(','))}`);
  parts.push(`nonce=${quote(options.nonce)}`);
  if (options.opaque !== undefined) parts.push(`opaque=${quote(options.opaque)}`);
  if (options.stale) parts.push('stale=true');
  return `Digest ${parts.join(', ')}`;
}

/** quoted-string encoding; line breaks and other controls cannot be represented and are refused. */
function quote(value: string): string {
  if (hasControlChar(value)) throw new DigestInputError('control character in a digest parameter');
  return `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/* ------------------------------------------------------------------------------------------------
 * Response computation and verification
 * ---------------------------------------------------------------------------------------------- */

export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  /** Required with qop. A number is written as 8 hex digits. */
  nc?: string | number;
  /** Required with qop and with the -sess algorithms. */
  cnonce?: string;
  qop?: DigestQop;
  /** Message body for qop=auth-int; REGISTER has none, so it defaults to empty. */
  body?: string;
}

/**
 * The request-digest of RFC 7616 §3.4.1 (RFC 2069 form when qop is absent), lower-case hex:
 *   HA1 = H(username:realm:password)          (-sess: H(H(username:realm:password):nonce:cnonce))
 *   HA2 = H(method:uri)                        (auth-int: H(method:uri:H(body)))
 *   response = H(HA1:nonce:nc:cnonce:qop:HA2)  or, without qop, H(HA1:nonce:HA2)
 * For MD5 with qop=auth, or without qop and cnonce, this equals the reference's local check
 * (spec §3.9 step 3). Throws DigestInputError when qop or -sess lacks its cnonce/nc.
 */
export function computeResponse(input: DigestResponseInput): string {
  const hash = hasher(input.algorithm);
  const ha1 = sessionKey(input, hash(`${input.username}:${input.realm}:${input.password}`), hash);
  const a2 = input.qop === 'auth-int' ? `${input.method}:${input.uri}:${hash(input.body ?? '')}` : `${input.method}:${input.uri}`;
  const ha2 = hash(a2);
  if (input.qop === undefined) return hash(`${ha1}:${input.nonce}:${ha2}`);
  if (input.nc === undefined || !input.cnonce) throw new DigestInputError('qop requires nc and cnonce');
  return hash(`${ha1}:${input.nonce}:${formatNonceCount(input.nc)}:${input.cnonce}:${input.qop}:${ha2}`);
}

function hasher(algorithm: DigestAlgorithm): (text: string) => string {
  const name = hashFunctionName(algorithm);
  return (text) => createHash(name).update(text, 'utf8').digest('hex');
}

function sessionKey(input: DigestResponseInput, ha1: string, hash: (text: string) => string): string {
  if (!isSessionAlgorithm(input.algorithm)) return ha1;
  if (!input.cnonce) throw new DigestInputError(`${input.algorithm} requires a cnonce`);
  return hash(`${ha1}:${input.nonce}:${input.cnonce}`);
}

/** nc as 8 hex digits; numbers must be 1..2^32-1. */
export function formatNonceCount(nc: string | number): string {
  if (typeof nc === 'string') {
    if (!/^[0-9A-Fa-f]{8}$/.test(nc)) throw new DigestInputError(`invalid nc "${nc}"`);
    return nc;
  }
  if (!Number.isInteger(nc) || nc < 1 || nc > 0xffffffff) throw new DigestInputError(`invalid nc ${nc}`);
  return nc.toString(16).padStart(8, '0');
}

export interface VerifyOptions {
  password: string;
  method: string;
  body?: string;
}

/**
 * True when the credentials' response matches the password. Unknown algorithms, unknown qop values
 * and inconsistent fields give false, never an exception. The comparison is timing-safe. Realm,
 * nonce freshness and the digest uri are the caller's to check.
 */
export function verifyResponse(credentials: DigestCredentials, options: VerifyOptions): boolean {
  const algorithm = normalizeAlgorithm(credentials.algorithm);
  if (!algorithm) return false;
  const qop = credentials.qop;
  if (qop !== undefined && qop !== 'auth' && qop !== 'auth-int') return false;
  let expected: string;
  try {
    expected = computeResponse({ ...credentials, ...options, algorithm, qop });
  } catch {
    return false;
  }
  return timingSafeEqualText(expected, credentials.response.toLowerCase());
}

function timingSafeEqualText(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  // the expected length is public (it follows from the algorithm), so an early exit leaks nothing
  return a.length === b.length && timingSafeEqual(a, b);
}

/* ------------------------------------------------------------------------------------------------
 * Client side: answering a challenge
 * ---------------------------------------------------------------------------------------------- */

export interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  /** The qop we will answer with: `auth` when offered, else `auth-int`; undefined when none offered. */
  qop?: DigestQop;
  /** Every qop value the server listed. */
  qopOptions: string[];
  opaque?: string;
  stale: boolean;
  domain?: string;
}

/**
 * Parses the Digest challenges of one or more WWW-Authenticate/Proxy-Authenticate values, in order,
 * keeping those we can answer (supported algorithm, and qop auth or auth-int if qop is given).
 * Tolerant of bare or quoted values and of `"auth,auth-int"`-style qop lists; other schemes are
 * skipped. Fails when the text does not scan or no usable Digest challenge remains.
 */
export function parseChallenges(value: string | readonly string[]): Parsed<DigestChallenge[]> {
  const values = typeof value === 'string' ? [value] : value;
  const challenges: DigestChallenge[] = [];
  let firstProblem: string | undefined;
  for (const text of values) {
    if (typeof text !== 'string' || hasControlChar(text)) return fail('invalid challenge header');
    const scanned = scanAuthElements(text);
    if (!scanned.ok) return scanned;
    for (const element of scanned.value) {
      if (element.scheme.toLowerCase() !== 'digest') continue;
      const challenge = toChallenge(element.params);
      if (challenge.ok) challenges.push(challenge.value);
      else firstProblem ??= challenge.reason;
    }
  }
  if (challenges.length === 0) return fail(firstProblem ?? 'no Digest challenge');
  return ok(challenges);
}

/**
 * The challenge to answer: the first usable one, as RFC 8760 §2.4 asks (servers list their
 * preferred algorithm first).
 */
export function parseChallenge(value: string | readonly string[]): Parsed<DigestChallenge> {
  const challenges = parseChallenges(value);
  return challenges.ok ? ok(challenges.value[0]) : challenges;
}

function toChallenge(params: readonly AuthParam[]): Parsed<DigestChallenge> {
  const values = new Map<string, string>();
  for (const { name, value } of params) {
    if (values.has(name)) return fail(`duplicate ${name} in challenge`);
    values.set(name, value);
  }
  const realm = values.get('realm');
  const nonce = values.get('nonce');
  if (realm === undefined) return fail('challenge without realm');
  if (!nonce) return fail('challenge without nonce');
  const algorithm = normalizeAlgorithm(values.get('algorithm'));
  if (!algorithm) return fail(`unsupported algorithm "${values.get('algorithm') ?? ''}"`);
  const qopOptions = (values.get('qop') ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  const qop = pickQop(qopOptions);
  if (qopOptions.length > 0 && !qop) return fail(`unsupported qop "${values.get('qop') ?? ''}"`);

  const challenge: DigestChallenge = { realm, nonce, algorithm, qopOptions, stale: values.get('stale')?.toLowerCase() === 'true' };
  if (qop) challenge.qop = qop;
  const opaque = values.get('opaque');
  if (opaque !== undefined) challenge.opaque = opaque;
  const domain = values.get('domain');
  if (domain !== undefined) challenge.domain = domain;
  return ok(challenge);
}

function pickQop(options: readonly string[]): DigestQop | undefined {
  const lower = options.map((option) => option.toLowerCase());
  if (lower.includes('auth')) return 'auth';
  return lower.includes('auth-int') ? 'auth-int' : undefined;
}

export interface AuthorizationInput {
  challenge: DigestChallenge;
  username: string;
  password: string;
  method: string;
  /** The digest-uri: the Request-URI of the request being authenticated. */
  uri: string;
  /** Always supply one (see randomCnonce); it is only sent when qop or a -sess algorithm needs it. */
  cnonce: string;
  /** Nonce count for this nonce, default 1. */
  nc?: number;
  body?: string;
}

/**
 * The Authorization/Proxy-Authorization value answering `challenge`, e.g.
 * `Digest username="alice", realm="sipp.test", nonce="…", uri="sip:sipp.test", response="…",
 * algorithm=MD5, qop=auth, nc=00000001, cnonce="…", opaque="…"`.
 */
export function buildAuthorization(input: AuthorizationInput): string {
  const { challenge } = input;
  const nc = formatNonceCount(input.nc ?? 1);
  const needsCnonce = challenge.qop !== undefined || isSessionAlgorithm(challenge.algorithm);
  const response = computeResponse({
    algorithm: challenge.algorithm,
    username: input.username,
    realm: challenge.realm,
    password: input.password,
    method: input.method,
    uri: input.uri,
    nonce: challenge.nonce,
    qop: challenge.qop,
    nc,
    cnonce: input.cnonce,
    body: input.body,
  });
  const parts = [
    `username=${quote(input.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(input.uri)}`,
    `response=${quote(response)}`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (challenge.qop) parts.push(`qop=${challenge.qop}`, `nc=${nc}`);
  if (needsCnonce) parts.push(`cnonce=${quote(input.cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

/** A fresh client nonce (16 hex characters). The one impure helper here: it reads the CSPRNG. */
const cnonces = new RandomPool();

export function randomCnonce(): string {
  return cnonces.hex(8);
}
