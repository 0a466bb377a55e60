/**
 * Dependency outages and how every one of them is answered: `503` with `Retry-After` and an `X-Reason`
 * naming what is missing (RFC 3261 §21.5.4), so that a device backs off and retries and an SBC in front
 * can fail over, whatever dependency is away. A `500` is kept for our own bugs.
 */

/** What a request may find unavailable. `redis-replicas`: the write is on the master but not on enough replicas. */
export type Dependency = 'redis' | 'redis-replicas' | 'mysql' | 'hook';

/**
 * Thrown (or returned as a reason) when a dependency cannot serve a request right now, as opposed to an
 * error in the request or in our code. The message is the underlying one, short and free of secrets.
 */
export class DependencyUnavailable extends Error {
  constructor(readonly dependency: Dependency, message: string) {
    super(message);
    this.name = 'DependencyUnavailable';
  }
}

/** Recognizes a raw error (a driver's) as a dependency outage; undefined when it is not one. */
export type OutageRecognizer = (err: unknown) => Dependency | undefined;

interface OutageWording {
  xReason: string;
  /** Seconds; the hook's comes from REGISTRATION_HOOK_RETRY_AFTER. */
  retryAfter: number;
}

const OUTAGES: Record<Dependency, OutageWording> = {
  // A Sentinel failover takes 2-3 s, a restarted Redis less: a device may come back soon.
  redis: { xReason: 'Redis unavailable', retryAfter: 5 },
  'redis-replicas': { xReason: 'Registration not replicated', retryAfter: 5 },
  mysql: { xReason: 'Database unavailable', retryAfter: 30 },
  hook: { xReason: 'Registration hook unavailable', retryAfter: 30 },
};

/** The answer to a request that needs `dependency` while it is away. */
export interface OutageAnswer {
  status: 503;
  headers: { 'Retry-After': string; 'X-Reason': string };
  /** The short cause of the outcome line and of listeners: `redis-unavailable`, `mysql-unavailable`... */
  cause: string;
}

export function outageAnswer(dependency: Dependency, retryAfter = OUTAGES[dependency].retryAfter): OutageAnswer {
  return {
    status: 503,
    headers: { 'Retry-After': String(retryAfter), 'X-Reason': OUTAGES[dependency].xReason },
    cause: dependency === 'redis-replicas' ? 'replication-timeout' : `${dependency}-unavailable`,
  };
}

/** The dependency whose outage `err` reports: a DependencyUnavailable, or one `recognize` knows. */
export function outageOf(err: unknown, recognize: OutageRecognizer): Dependency | undefined {
  if (err instanceof DependencyUnavailable) return err.dependency;
  return recognize(err);
}
