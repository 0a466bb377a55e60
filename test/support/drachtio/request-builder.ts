/**
 * Builds a new out-of-dialog request from what an app sent (`sip||[|proxy]`), as drachtio's
 * doSendRequestOutsideDialog + nta_leg_tcreate + nta_outgoing_tcreate would (protocol notes §7.2).
 */
import { AppHeaders, addAppHeaders, findKnown } from './app-headers';
import { HeaderSet } from './header-set';
import { defaultCSeq, newCallId, newTag } from './ids';
import { serialiseMessage } from './sip-message';
import { SipProto } from './sip-transports';
import { replaceLocalhost, tagOf } from './sip-values';

export interface LocalTransport {
  proto: SipProto;
  host: string;
  port: number;
}

export function hostportOf(t: LocalTransport): string {
  return `${t.host}:${t.port}`;
}

/** The transport's contact: `<sip:host:port>`, with `;transport=` for anything but UDP. */
export function contactOf(t: LocalTransport): string {
  return t.proto === 'udp' ? `<sip:${hostportOf(t)}>` : `<sip:${hostportOf(t)};transport=${t.proto}>`;
}

/** sofia's Via for the transport: the port is omitted when it is 5060; `;rport` only for UDP. */
export function viaOf(t: LocalTransport, branch: string): string {
  const port = t.port === 5060 ? '' : `:${t.port}`;
  const rport = t.proto === 'udp' ? ';rport' : '';
  return `SIP/2.0/${t.proto.toUpperCase()} ${t.host}${port}${rport};branch=${branch}`;
}

export interface UacRequestInput {
  method: string;
  requestUri: string;
  headers: AppHeaders;
  body: string;
  transport: LocalTransport;
  branch: string;
}

export interface UacRequest {
  startLine: string;
  headers: HeaderSet;
  body: string;
  callId: string;
  cseq: string;
  fromTag: string;
  /** The To as sofia holds it before encoding (the app's text, or the raw request-URI). */
  toRaw: string;
}

/** Fills in Via, Max-Forwards, From (+tag), To, Call-ID, CSeq, Contact, Content-Type and Content-Length. */
export function buildUacRequest(input: UacRequestInput): UacRequest {
  const { headers, transport } = input;
  const hostport = hostportOf(transport);
  const appFrom = findKnown(headers, 'from');
  const from = appFrom === undefined ? contactOf(transport) : replaceLocalhost(appFrom, hostport);
  const fromTag = tagOf(from) ?? newTag();
  const toRaw = findKnown(headers, 'to') ?? input.requestUri;
  const callId = findKnown(headers, 'call_id') ?? newCallId();
  const cseq = findKnown(headers, 'cseq') ?? `${defaultCSeq()} ${input.method}`;

  const set = new HeaderSet();
  set.set('via', viaOf(transport, input.branch));
  set.set('max_forwards', '70');
  addAppHeaders(set, headers, new Set(['from', 'to', 'call_id', 'cseq']));
  set.set('from', tagOf(from) ? from : `${from};tag=${fromTag}`);
  set.set('to', toRaw);
  set.set('call_id', callId);
  set.set('cseq', cseq);
  if ((input.method === 'INVITE' || input.method === 'SUBSCRIBE') && !set.has('contact')) set.set('contact', contactOf(transport));
  if (input.body && !set.has('content_type')) set.set('content_type', 'application/sdp');
  set.set('content_length', String(Buffer.byteLength(input.body, 'utf8')));
  return { startLine: `${input.method} ${input.requestUri} SIP/2.0`, headers: set, body: input.body, callId, cseq, fromTag, toRaw };
}

/** The request as sent (canonical encoding). */
export function encodeForWire(request: UacRequest): Buffer {
  return serialiseMessage(request.startLine, request.headers.lines(true), request.body);
}

/**
 * The request echoed to the app while DNS resolution is pending: sofia has not prepared the message yet,
 * so there is no Via and values are written as given.
 */
export function encodeUnprepared(request: UacRequest): Buffer {
  const lines = request.headers.lines(false).filter((l) => !l.startsWith('Via: '));
  return serialiseMessage(request.startLine, lines, request.body);
}

/**
 * A final response sofia generates itself for this request (503 on transport failure or DNS error, 408 on
 * timeout): Via/From/Call-ID/CSeq as sent, To re-encoded from the raw value with a new tag.
 */
export function buildInternalResponse(request: UacRequest, status: number, reason: string): Buffer {
  const set = new HeaderSet();
  set.set('via', request.headers.get('via') ?? '');
  set.set('from', request.headers.get('from') ?? '');
  set.set('call_id', request.callId);
  set.set('cseq', request.cseq);
  set.set('content_length', '0');
  const lines = set.lines(true);
  lines.splice(2, 0, `To: ${request.toRaw};tag=${newTag()}`);
  return serialiseMessage(`SIP/2.0 ${status} ${reason}`, lines, '');
}

/** A CANCEL for a client INVITE (nta_outgoing_tcancel): same Via and branch, CSeq number, no To tag. */
export function buildCancel(invite: UacRequest): UacRequest {
  const seq = invite.cseq.split(/\s+/)[0];
  const set = new HeaderSet();
  set.set('via', invite.headers.get('via') ?? '');
  set.set('max_forwards', '70');
  set.set('from', invite.headers.get('from') ?? '');
  set.set('to', invite.toRaw);
  set.set('call_id', invite.callId);
  set.set('cseq', `${seq} CANCEL`);
  set.set('content_length', '0');
  const uri = invite.startLine.split(' ')[1];
  return { ...invite, startLine: `CANCEL ${uri} SIP/2.0`, headers: set, body: '', cseq: `${seq} CANCEL` };
}

/** The ACK sofia sends itself for a non-2xx final response to an INVITE (same branch, the response's To). */
export function buildAckForFailure(invite: UacRequest, responseTo: string): Buffer {
  const seq = invite.cseq.split(/\s+/)[0];
  const set = new HeaderSet();
  set.set('via', invite.headers.get('via') ?? '');
  set.set('max_forwards', '70');
  set.set('from', invite.headers.get('from') ?? '');
  set.set('to', responseTo);
  set.set('call_id', invite.callId);
  set.set('cseq', `${seq} ACK`);
  set.set('content_length', '0');
  const uri = invite.startLine.split(' ')[1];
  return serialiseMessage(`ACK ${uri} SIP/2.0`, set.lines(), '');
}
