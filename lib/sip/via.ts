/**
 * Via header parsing (RFC 3261 §20.42, RFC 3581 rport). The registrar needs the top Via for the
 * transport the device used (stored as `protocol` in the registration record) and, for NAT
 * detection, its sent-by, received and rport.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { HeaderParams, Parsed, fail, ok, parseHeaderParams, splitHeaderValues, trimLws } from './header-tokens';
import { HostType, parseHostPort, parsePort } from './uri';

/** Same members as SipProtocol in ./hostports, declared here so this module stands alone. */
export type SipTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export interface Via {
  protocolName: string;
  protocolVersion: string;
  /** As sent, e.g. `UDP`, `WSS`, `TLS-SCTP`. */
  transport: string;
  /** sent-by host; IPv6 keeps its brackets. */
  host: string;
  hostType: HostType;
  port?: number;
  params: HeaderParams;
  branch?: string;
  /** The `received` address a previous hop (or drachtio) recorded. */
  received?: string;
  /** True when the `rport` parameter is present, with or without a value. */
  rportRequested: boolean;
  rport?: number;
}

const SENT_PROTOCOL_RE =
  /^([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*\/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*\/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+/;

/** Parses every Via element of one or more Via header values, top first. */
export function parseViaList(value: string | readonly string[]): Parsed<Via[]> {
  const elements = splitHeaderValues(value);
  if (!elements.ok) return elements;
  if (elements.value.length === 0) return fail('empty Via header');
  const vias: Via[] = [];
  for (const element of elements.value) {
    const via = parseViaElement(element);
    if (!via.ok) return via;
    vias.push(via.value);
  }
  return ok(vias);
}

/** The top (first) Via. Later elements are not examined, so damage further down does not matter. */
export function parseVia(value: string | readonly string[]): Parsed<Via> {
  const elements = splitHeaderValues(value);
  if (!elements.ok) return elements;
  const top = elements.value[0];
  return top === undefined ? fail('empty Via header') : parseViaElement(top);
}

function parseViaElement(element: string): Parsed<Via> {
  const protocol = SENT_PROTOCOL_RE.exec(element);
  if (!protocol) return fail(`invalid Via sent-protocol in "${element}"`);
  const rest = element.slice(protocol[0].length);
  const semicolon = rest.indexOf(';');
  const hostPort = parseHostPort(normalizeSentBy(semicolon >= 0 ? rest.slice(0, semicolon) : rest));
  if (!hostPort.ok) return fail(`invalid Via sent-by: ${hostPort.reason}`);
  const params = parseHeaderParams(semicolon >= 0 ? rest.slice(semicolon) : '');
  if (!params.ok) return params;

  const via: Via = {
    protocolName: protocol[1],
    protocolVersion: protocol[2],
    transport: protocol[3],
    ...hostPort.value,
    params: params.value,
    rportRequested: params.value.has('rport'),
  };
  return addWellKnownParams(via, params.value);
}

/** RFC 3261 allows blanks around the sent-by colon ("host : 5060"); drop them before parsing. */
function normalizeSentBy(text: string): string {
  const sentBy = trimLws(text);
  const colon = sentBy.lastIndexOf(':');
  if (colon < 0) return sentBy;
  const port = trimLws(sentBy.slice(colon + 1));
  if (!/^\d+$/.test(port)) return sentBy;
  return `${trimLws(sentBy.slice(0, colon))}:${port}`;
}

function addWellKnownParams(via: Via, params: HeaderParams): Parsed<Via> {
  const branch = params.get('branch');
  if (branch) via.branch = branch;
  const received = params.get('received');
  if (received !== undefined) {
    if (!received || !isIpAddress(received)) return fail(`invalid Via received "${received ?? ''}"`);
    via.received = received;
  }
  const rport = params.get('rport');
  if (rport) {
    const port = parsePort(rport);
    if (port === undefined) return fail(`invalid Via rport "${rport}"`);
    via.rport = port;
  }
  return ok(via);
}

function isIpAddress(text: string): boolean {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return isIPv4(bare) || isIPv6(bare);
}

// a Map, not an object literal: a transport token such as "constructor" must not find a prototype member
const TRANSPORTS: ReadonlyMap<string, SipTransport> = new Map<string, SipTransport>([
  ['udp', 'udp'],
  ['tcp', 'tcp'],
  ['tls', 'tls'],
  ['ws', 'ws'],
  ['wss', 'wss'],
]);

/**
 * Maps the top Via's transport to the lower-case protocol name jambonz uses. Unlike the reference,
 * which prefix-matches only wss/ws/tcp/udp, TLS is recognised; callers wanting the reference's
 * record exactly (no `protocol` for TLS clients) must drop 'tls' themselves. SCTP and anything
 * unknown or unparseable give undefined.
 */
export function transportFromVia(via: Via | string | readonly string[] | undefined): SipTransport | undefined {
  if (via === undefined) return undefined;
  const top = isParsedVia(via) ? ok(via) : parseVia(via);
  if (!top.ok) return undefined;
  return TRANSPORTS.get(top.value.transport.toLowerCase());
}

function isParsedVia(via: Via | string | readonly string[]): via is Via {
  return typeof via === 'object' && !Array.isArray(via);
}
