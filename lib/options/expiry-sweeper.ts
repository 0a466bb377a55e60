import type { Logger } from '../ops/logger';
import type { OptionsMetrics } from '../ops/metrics';
import type { MembershipRegistry } from './membership-registry';

export interface ExpirySweeperOptions {
  /** EXPIRES_INTERVAL: how long a member may go without checking in. */
  expiresMs: number;
  /** CHECK_EXPIRES_INTERVAL: time between sweeps. */
  periodMs: number;
}

/**
 * Runs the membership sweep at start (which stamps members already in the sets, so a server left behind by
 * a crashed peer is purged one interval later) and then every CHECK_EXPIRES_INTERVAL.
 */
export function startExpirySweeper(registry: MembershipRegistry, opts: ExpirySweeperOptions, logger: Logger,
  metrics?: OptionsMetrics): { stop(): void } {
  let running = false;
  const sweep = async () => {
    // A slow Redis must not pile sweeps up behind each other.
    if (running) return;
    running = true;
    try {
      for (const { set, removed } of await registry.sweep(opts.expiresMs)) {
        if (removed.length > 0) logger.info({ set, removed }, 'expired members that stopped checking in');
      }
      if (metrics) {
        const sizes = await registry.sizes();
        metrics.clusterMembers('fs', sizes.fs);
        metrics.clusterMembers('rtp', sizes.rtp);
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'membership expiry sweep failed');
    } finally {
      running = false;
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), opts.periodMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
