/**
 * GET /api/cluster and /api/carriers: the cluster as Redis and MySQL describe it, through the CLI's own
 * commands (FsCommands for feature servers, regbot's cluster status for carrier trunks and sidecar shares).
 */
import type { FsCommands } from '../cli/fs-commands';
import type { RegbotStatusSource } from '../cli/regbot-commands';
import type { MembershipRegistry } from '../options/membership-registry';
import { RegbotClusterStatus, RegbotNotRunning } from '../regbot/regbot-status';
import { ApiError } from './api-reply';

export interface ClusterViewDeps {
  clusterId: string;
  fs: FsCommands;
  membership: MembershipRegistry;
  regbot: RegbotStatusSource;
}

export class ClusterView {
  constructor(private readonly deps: ClusterViewDeps) {}

  /** Every gateway regbot must register, cluster-wide: the CLI's `regbot status`. */
  async carriers(): Promise<RegbotClusterStatus> {
    const status = await this.regbotStatus();
    if (!status) throw new ApiError(503, 'regbot is not running on this instance (not connected to drachtio yet, or shutting down)');
    return status;
  }

  async cluster(): Promise<object> {
    const [servers, rtpServers, regbot] = await Promise.all([
      this.deps.fs.list(), this.deps.membership.members('rtp'), this.regbotStatus(),
    ]);
    return {
      clusterId: this.deps.clusterId,
      featureServers: servers.servers,
      drained: servers.drained,
      rtpServers,
      regbot: regbot ? { mode: regbot.mode, instanceId: regbot.instanceId } : null,
      sidecars: regbot ? sidecarShares(regbot) : [],
    };
  }

  private async regbotStatus(): Promise<RegbotClusterStatus | undefined> {
    try {
      return await this.deps.regbot.clusterStatus();
    } catch (err) {
      if (err instanceof RegbotNotRunning) return undefined;
      throw err;
    }
  }
}

/** Each live sidecar and how many gateways it registers (its regbot share). */
function sidecarShares(status: RegbotClusterStatus): { instanceId: string; self: boolean; gateways: number }[] {
  return status.liveInstances.map((instanceId) => ({
    instanceId,
    self: instanceId === status.instanceId,
    gateways: status.gateways.filter((gateway) => gateway.owner === instanceId).length,
  }));
}
