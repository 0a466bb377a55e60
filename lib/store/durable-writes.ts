/**
 * Durable acknowledgement of binding writes (REGISTRAR_WAIT_REPLICAS, ours): with Redis's asynchronous
 * replication, a binding answered 200 in the last instant before the master dies may never reach the
 * replica that takes over. With this on, a REGISTER's binding change is answered only once Redis's WAIT
 * says that at least `replicas` replicas hold it; when `timeoutMs` passes first, the change stays on
 * the master but the REGISTER fails with DependencyUnavailable('redis-replicas') (answered 503 with
 * Retry-After, so the device tries again rather than believe it is registered).
 *
 * WAIT holds its connection until it returns, so binding writes go over a connection of their own and
 * the reads and checks of other REGISTERs never queue behind it.
 */
import type Redis from 'ioredis';
import { DependencyUnavailable } from '../ops/outage';
import { coalesceWritesPerTick } from './redis-client';

export interface DurableWritesOptions {
  /** Replicas that must hold a write before it is acknowledged (>= 1). */
  replicas: number;
  /** The longest WAIT, in ms (>= 1: WAIT 0 would block for ever). */
  timeoutMs: number;
}

export class DurableWrites {
  /** The WAIT in flight, shared by every write whose reply arrives before it returns (see confirm). */
  private pending: Promise<number> | undefined;

  constructor(readonly connection: Redis, private readonly opts: DurableWritesOptions) {
    if (!Number.isInteger(opts.replicas) || opts.replicas < 1) throw new RangeError(`replicas must be >= 1, got ${opts.replicas}`);
    if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs < 1) throw new RangeError(`timeoutMs must be >= 1, got ${opts.timeoutMs}`);
  }

  /**
   * Resolves once enough replicas hold every write this connection has had answered; throws
   * DependencyUnavailable('redis-replicas') when the bound passes first. WAIT covers every write its
   * connection made before it, and replies come back in order: a WAIT still unanswered when a write's
   * reply arrives was sent after that write, so it covers it and is shared rather than sent again.
   */
  async confirm(): Promise<void> {
    this.pending ??= this.connection.wait(this.opts.replicas, this.opts.timeoutMs).finally(() => { this.pending = undefined; });
    const acknowledged = await this.pending;
    if (acknowledged < this.opts.replicas) {
      throw new DependencyUnavailable('redis-replicas',
        `${acknowledged} of ${this.opts.replicas} replicas confirmed within ${this.opts.timeoutMs} ms`);
    }
  }

  close(): Promise<unknown> {
    return this.connection.quit().catch(() => undefined);
  }
}

/** The writes connection: a copy of `redis` (same master, Sentinels, credentials), or none when the option is off. */
export function createDurableWrites(redis: Redis, opts: { replicas: number; timeoutMs: number }): DurableWrites | undefined {
  if (opts.replicas <= 0) return undefined;
  const connection = redis.duplicate();
  // duplicate() copies the options, not the per-tick write coalescing the main client was given
  coalesceWritesPerTick(connection);
  // Its outages are the main client's, which logs them; REGISTERs learn of them from their own commands.
  connection.on('error', () => undefined);
  return new DurableWrites(connection, opts);
}
