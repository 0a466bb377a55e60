/** One OPTIONS to a carrier gateway through drachtio, bounded by a timeout. */

export interface SipRequestOptions {
  method: string;
  proxy?: string;
  headers?: Record<string, string>;
}

interface SentRequest {
  on(event: 'response', listener: (res: { status: number }) => void): void;
}

/** The part of drachtio-srf's Srf the pinger uses (the callback form of request()). */
export interface SipRequester {
  request(uri: string, opts: SipRequestOptions, callback: (err: Error | null, req?: SentRequest) => void): unknown;
}

export type PingOutcome = { status: number } | { timeout: true } | { error: string };

/**
 * The callback form matters: with the promise form drachtio-srf can emit an immediate 503 (ICMP
 * unreachable, connection refused) before a 'response' listener is attached, and the ping never ends.
 * A non-INVITE cannot be cancelled, so after the timeout a late answer is simply ignored.
 */
export function sendOptionsPing(srf: SipRequester, uri: string, opts: SipRequestOptions, timeoutMs: number): Promise<PingOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: PingOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ timeout: true }), timeoutMs);
    try {
      srf.request(uri, opts, (err, req) => {
        if (err || !req) {
          finish({ error: err?.message ?? 'request not sent' });
          return;
        }
        req.on('response', (res) => {
          if (res.status >= 200) finish({ status: res.status });
        });
      });
    } catch (err) {
      finish({ error: (err as Error).message });
    }
  });
}

export function describeOutcome(outcome: PingOutcome): string {
  if ('status' in outcome) return String(outcome.status);
  return 'timeout' in outcome ? 'timeout' : `error: ${outcome.error}`;
}
