import type { RegistrationStore } from '../store/registration-store';
import type { Logger } from '../ops/logger';

/**
 * Redis expires `user:<aor>` records by itself, but zset members stay until removed. jambonz prunes the
 * global `active-user` zset every 10 minutes; so do we, so that readers that count it stay right.
 */
export function startExpiredBindingPruner(store: RegistrationStore, logger: Logger, periodMs = 600_000): { stop(): void } {
  const timer = setInterval(() => {
    store.pruneExpired()
      .then((removed) => { if (removed > 0) logger.debug({ removed }, 'pruned expired registrations'); })
      .catch((err: Error) => logger.warn({ err: err.message }, 'could not prune expired registrations'));
  }, periodMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
