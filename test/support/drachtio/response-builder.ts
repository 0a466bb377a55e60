/**
 * Builds the responses the server sends as UAS: the ones an app asks for (nta_incoming_treply with the
 * app's headers as tags) and the ones the server generates itself (nta_msg_treply: 400, 481, 503, ...).
 * Via, From, To, Call-ID and CSeq come from the request; sofia adds a To tag to every response above 100.
 */
import { addAppHeaders, parseAppHeaders, unparseableHeader } from './app-headers';
import { HeaderSet } from './header-set';
import { ReceivedRequest } from './inbound-request';
import { serialiseMessage } from './sip-message';
import { tagOf } from './sip-values';

function requestHeaders(request: ReceivedRequest): HeaderSet {
  const set = new HeaderSet();
  set.set('via', ...request.vias);
  for (const key of ['from', 'to', 'call_id', 'cseq'] as const) {
    const value = request.msg.get(key.replace('_', '-'));
    if (value !== undefined) set.set(key, value);
  }
  return set;
}

/** Ensures the To carries a tag; returns the tag in use (the app's, if it chose one). */
function applyToTag(set: HeaderSet, status: number, tag: string): string | undefined {
  const to = set.get('to');
  if (to === undefined || status <= 100) return tagOf(to);
  const existing = tagOf(to);
  if (existing) return existing;
  set.set('to', `${to};tag=${tag}`);
  return tag;
}

/** A response the server generates on its own, without app headers. */
export function buildStatelessResponse(request: ReceivedRequest, status: number, reason: string, toTag: string): Buffer {
  const set = requestHeaders(request);
  applyToTag(set, status, toTag);
  set.set('content_length', '0');
  return serialiseMessage(`SIP/2.0 ${status} ${reason}`, set.lines(), '');
}

export interface AppResponseInput {
  request: ReceivedRequest;
  status: number;
  reason: string;
  headerBlock: string;
  body: string;
  /** The receiving transport's `host:port` (for `@localhost`). */
  hostport: string;
  /** The receiving transport's contact, `<sip:host:port[;transport=x]>`. */
  contact: string;
  /** Tag to add to the To when the response needs one and has none. */
  toTag: string;
  log?: (line: string) => void;
}

export interface BuiltResponse {
  data: Buffer;
  toTag?: string;
}

/** sofia could not build the response: a header of the app's it cannot parse (`name: value`). */
export interface RefusedResponse {
  unparseable: string;
}

export function buildAppResponse(input: AppResponseInput): BuiltResponse | RefusedResponse {
  const set = requestHeaders(input.request);
  const headers = parseAppHeaders(input.headerBlock, input.hostport, input.log);
  const unparseable = unparseableHeader(headers);
  if (unparseable !== undefined) return { unparseable };
  addAppHeaders(set, headers);
  const toTag = applyToTag(set, input.status, input.toTag);
  const method = input.request.msg.method;
  const success = input.status >= 200 && input.status < 300;
  if ((method === 'INVITE' || method === 'SUBSCRIBE') && success && !set.has('contact')) set.set('contact', input.contact);
  if (input.body && !set.has('content_type') && input.body.startsWith('v=0')) set.set('content_type', 'application/sdp');
  set.set('content_length', String(Buffer.byteLength(input.body, 'utf8')));
  const data = serialiseMessage(`SIP/2.0 ${input.status} ${input.reason}`, set.lines(), input.body);
  return { data, toTag };
}
