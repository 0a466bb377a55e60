import type { Config } from '../config/config';
import type { Database } from '../db/database';
import { findJambonzVersion } from '../db/schema-version';
import { CidrSet } from '../net/cidr';
import type { MembershipRegistry } from './membership-registry';
import { SourceTrust, DISCOVERY_IGNORED } from './source-trust';
import { TopologyDiscovery } from './topology-discovery';

export interface TopologyDiscoveryClients {
  db: Database;
  membership: MembershipRegistry;
  /** JAMBONES_NETWORK_CIDR, already parsed. */
  network: CidrSet;
  drachtioVersion: () => string | undefined;
}

/**
 * Topology discovery when JAMBONES_SERVER_CONTROL is on, else undefined. It answers the sources trusted
 * for status pings (the private network and OPTIONS_TRUSTED_CIDR) and SERVER_CONTROL_TRUSTED_CIDR: a host
 * that may change the membership may read it, and nobody else learns the cluster's internal addresses
 * unless the operator says so (`0.0.0.0/0,::/0` answers anyone, as the reference does).
 */
export function createTopologyDiscovery(config: Config, clients: TopologyDiscoveryClients): TopologyDiscovery | undefined {
  if (!config.options.serverControl) return undefined;
  const trust = new SourceTrust([
    clients.network,
    new CidrSet(config.options.trustedCidrs),
    new CidrSet(config.options.discoveryTrustedCidrs),
  ], DISCOVERY_IGNORED);
  return new TopologyDiscovery({
    servers: () => clients.membership.servers(),
    jambonzVersion: () => findJambonzVersion(clients.db),
    drachtioVersion: clients.drachtioVersion,
    trust,
  });
}
