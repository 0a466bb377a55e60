import type { CidrSet } from '../net/cidr';
import type { Logger } from '../ops/logger';

const MAX_REMEMBERED = 1000;

/**
 * Decides whether a status ping may change the cluster's membership. The reference trusts anyone, so any
 * host that can reach the SBC could make itself a feature server; we trust only the private network
 * (JAMBONES_NETWORK_CIDR) and OPTIONS_TRUSTED_CIDR, and treat other sources as external pings.
 */
export class StatusPingTrust {
  private readonly warned = new Set<string>();

  constructor(private readonly trusted: readonly CidrSet[]) {}

  isTrusted(ip: string): boolean {
    return this.trusted.some((set) => set.contains(ip));
  }

  /** Logs an ignored status ping once per source (bounded), so a misconfigured server is noticed without a log flood. */
  noteUntrusted(ip: string, logger: Logger): void {
    if (this.warned.has(ip)) return;
    if (this.warned.size >= MAX_REMEMBERED) this.warned.clear();
    this.warned.add(ip);
    logger.warn({ source: ip },
      'status OPTIONS from outside JAMBONES_NETWORK_CIDR/OPTIONS_TRUSTED_CIDR ignored (answered as an external ping)');
  }
}
