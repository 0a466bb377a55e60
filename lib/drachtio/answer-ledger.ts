/**
 * The one place every final answer to a REGISTER or an OPTIONS goes through, whatever produced it (a
 * handler's decision, an error it did not expect, the router while shutting down): the answer is sent,
 * counted in the metrics, written as one outcome line and passed to every listener. Nothing else sends
 * a final answer to these requests, so the counts are exactly what the devices saw.
 */
import type { Logger } from '../ops/logger';
import { outageAnswer, outageOf, OutageRecognizer } from '../ops/outage';
import type { RequestContext, SrfResponse } from './sip-router';
import { safeSend } from './sip-router';

export type AnsweredMethod = 'REGISTER' | 'OPTIONS';

export interface SipAnswer {
  status: number;
  /** A reason phrase other than the default one (jambonz's `503 Max Devices Registered`). */
  reason?: string;
  headers?: Record<string, string>;
  /** A message body (topology discovery's JSON); its Content-Type goes in `headers`. */
  body?: string;
  /**
   * Why the request was not served as asked, in a short fixed word (`redis-unavailable`, `rate-limited`,
   * `internal-error`...): every 5xx carries one. Logged and passed to listeners, never sent.
   */
  cause?: string;
  /** The error message behind a failure, for the outcome line (never a stack). */
  detail?: string;
  /** Answered by the REGISTER refresh fast path (jambonz's "cached" metric). */
  fastPath?: boolean;
}

/** What a listener learns of each final answer. */
export interface AnswerRecord {
  method: AnsweredMethod;
  status: number;
  cause?: string;
  latencyMs: number;
  fastPath: boolean;
  /** ms since epoch */
  at: number;
}

export type AnswerListener = (record: AnswerRecord) => void;

/** The counters the ledger feeds (lib/ops/metrics implements them). */
export interface AnswerMetrics {
  registerAnswered(status: number, latencyMs: number, fastPath: boolean): void;
  optionsAnswered(status: number): void;
}

/** Facts of a REGISTER for its outcome line. */
export type OutcomeFields = Record<string, string | number | boolean | undefined>;

const SHUTTING_DOWN: SipAnswer = { status: 503, headers: { 'Retry-After': '5' }, cause: 'shutting-down' };

export class AnswerLedger {
  private readonly listeners: AnswerListener[] = [];

  constructor(
    private readonly metrics: AnswerMetrics,
    private readonly logger: Logger,
    /** Tells a driver's error for a dependency outage (Redis's, say) from a bug. */
    private readonly recognizeOutage: OutageRecognizer = () => undefined,
  ) {}

  /** Called with every final answer after it is sent; a listener must be cheap and must not throw. */
  onAnswer(listener: AnswerListener): void {
    this.listeners.push(listener);
  }

  /** Sends `answer`, counts it and writes its outcome line. `fields`: the request's facts (aor, source...). */
  answer(method: AnsweredMethod, res: SrfResponse, ctx: RequestContext, answer: SipAnswer, fields?: OutcomeFields): void {
    const options = answer.body === undefined ? { headers: answer.headers ?? {} } : { headers: answer.headers ?? {}, body: answer.body };
    safeSend(res, answer.status, ctx, options, answer.reason);
    const latencyMs = Date.now() - ctx.receivedAt;
    const fastPath = answer.fastPath === true;
    if (method === 'REGISTER') this.metrics.registerAnswered(answer.status, latencyMs, fastPath);
    else this.metrics.optionsAnswered(answer.status);
    this.writeOutcomeLine(method, ctx, answer, latencyMs, fields);
    if (this.listeners.length === 0) return;
    const record: AnswerRecord = { method, status: answer.status, cause: answer.cause, latencyMs, fastPath, at: Date.now() };
    for (const listener of this.listeners) listener(record);
  }

  /**
   * The answer to an error thrown while serving a request: `503` with Retry-After when a dependency is
   * away (the cause names it), else `500`, and then the error, a bug, is logged with its stack.
   */
  failure(err: unknown, ctx: RequestContext): SipAnswer {
    const detail = err instanceof Error ? err.message : String(err);
    const dependency = outageOf(err, this.recognizeOutage);
    if (dependency) return { ...outageAnswer(dependency), detail };
    ctx.logger.error({ err }, 'unexpected error serving a request');
    return { status: 500, cause: 'internal-error', detail };
  }

  /** What a request gets while the process shuts down: another sidecar or the device's retry takes it. */
  shuttingDown(method: AnsweredMethod, res: SrfResponse, ctx: RequestContext): void {
    this.answer(method, res, ctx, SHUTTING_DOWN);
  }

  /**
   * REGISTER: one `register outcome` line each. OPTIONS, mostly keep-alives by the thousand: a plain 200
   * is written only at debug level, any other answer at info.
   */
  private writeOutcomeLine(method: AnsweredMethod, ctx: RequestContext, answer: SipAnswer, latencyMs: number,
    fields: OutcomeFields | undefined): void {
    const line = { ...fields, status: answer.status, cause: answer.cause, detail: answer.detail, latencyMs };
    if (method === 'REGISTER') {
      ctx.logger.info(line, 'register outcome');
      return;
    }
    const routine = answer.status === 200 && !answer.cause;
    // The request's child logger is made on first use: a keep-alive that will not be logged must not make one.
    if (routine && !this.logger.isLevelEnabled('debug')) return;
    if (routine) ctx.logger.debug(line, 'options outcome');
    else ctx.logger.info(line, 'options outcome');
  }
}
