import type Redis from 'ioredis';
import { keys } from './keys';
import { execOrThrow } from './redis-multi';

/** How the operator page groups final REGISTER answers. */
export const OUTCOME_CLASSES = ['200', '401', '403', '5xx', 'other'] as const;
export type OutcomeClass = (typeof OUTCOME_CLASSES)[number];

export function outcomeClassOf(status: number): OutcomeClass {
  if (status === 200 || status === 401 || status === 403) return String(status) as OutcomeClass;
  return status >= 500 && status < 600 ? '5xx' : 'other';
}

/** What one instance adds to one minute. */
export interface MinuteDelta {
  outcomes: Record<OutcomeClass, number>;
  /** Live registrations in the cluster as this instance last counted them during the minute. */
  live?: number;
}

export interface MinuteTotals {
  /** ms since epoch of the minute's start */
  at: number;
  outcomes: Record<OutcomeClass, number>;
  /** The highest count any instance reported for the minute (each counts the whole cluster); null when none did. */
  live: number | null;
}

const MINUTE_MS = 60_000;

/**
 * Per-minute REGISTER outcomes of each instance (`<cluster>:register-minute:<instance>:<minute>`), written in
 * batches by the instance and summed across the cluster by the reader. Buckets expire after `keepMinutes`.
 */
export class RegisterStatsStore {
  constructor(private readonly redis: Redis, private readonly cluster: string, private readonly keepMinutes = 65) {}

  /** Adds one instance's pending counts, every minute in one transaction. */
  async add(instanceId: string, deltas: ReadonlyMap<number, MinuteDelta>, now = Date.now()): Promise<void> {
    const multi = this.redis.multi();
    for (const [minute, delta] of deltas) {
      const key = keys.registerMinute(this.cluster, instanceId, minute);
      for (const outcome of OUTCOME_CLASSES) {
        if (delta.outcomes[outcome] > 0) multi.hincrby(key, outcome, delta.outcomes[outcome]);
      }
      if (delta.live !== undefined) multi.hset(key, 'live', delta.live);
      multi.pexpire(key, this.keepMinutes * MINUTE_MS);
    }
    const writers = keys.registerMinuteWriters(this.cluster);
    multi.zadd(writers, now, instanceId).zremrangebyscore(writers, '-inf', now - this.keepMinutes * MINUTE_MS);
    await execOrThrow(multi);
  }

  /** The last `minutes` minutes (the current one last), every instance's buckets summed. */
  async recent(minutes: number, now = Date.now()): Promise<MinuteTotals[]> {
    const writers = await this.redis.zrangebyscore(keys.registerMinuteWriters(this.cluster),
      now - this.keepMinutes * MINUTE_MS, '+inf');
    const current = Math.floor(now / MINUTE_MS);
    const minuteList = Array.from({ length: minutes }, (_, i) => current - minutes + 1 + i);
    return Promise.all(minuteList.map(async (minute) => {
      const buckets = await Promise.all(writers.map((id) => this.redis.hgetall(keys.registerMinute(this.cluster, id, minute))));
      return sumBuckets(minute * MINUTE_MS, buckets);
    }));
  }
}

function sumBuckets(at: number, buckets: Record<string, string>[]): MinuteTotals {
  const outcomes = Object.fromEntries(OUTCOME_CLASSES.map((outcome) => [outcome, 0])) as Record<OutcomeClass, number>;
  let live: number | null = null;
  for (const bucket of buckets) {
    for (const outcome of OUTCOME_CLASSES) outcomes[outcome] += Number(bucket[outcome] ?? 0) || 0;
    const count = Number(bucket.live);
    if (bucket.live !== undefined && Number.isFinite(count)) live = Math.max(live ?? 0, count);
  }
  return { at, outcomes, live };
}
