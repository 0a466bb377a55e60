/**
 * AWS_LIFECYCLE_DRAIN: notices that the Auto Scaling group is terminating this instance. IMDS answers
 * `autoscaling/target-lifecycle-state` = `Terminated` once the group moved the instance to
 * Terminating:Wait; we only detect it (sbc-inbound owns the lifecycle hook and completes it once calls have
 * drained), so no Auto Scaling API access is needed. Polled at start and then every `pollMs`; fires once.
 */
import type { MetadataRead } from '../net/imds-client';
import type { Logger } from './logger';

export const LIFECYCLE_STATE_ITEM = 'autoscaling/target-lifecycle-state';

export interface MetadataSource {
  read(item: string): Promise<MetadataRead>;
}

export interface ScaleInWatcher {
  stop(): void;
}

export function watchScaleIn(imds: MetadataSource, pollMs: number, logger: Logger, onScaleIn: () => void): ScaleInWatcher {
  let fired = false;
  let stopped = false;
  let polling = false;
  /** The last problem reported at warn level; the same one again goes to debug, not every poll. */
  let lastProblem: string | undefined;

  const poll = async (): Promise<void> => {
    if (fired || stopped || polling) return;
    polling = true;
    const state = await imds.read(LIFECYCLE_STATE_ITEM).finally(() => { polling = false; });
    if (fired || stopped) return;
    if (!state.ok) {
      const level = state.reason === lastProblem ? 'debug' : 'warn';
      lastProblem = state.reason;
      logger[level]({ reason: state.reason }, `scale-in watch: cannot read ${LIFECYCLE_STATE_ITEM} from IMDS`);
      return;
    }
    if (lastProblem !== undefined) logger.info({ state: state.value }, `scale-in watch: ${LIFECYCLE_STATE_ITEM} readable again`);
    lastProblem = undefined;
    if (state.value !== 'Terminated') return;
    fired = true;
    clearInterval(timer);
    logger.info({ state: state.value }, 'scale-in watch: AWS scale-in detected (target-lifecycle-state is Terminated)');
    onScaleIn();
  };

  const timer = setInterval(() => void poll(), pollMs);
  timer.unref();
  logger.info({ pollMs }, `scale-in watch: polling IMDS ${LIFECYCLE_STATE_ITEM}`);
  void poll();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
