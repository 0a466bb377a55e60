/**
 * Parsing and canonical formatting of the SIP header values the stand-in has to understand:
 * name-addr (From/To/Contact...), Via, CSeq and SIP URIs. "Canonical" means the way sofia-sip encodes a
 * header it has parsed (e.g. a bare `sip:a@b;x=y` To becomes `<sip:a@b>;x=y`).
 */

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/**
 * Splits on `separator` outside double quotes and angle brackets. Backslash escapes inside quotes are
 * honoured. Parts are returned untrimmed.
 */
export function splitTopLevel(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let inQuotes = false;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (inQuotes && ch === '\\' && i + 1 < value.length) {
      current += ch + value[++i];
      continue;
    }
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && ch === '<') angle++;
    else if (!inQuotes && ch === '>' && angle > 0) angle--;
    else if (!inQuotes && angle === 0 && ch === separator) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

/** `name = value` → `name=value`, as sofia stores parameters; empty parameters are dropped. */
export function normaliseParams(params: string[]): string[] {
  return params
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? p : `${p.slice(0, eq).trim()}=${p.slice(eq + 1).trim()}`;
    });
}

/** Value of `name` in a parameter list: undefined when absent, '' for a flag parameter. */
export function getParam(params: string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (key === lower) return eq < 0 ? '' : p.slice(eq + 1).trim();
  }
  return undefined;
}

/** Replaces `name` in place when present (sofia's msg_header_replace_param), else appends it. */
export function replaceParam(params: string[], name: string, value?: string): string[] {
  const text = value === undefined ? name : `${name}=${value}`;
  const lower = name.toLowerCase();
  const index = params.findIndex((p) => p.split('=')[0].trim().toLowerCase() === lower);
  const copy = params.slice();
  if (index >= 0) copy[index] = text;
  else copy.push(text);
  return copy;
}

export function removeParam(params: string[], name: string): string[] {
  const lower = name.toLowerCase();
  return params.filter((p) => p.split('=')[0].trim().toLowerCase() !== lower);
}

// ---------------------------------------------------------------------------------------------- URIs

export interface SipUri {
  scheme: string;
  user?: string;
  host: string;
  port?: number;
  /** URI parameters, `name[=value]`. */
  params: string[];
}

const SIP_URI = /^(sips?):(?:([^@]*)@)?(\[[0-9A-Fa-f:.]+\]|[^:;?@[\]\s]+)(?::(\d{1,5}))?((?:;[^?]*)?)(?:\?.*)?$/i;

/** Parses a sip: or sips: URI; anything else (or a URI without host) gives undefined. */
export function parseSipUri(text: string): SipUri | undefined {
  const m = SIP_URI.exec(text.trim());
  if (!m) return undefined;
  const params = m[5] ? normaliseParams(m[5].split(';')) : [];
  return {
    scheme: m[1].toLowerCase(),
    user: m[2],
    host: m[3],
    port: m[4] === undefined ? undefined : Number(m[4]),
    params,
  };
}

/** True when the text starts with a URI scheme (`scheme ":"`, RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )). */
export function hasUriScheme(uri: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri.trim());
}

// ----------------------------------------------------------------------------------------- name-addr

export interface NameAddr {
  /** Display name exactly as written (quoted string or tokens), if any. */
  display?: string;
  uri: string;
  /** Header parameters (tag, expires, ...), normalised `name=value`. */
  params: string[];
  /** True for `Contact: *`. */
  star: boolean;
}

/** Parses one name-addr / addr-spec value. In the addr-spec form every `;param` is a header parameter. */
export function parseNameAddr(value: string): NameAddr | undefined {
  const text = value.trim();
  if (text === '*') return { uri: '*', params: [], star: true };
  const open = indexOutsideQuotes(text, '<');
  if (open >= 0) {
    const close = text.indexOf('>', open);
    if (close < 0) return undefined;
    const display = text.slice(0, open).trim();
    const uri = text.slice(open + 1, close).trim();
    if (!uri) return undefined;
    const params = normaliseParams(splitTopLevel(text.slice(close + 1), ';'));
    return { display: display || undefined, uri, params, star: false };
  }
  const [uri, ...rest] = splitTopLevel(text, ';');
  if (!uri.trim() || /\s/.test(uri.trim())) return undefined;
  return { uri: uri.trim(), params: normaliseParams(rest), star: false };
}

function indexOutsideQuotes(text: string, ch: string): number {
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    if (inQuotes && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === '"') inQuotes = !inQuotes;
    else if (!inQuotes && text[i] === ch) return i;
  }
  return -1;
}

/** sofia's canonical encoding: the URI is always bracketed. */
export function formatNameAddr(na: NameAddr): string {
  if (na.star) return '*';
  const display = na.display ? `${na.display} ` : '';
  return `${display}<${na.uri}>${na.params.map((p) => `;${p}`).join('')}`;
}

/** Reformats a name-addr value canonically; an unparseable value is returned trimmed. */
export function canonicalNameAddr(value: string): string {
  const na = parseNameAddr(value);
  return na ? formatNameAddr(na) : value.trim();
}

export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const na = parseNameAddr(value);
  const tag = na ? getParam(na.params, 'tag') : undefined;
  return tag ? tag : undefined;
}

// ----------------------------------------------------------------------------------------------- Via

export interface Via {
  /** `SIP/2.0/UDP` (protocol name and version upper-cased, as sofia matches them). */
  protocol: string;
  transport: string;
  host: string;
  port?: string;
  params: string[];
}

const VIA = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+(\[[0-9A-Fa-f:.]+\]|[^\s:;]+)(?:\s*:\s*(\d{1,5}))?\s*(.*)$/i;

export function parseVia(value: string): Via | undefined {
  const m = VIA.exec(value.trim());
  if (!m) return undefined;
  const rest = m[4].replace(/\(.*\)\s*$/, '').trim();
  if (rest && !rest.startsWith(';')) return undefined;
  const transport = m[1].toUpperCase();
  return {
    protocol: `SIP/2.0/${transport}`,
    transport,
    host: m[2],
    port: m[3],
    params: normaliseParams(splitTopLevel(rest, ';')),
  };
}

export function formatVia(via: Via): string {
  const port = via.port ? `:${via.port}` : '';
  return `${via.protocol} ${via.host}${port}${via.params.map((p) => `;${p}`).join('')}`;
}

// ---------------------------------------------------------------------------------------------- CSeq

export interface CSeq {
  seq: number;
  method: string;
}

export function parseCSeq(value: string | undefined): CSeq | undefined {
  const m = /^\s*(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)\s*$/.exec(value ?? '');
  if (!m) return undefined;
  const seq = Number(m[1]);
  return seq <= 0xffffffff ? { seq, method: m[2] } : undefined;
}

/** Replaces `@localhost[:port]` in a From/To/Contact value with the transport's host:port (drachtio's makeTags). */
export function replaceLocalhost(value: string, hostport: string): string {
  return value.replace(/@localhost(:\d+)?(?=[>;?\s]|$)/gi, `@${hostport}`);
}
