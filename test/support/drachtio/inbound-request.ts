/**
 * What happens to a request from the network before any app sees it: sofia's nta checks
 * (agent_recv_request: header errors, sip_sanity_check, version, Via transport, received/rport on the top
 * Via), then drachtio's own checks (processMessageStatelessly), and how the request is re-encoded for the app.
 */
import { CRLF, SipMessage } from './sip-message';
import { SipProto } from './sip-transports';
import {
  formatVia, getParam, hasUriScheme, parseCSeq, parseNameAddr, parseVia, removeParam, replaceParam, splitTopLevel,
} from './sip-values';

export type Verdict =
  | { action: 'accept' }
  | { action: 'reply'; status: number; reason: string }
  | { action: 'drop'; shutdown: boolean };

const ACCEPT: Verdict = { action: 'accept' };
const DROP: Verdict = { action: 'drop', shutdown: false };

/** Header parse errors sofia's nta rejects with `400 Bad <Name> Header` (its default bad-request mask). */
function headerError(msg: SipMessage): string | undefined {
  for (const value of msg.getAll('via')) {
    if (splitTopLevel(value, ',').some((v) => !parseVia(v))) return 'Via';
  }
  for (const [name, canonical] of [['from', 'From'], ['to', 'To']]) {
    const value = msg.get(name);
    if (value !== undefined && !parseNameAddr(value)) return canonical;
  }
  const cseq = msg.get('cseq');
  if (cseq !== undefined && !parseCSeq(cseq)) return 'CSeq';
  const callId = msg.get('call-id');
  if (callId !== undefined && !/^\S+$/.test(callId)) return 'Call-ID';
  const maxForwards = msg.get('max-forwards');
  if (maxForwards !== undefined && !/^\d+$/.test(maxForwards)) return 'Max-Forwards';
  const contentLength = msg.get('content-length');
  if (contentLength !== undefined && !/^\d+$/.test(contentLength)) return 'Content-Length';
  // A second instance of a header sofia allows once and holds critical goes to the message's error list
  // (msg_parser.c append_parsed) and marks the message fatally wrong: nta answers 400 Bad <Name> Header.
  for (const [name, canonical] of SINGLE_CRITICAL) {
    if (msg.getAll(name).length > 1) return canonical;
  }
  return undefined;
}

/** sofia-sip's `single_critical` header classes. */
const SINGLE_CRITICAL: [string, string][] = [
  ['from', 'From'], ['to', 'To'], ['call-id', 'Call-ID'], ['cseq', 'CSeq'], ['content-length', 'Content-Length'],
];

/** sofia-sip sip_sanity_check(). */
function isSane(msg: SipMessage): boolean {
  if (msg.first.kind !== 'request' || msg.truncated) return false;
  for (const required of ['to', 'from', 'call-id', 'cseq', 'via']) {
    if (!msg.has(required)) return false;
  }
  if (!isValidRequestUri(msg.first.uri)) return false;
  const cseq = msg.cseq;
  return !!cseq && cseq.method === msg.first.method;
}

/** url_invalid in sofia terms: no scheme at all, or a sip/sips/tel URI without its mandatory part. */
function isValidRequestUri(uri: string): boolean {
  if (!hasUriScheme(uri)) return false;
  const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase();
  const rest = uri.slice(uri.indexOf(':') + 1);
  if (scheme === 'sip' || scheme === 'sips') return /^(?:[^@]*@)?[^@;?:]+/.test(rest) && !rest.startsWith(';');
  if (scheme === 'tel') return rest.length > 0;
  return true;
}

/** nta's checks, in its order. A request without a Via (or an ACK) cannot be answered, so it is dropped. */
export function checkWithNta(msg: SipMessage, proto: SipProto): Verdict {
  const badHeader = headerError(msg);
  if (badHeader || !isSane(msg)) {
    // agent_recv_request: without a Via (or for an ACK) there is no reply; a stream connection gets a FIN.
    if (!msg.has('via') || msg.method === 'ACK') return { action: 'drop', shutdown: true };
    return { action: 'reply', status: 400, reason: badHeader ? `Bad ${badHeader} Header` : 'Bad Request' };
  }
  if (msg.first.kind === 'request' && msg.first.version !== 'SIP/2.0') {
    return { action: 'reply', status: 505, reason: 'Version Not Supported' };
  }
  const top = parseVia(splitTopLevel(msg.get('via') ?? '', ',')[0]);
  if (!top || top.transport !== proto.toUpperCase()) return DROP;
  return ACCEPT;
}

/** drachtio's REGISTER checks (`reject-register-with-no-realm` is a config option the stand-in lacks). */
export function checkRegister(msg: SipMessage): Verdict {
  const contacts = msg.getAll('contact').flatMap((v) => splitTopLevel(v, ','));
  for (const contact of contacts) {
    const na = parseNameAddr(contact);
    if (!na) return { action: 'reply', status: 400, reason: 'Bad Request' };
    if (na.star) {
      const expires = msg.get('expires');
      if (expires !== undefined && Number(expires) !== 0) return { action: 'reply', status: 400, reason: 'Bad Request' };
    } else if (!hasUriScheme(na.uri)) {
      return { action: 'reply', status: 400, reason: 'Bad Request' };
    }
  }
  return ACCEPT;
}

/** A request as the server holds it once nta has accepted it. */
export interface ReceivedRequest {
  msg: SipMessage;
  /** Every Via value in order, the top one carrying received/rport; used to build responses. */
  vias: string[];
  /** The request as re-encoded for the app. */
  text: string;
}

/**
 * agent_check_request_via: drop a stale `received`, add `received=<source>` when the sent-by host is not the
 * source address, and set `rport=<source port>` (in place if the Via already had rport; drachtio forces it).
 */
export function stampTopVia(value: string, address: string, port: number): string {
  const via = parseVia(value);
  if (!via) return value.trim();
  let params = removeParam(via.params, 'received');
  const host = via.host.replace(/^\[|\]$/g, '');
  if (host.toLowerCase() !== address.toLowerCase()) params = replaceParam(params, 'received', address);
  params = replaceParam(params, 'rport', String(port));
  return formatVia({ ...via, params });
}

/**
 * Re-encodes a received request: unmodified headers keep their original text; the header line holding the top
 * Via is re-encoded (each of its values on its own line); Content-Length is added when missing.
 */
export function receiveRequest(msg: SipMessage, address: string, port: number): ReceivedRequest {
  const vias: string[] = [];
  const lines: string[] = [];
  for (const header of msg.headers) {
    if (header.key !== 'via') {
      lines.push(header.raw);
      continue;
    }
    const values = splitTopLevel(header.value, ',').map((v) => v.trim()).filter(Boolean);
    if (vias.length === 0) {
      const encoded = values.map((v, i) => (i === 0 ? stampTopVia(v, address, port) : reencodeVia(v)));
      vias.push(...encoded);
      lines.push(...encoded.map((v) => `Via: ${v}`));
    } else {
      vias.push(...values);
      lines.push(header.raw);
    }
  }
  if (!msg.has('content-length')) lines.push(`Content-Length: ${msg.body.length}`);
  const text = [msg.startLine, ...lines].join(CRLF) + CRLF + CRLF + msg.body.toString('utf8');
  return { msg, vias, text };
}

function reencodeVia(value: string): string {
  const via = parseVia(value);
  return via ? formatVia(via) : value;
}

/** The branch of the top Via (used to match retransmissions). */
export function topBranch(msg: SipMessage): string {
  const top = parseVia(splitTopLevel(msg.get('via') ?? '', ',')[0]);
  return (top && getParam(top.params, 'branch')) ?? '';
}
