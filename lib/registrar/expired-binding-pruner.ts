import type { RegistrationStore } from '../store/registration-store';
import type { Logger } from '../ops/logger';

/**
 * Redis expires `user:<aor>` records by itself, but zset members stay until removed. jambonz prunes the
 * global `active-user` zset every 10 minutes; we do every 30 s, so that readers that count it stay right.
 */
export function startExpiredBindingPruner(store: RegistrationStore, logger: Logger,
  remirror: () => Promise<unknown> = async () => undefined, periodMs = 30_000): { stop(): void } {
  const timer = setInterval(() => {
    // An AoR whose newest binding lapsed while an older one lives on gets its legacy record back from
    // the older one first; only then are the zset members that are really gone removed.
    remirror()
      .then(() => store.pruneExpired())
      .then((removed) => { if (removed > 0) logger.debug({ removed }, 'pruned expired registrations'); })
      .catch((err: Error) => logger.warn({ err: err.message }, 'could not prune expired registrations'));
  }, periodMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
