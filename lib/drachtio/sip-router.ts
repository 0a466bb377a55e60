import type Srf from 'drachtio-srf';
import type { Logger } from '../ops/logger';

export type SrfRequest = Srf.SrfRequest;
export type SrfResponse = Srf.SrfResponse;

export interface RequestContext {
  /** Child logger carrying the Call-ID and method of this request. */
  logger: Logger;
  receivedAt: number;
}

export type SipHandler = (req: SrfRequest, res: SrfResponse, ctx: RequestContext) => Promise<void> | void;

/**
 * Puts our handlers on drachtio-srf with what every request needs: a child logger, a final answer even
 * when a handler throws (500, never a hanging transaction), and a count of requests in progress so that
 * shutdown can wait for them after it stops taking new ones.
 */
export class SipRouter {
  private inFlight = 0;
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(private readonly srf: Srf, private readonly logger: Logger) {}

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Registers `handler` for an out-of-dialog method; drachtio-server routes it to us from then on. */
  on(method: 'register' | 'options', handler: SipHandler): void {
    this.srf.use(method, (req: SrfRequest, res: SrfResponse) => {
      void this.dispatch(req, res, handler);
    });
  }

  private async dispatch(req: SrfRequest, res: SrfResponse, handler: SipHandler): Promise<void> {
    const logger = this.logger.child({ callId: req.get('Call-ID'), method: req.method });
    if (this.draining) {
      // Another sidecar connected to the same drachtio-server can take the retry.
      res.send(503, { headers: { 'Retry-After': '5' } });
      return;
    }
    this.inFlight++;
    try {
      await handler(req, res, { logger, receivedAt: Date.now() });
    } catch (err) {
      logger.error({ err }, `unexpected error handling ${req.method}`);
      if (!res.finalResponseSent) safeSend(res, 500, logger);
    } finally {
      this.inFlight--;
      if (this.draining && this.inFlight === 0) this.drained?.();
    }
  }

  /** Stops taking requests (they get 503) and resolves once those in progress are answered or `timeoutMs` passes. */
  drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** res.send throws on an unknown status code or a closed link; a failed answer must not crash anything. */
export function safeSend(res: SrfResponse, status: number, logger: Logger, opts: object = {}): void {
  try {
    res.send(status, opts);
  } catch (err) {
    logger.error({ err, status }, 'could not send SIP response');
  }
}
