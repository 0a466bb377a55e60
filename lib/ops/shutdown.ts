import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * Runs the shutdown steps in order on SIGTERM/SIGINT, each bounded so that one stuck client (a Redis
 * that does not answer QUIT, say) cannot keep the process alive past `deadlineMs`, then exits 0.
 */
export function installShutdown(logger: Logger, steps: ShutdownStep[], beforeExit: () => void = () => undefined,
  deadlineMs = 4500): void {
  let started = false;
  const shutdown = async (signal: string) => {
    if (started) return;
    started = true;
    logger.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.warn('shutdown deadline reached; exiting');
      beforeExit();
      process.exit(0);
    }, deadlineMs);
    hardStop.unref();
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        logger.warn({ err, step: step.name }, 'shutdown step failed');
      }
    }
    logger.info('shutdown complete');
    beforeExit();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
