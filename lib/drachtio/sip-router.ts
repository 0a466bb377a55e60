import type Srf from 'drachtio-srf';
import type { Logger } from '../ops/logger';
import { unfold } from '../sip/header-tokens';
import { unfoldCopiedHeaders } from './folded-headers';
import type { AnswerLedger, AnsweredMethod } from './answer-ledger';

export type SrfRequest = Srf.SrfRequest;
export type SrfResponse = Srf.SrfResponse;

export interface RequestContext {
  /** Child logger carrying the Call-ID and method of this request (made on first use). */
  readonly logger: Logger;
  receivedAt: number;
}

export type SipHandler = (req: SrfRequest, res: SrfResponse, ctx: RequestContext) => Promise<void> | void;

/**
 * Puts our handlers on drachtio-srf with what every request needs: a child logger, a final answer even
 * when a handler throws (through the answer ledger like every other answer: 503 when a dependency is
 * away, else 500; never a hanging transaction), and a count of requests in progress so that shutdown can
 * wait for them after it stops taking new ones.
 */
export class SipRouter {
  private inFlight = 0;
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(private readonly srf: Srf, private readonly logger: Logger, private readonly answers: AnswerLedger) {}

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Registers `handler` for an out-of-dialog method; drachtio-server routes it to us from then on. */
  on(method: 'register' | 'options', handler: SipHandler): void {
    const answered: AnsweredMethod = method === 'register' ? 'REGISTER' : 'OPTIONS';
    this.srf.use(method, (req: SrfRequest, res: SrfResponse) => {
      void this.dispatch(answered, req, res, handler);
    });
  }

  private async dispatch(method: AnsweredMethod, req: SrfRequest, res: SrfResponse, handler: SipHandler): Promise<void> {
    const ctx = new LazyRequestContext(this.logger, req);
    unfoldCopiedHeaders(res);
    if (this.draining) {
      // Another sidecar connected to the same drachtio-server can take the retry.
      this.answers.shuttingDown(method, res, ctx);
      return;
    }
    this.inFlight++;
    try {
      await handler(req, res, ctx);
    } catch (err) {
      const answer = this.answers.failure(err, ctx);
      if (!res.finalResponseSent) this.answers.answer(method, res, ctx, answer);
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

/**
 * Most requests (OPTIONS keep-alives above all) never log, so their child logger, which serializes its
 * bindings when made, is made only when something is logged.
 */
class LazyRequestContext implements RequestContext {
  readonly receivedAt = Date.now();
  private child: Logger | undefined;

  constructor(private readonly parent: Logger, private readonly req: SrfRequest) {}

  get logger(): Logger {
    this.child ??= this.parent.child({ callId: this.req.get('Call-ID'), method: this.req.method });
    return this.child;
  }
}

/**
 * res.send throws on an unknown status code or a closed link; a failed answer must not crash anything.
 * `log` is read only on failure (see LazyRequestContext). `reason`: a reason phrase other than the default.
 */
export function safeSend(res: SrfResponse, status: number, log: { readonly logger: Logger }, opts: object = {}, reason?: string): void {
  try {
    if (reason) res.send(status, reason, opts);
    else res.send(status, opts);
  } catch (err) {
    log.logger.error({ err, status }, 'could not send SIP response');
  }
}

/** Looks up one header of a request, by any case of its name; undefined when absent. */
export type HeaderLookup = (name: string) => string | undefined;

/**
 * The request's headers by lower-cased name, read in one pass. drachtio-srf's req.get and req.has scan
 * every header name on each call, which a REGISTER's dozen lookups turned into a visible cost. The first
 * of two names differing only in case wins, as with req.get. Values folded over several lines are
 * unfolded (RFC 3261 §7.3.1).
 */
export function headerLookup(req: SrfRequest): HeaderLookup {
  const byName = new Map<string, string>();
  const headers = req.headers;
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (!byName.has(lower)) byName.set(lower, unfold(headers[name]));
  }
  return (name) => byName.get(name.toLowerCase());
}
