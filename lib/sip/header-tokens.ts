/**
 * Low-level scanning shared by the SIP header parsers (uri, contact, via, digest).
 *
 * Everything here works on header *values* as drachtio hands them to us, without the header name. They
 * may still be folded over several lines (drachtio-srf keeps a continuation line's CR LF in the value):
 * the public parsers unfold first. Parsers report problems through `Parsed` results instead of throwing,
 * because these values come straight off the network and a malformed header must end in a SIP error
 * response, not in the middleware's generic 500.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/**
 * CR, LF, NUL and the other C0 controls (HTAB excepted) never belong in an unfolded header value.
 * Rejecting them up front keeps injected line breaks out of anything we log, store or echo back.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHAR = /[\u0000-\u0008\u000A-\u001F\u007F]/;

export function hasControlChar(text: string): boolean {
  return CONTROL_CHAR.test(text);
}

/**
 * RFC 3261 §7.3.1: a line break followed by SP or HTAB continues the header value, and that linear white
 * space means one SP (blanks before the break are kept: they are LWS too, and a pattern taking them would
 * be quadratic on a long run of blanks). A line break not followed by white space is not folding and is
 * left for the parsers to refuse. Values without a line break (nearly all) are returned without a regex run.
 */
export function unfold(text: string): string {
  return text.indexOf('\n') < 0 ? text : text.replace(/\r?\n[ \t]+/g, ' ');
}

export function isLinearWhitespace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t';
}

/** Trims SP and HTAB only: String.prototype.trim would also swallow CR/LF and hide an injection. */
export function trimLws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isLinearWhitespace(text[start])) start++;
  while (end > start && isLinearWhitespace(text[end - 1])) end--;
  return text.slice(start, end);
}

/** RFC 3261 `token`. */
export const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

export function isToken(text: string): boolean {
  return TOKEN_RE.test(text);
}

export interface QuotedString {
  value: string;
  /** Index just past the closing quote. */
  end: number;
}

/**
 * Reads the quoted-string that starts at `text[start]` (which must be `"`), undoing quoted-pair
 * escapes. A backslash may escape any character except CR/LF (RFC 3261 quoted-pair).
 */
export function readQuotedString(text: string, start: number): Parsed<QuotedString> {
  if (text[start] !== '"') return fail('expected a quoted string');
  let value = '';
  let pos = start + 1;
  while (pos < text.length) {
    const ch = text[pos];
    if (ch === '"') return ok({ value, end: pos + 1 });
    if (ch === '\\') {
      const escaped = text[pos + 1];
      if (escaped === undefined) break;
      if (escaped === '\r' || escaped === '\n') return fail('line break inside quoted string');
      value += escaped;
      pos += 2;
      continue;
    }
    if (hasControlChar(ch)) return fail('control character inside quoted string');
    value += ch;
    pos++;
  }
  return fail('unterminated quoted string');
}

/**
 * Splits a comma-separated header value (Contact, Via, ...) into its elements. Commas inside
 * quoted strings and inside `<...>` do not split. Empty elements are dropped, as RFC 7230's
 * list rule allows. Unbalanced quotes or brackets are an error rather than a best guess.
 */
export function splitHeaderList(text: string): Parsed<string[]> {
  const parts: string[] = [];
  let partStart = 0;
  let pos = 0;
  let insideAngle = false;
  while (pos < text.length) {
    const ch = text[pos];
    if (insideAngle) {
      if (ch === '>') insideAngle = false;
      else if (ch === '<') return fail('nested "<" in header value');
      pos++;
      continue;
    }
    if (ch === '"') {
      const quoted = readQuotedString(text, pos);
      if (!quoted.ok) return quoted;
      pos = quoted.value.end;
      continue;
    }
    if (ch === '<') insideAngle = true;
    else if (ch === '>') return fail('unbalanced ">" in header value');
    else if (ch === ',') {
      parts.push(text.slice(partStart, pos));
      partStart = pos + 1;
    }
    pos++;
  }
  if (insideAngle) return fail('unterminated "<" in header value');
  parts.push(text.slice(partStart));
  return ok(parts.map(trimLws).filter((part) => part.length > 0));
}

/** Header values may arrive as one string or, for repeated headers, as several. */
export function splitHeaderValues(value: string | readonly string[]): Parsed<string[]> {
  const values = typeof value === 'string' ? [value] : value;
  const elements: string[] = [];
  for (const item of values) {
    if (typeof item !== 'string') return fail('header value is not a string');
    const text = unfold(item);
    if (hasControlChar(text)) return fail('control character in header value');
    const split = splitHeaderList(text);
    if (!split.ok) return split;
    elements.push(...split.value);
  }
  return ok(elements);
}

export type HeaderParams = ReadonlyMap<string, string | null>;

/**
 * Parses the `;name[=value]` parameters that follow a name-addr, addr-spec or Via sent-by.
 * Names are lower-cased (SIP parameter names are case-insensitive); values are returned
 * unquoted; a parameter without `=` maps to null. A repeated name is an error: with two
 * `expires` values there is no safe way to pick one.
 */
export function parseHeaderParams(text: string): Parsed<HeaderParams> {
  const params = new Map<string, string | null>();
  let pos = skipLws(text, 0);
  while (pos < text.length) {
    if (text[pos] !== ';') return fail(`unexpected "${text[pos]}" before parameter`);
    const param = readHeaderParam(text, skipLws(text, pos + 1));
    if (!param.ok) return param;
    const { name, value, end } = param.value;
    if (params.has(name)) return fail(`duplicate parameter "${name}"`);
    params.set(name, value);
    pos = skipLws(text, end);
  }
  return ok(params);
}

interface HeaderParam {
  name: string;
  value: string | null;
  end: number;
}

function readHeaderParam(text: string, start: number): Parsed<HeaderParam> {
  const nameEnd = scanWhile(text, start, (ch) => ch !== '=' && ch !== ';' && !isLinearWhitespace(ch));
  const name = text.slice(start, nameEnd);
  if (!name) return fail('empty parameter name');
  if (!isToken(name)) return fail(`invalid parameter name "${name}"`);
  let pos = skipLws(text, nameEnd);
  if (text[pos] !== '=') return ok({ name: name.toLowerCase(), value: null, end: nameEnd });
  pos = skipLws(text, pos + 1);
  const value = readParamValue(text, pos);
  if (!value.ok) return value;
  return ok({ name: name.toLowerCase(), value: value.value.value, end: value.value.end });
}

function readParamValue(text: string, start: number): Parsed<QuotedString> {
  if (text[start] === '"') return readQuotedString(text, start);
  const end = scanWhile(text, start, (ch) => ch !== ';' && ch !== '"' && !isLinearWhitespace(ch));
  if (end === start) return fail('empty parameter value');
  if (text[end] === '"') return fail('stray quote in parameter value');
  return ok({ value: text.slice(start, end), end });
}

export function skipLws(text: string, start: number): number {
  return scanWhile(text, start, isLinearWhitespace);
}

export function scanWhile(text: string, start: number, accept: (ch: string) => boolean): number {
  let pos = start;
  while (pos < text.length && accept(text[pos])) pos++;
  return pos;
}
