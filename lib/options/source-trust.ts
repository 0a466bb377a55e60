import type { CidrSet } from '../net/cidr';
import type { Logger } from '../ops/logger';

const MAX_REMEMBERED = 1000;

/**
 * Decides whether a source may do something an OPTIONS can ask for: change the cluster's membership (a
 * status ping) or read its topology (a discovery request). Were anyone allowed, any host that can reach the
 * SBC could make itself a feature server or map the cluster's internal addresses (jambonz restricts status
 * pings to JAMBONES_NETWORK_CIDR since 0.9.7 but answers discovery to anyone); we allow only the given
 * networks (the private network JAMBONES_NETWORK_CIDR and the operator's allow-lists), and answer other
 * sources as an ordinary external ping.
 */
export class SourceTrust {
  private readonly warned = new Set<string>();

  /** `ignored`: the log line written, once per source, when a request from outside is ignored. */
  constructor(private readonly trusted: readonly CidrSet[], private readonly ignored: string) {}

  isTrusted(ip: string): boolean {
    return this.trusted.some((set) => set.contains(ip));
  }

  /** Logs an ignored request once per source (bounded), so a misconfigured server is noticed without a log flood. */
  noteUntrusted(ip: string, logger: Logger): void {
    if (this.warned.has(ip)) return;
    if (this.warned.size >= MAX_REMEMBERED) this.warned.clear();
    this.warned.add(ip);
    logger.warn({ source: ip }, this.ignored);
  }
}

export const STATUS_PING_IGNORED =
  'status OPTIONS from outside JAMBONES_NETWORK_CIDR/OPTIONS_TRUSTED_CIDR ignored (answered as an external ping)';
export const DISCOVERY_IGNORED =
  'X-Jambonz-Discover OPTIONS from outside JAMBONES_NETWORK_CIDR/OPTIONS_TRUSTED_CIDR/SERVER_CONTROL_TRUSTED_CIDR '
  + 'ignored (answered as an external ping)';
