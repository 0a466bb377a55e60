import type Srf from 'drachtio-srf';
import { unfold } from '../sip/header-tokens';

/** The headers drachtio-srf copies from a request into its response when the response is created. */
const COPIED_FROM_REQUEST = ['call-id', 'cseq', 'from', 'to'];

/**
 * drachtio-srf copies Call-ID, CSeq, From and To into the response exactly as the request carried them,
 * folded over several lines if the device folded them (RFC 3261 §7.3.1). drachtio-server then reads the
 * continuation line as a header of its own ("makeTags - invalid header: '  REGISTER'"), sofia cannot
 * parse what is left (`CSeq: 1`), and the device gets drachtio's own 500 instead of our answer. The
 * copies are unfolded before anything is sent; a response that has no folded copy is not touched.
 */
export function unfoldCopiedHeaders(res: Srf.SrfResponse): void {
  // Response delegates `headers` to its SipMessage; the typings do not declare it on SrfResponse.
  const headers = (res as unknown as { headers?: Record<string, unknown> }).headers;
  if (!headers) return;
  for (const name of COPIED_FROM_REQUEST) {
    const value = headers[name];
    if (typeof value === 'string' && value.includes('\n')) headers[name] = unfold(value);
  }
}
