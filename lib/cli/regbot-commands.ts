import { RegbotClusterStatus, RegbotNotRunning } from '../regbot/regbot-status';
import type { CliReply } from './protocol';

/** What `regbot status` needs from the regbot: the cluster-wide view; RegbotNotRunning when it is not running. */
export interface RegbotStatusSource {
  clusterStatus(): Promise<RegbotClusterStatus>;
}

export class RegbotCommands {
  constructor(private readonly regbot: RegbotStatusSource) {}

  /** A regbot that is not running is an answer (success false), not a failed command. */
  async status(): Promise<CliReply> {
    try {
      return { success: true, ...(await this.regbot.clusterStatus()) };
    } catch (err) {
      if (err instanceof RegbotNotRunning) return { success: false, error: err.message };
      throw err;
    }
  }
}
