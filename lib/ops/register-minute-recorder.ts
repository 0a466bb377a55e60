/**
 * Feeds the operator page's charts: counts each final REGISTER answer (from the AnswerLedger, the one
 * accounting point) in memory by minute and outcome class, and writes what it has to Redis every few
 * seconds in one transaction, never a Redis call per REGISTER. With each write it also records the
 * cluster's live registration count (one ZCOUNT), the minute keeping the last one.
 */
import { MinuteDelta, OUTCOME_CLASSES, OutcomeClass, RegisterStatsStore, outcomeClassOf } from '../store/register-stats-store';
import type { Logger } from './logger';

const MINUTE_MS = 60_000;

export interface RecorderOptions {
  instanceId: string;
  /** The cluster's live registrations (one ZCOUNT), sampled at each flush. */
  countLive: () => Promise<number>;
  flushMs?: number;
  now?: () => number;
}

export class RegisterMinuteRecorder {
  private pending = new Map<number, MinuteDelta>();
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';
  private readonly now: () => number;

  constructor(private readonly store: RegisterStatsStore, private readonly options: RecorderOptions,
    private readonly logger: Logger) {
    this.now = options.now ?? Date.now;
  }

  /** One final answer to a REGISTER: a map lookup and an increment. */
  registerAnswered(status: number): void {
    this.bucket(Math.floor(this.now() / MINUTE_MS)).outcomes[outcomeClassOf(status)]++;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushMs ?? 5000);
    this.timer.unref();
    void this.flush();
  }

  /** Stops the timer and writes what is pending. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Writes the pending counts; on failure they are kept for the next flush (within the hour the charts show). */
  async flush(): Promise<void> {
    await this.sampleLive();
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.add(this.options.instanceId, batch, this.now());
      this.lastError = '';
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) this.logger.warn({ err: message }, 'cannot write REGISTER minute counts to Redis');
      this.lastError = message;
      this.keepForRetry(batch);
    }
  }

  private async sampleLive(): Promise<void> {
    try {
      const live = await this.options.countLive();
      this.bucket(Math.floor(this.now() / MINUTE_MS)).live = live;
    } catch {
      // Redis away: the flush below fails the same way and says so; try again next time.
    }
  }

  private bucket(minute: number): MinuteDelta {
    let delta = this.pending.get(minute);
    if (!delta) {
      delta = { outcomes: emptyOutcomes() };
      this.pending.set(minute, delta);
    }
    return delta;
  }

  private keepForRetry(batch: Map<number, MinuteDelta>): void {
    const oldest = Math.floor(this.now() / MINUTE_MS) - 60;
    for (const [minute, delta] of batch) {
      if (minute < oldest) continue;
      const into = this.bucket(minute);
      for (const outcome of OUTCOME_CLASSES) into.outcomes[outcome] += delta.outcomes[outcome];
      if (delta.live !== undefined && into.live === undefined) into.live = delta.live;
    }
  }
}

function emptyOutcomes(): Record<OutcomeClass, number> {
  return { 200: 0, 401: 0, 403: 0, '5xx': 0, other: 0 };
}
