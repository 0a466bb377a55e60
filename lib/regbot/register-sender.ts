/**
 * Sends one REGISTER through drachtio and resolves with its final response. Uses the CALLBACK form of
 * srf.request: with the promise form, an immediate 503 (ICMP unreachable, connection refused) arriving in
 * the same TCP chunk as the "Msg sent" reply is emitted before a listener can be attached, and is lost.
 */
import type Srf from 'drachtio-srf';
import type { RegisterRequest } from './register-request-builder';

export interface FinalResponse {
  status: number;
  reason: string;
  header(name: string): string | undefined;
}

/**
 * `transportFailure`: the request left (or should have left) for the next hop and no final response came
 * back, which says nothing about the request itself, so another address of the gateway may do better.
 */
export type SendResult = { ok: true; response: FinalResponse } | { ok: false; reason: string; transportFailure?: boolean };

export interface RegisterSender {
  send(request: RegisterRequest): Promise<SendResult>;
}

interface UacOptions {
  method: 'REGISTER';
  proxy: string;
  headers: Record<string, string>;
}

interface SentRequest {
  on(event: 'response', listener: (res: Srf.SrfResponse) => void): void;
}

/** The callback overload of srf.request as it really is (the package's typings describe it wrongly). */
type RequestWithCallback = (uri: string, opts: UacOptions, callback: (err: Error | null, req?: SentRequest) => void) => void;

export class SrfRegisterSender implements RegisterSender {
  constructor(private readonly srf: Srf, private readonly timeoutMs: number) {}

  send(request: RegisterRequest): Promise<SendResult> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      // drachtio answers every transaction (408 at timer B), but not when its connection drops meanwhile.
      const timer = setTimeout(() => settle({ ok: false, reason: 'no final response (transaction timeout)', transportFailure: true }), this.timeoutMs);
      const options: UacOptions = { method: 'REGISTER', proxy: request.proxy, headers: { ...request.headers } };
      try {
        const requestFn = this.srf.request.bind(this.srf) as unknown as RequestWithCallback;
        requestFn(request.uri, options, (err, req) => {
          if (err || !req) return settle({
            ok: false, reason: `drachtio refused the request: ${err?.message ?? 'unknown'}`, transportFailure: true,
          });
          req.on('response', (res) => {
            if (res.status >= 200) settle({ ok: true, response: toFinal(res) });
          });
        });
      } catch (err) {
        // drachtio-srf throws synchronously when it has no connection to a server
        settle({ ok: false, reason: `drachtio not available: ${(err as Error).message}` });
      }
    });
  }
}

function toFinal(res: Srf.SrfResponse): FinalResponse {
  return {
    status: res.status,
    reason: res.reason,
    header: (name) => {
      const value: unknown = res.get(name);
      return typeof value === 'string' ? value : undefined;
    },
  };
}
