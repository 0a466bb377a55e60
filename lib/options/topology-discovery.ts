/**
 * Topology discovery (jambonz's server control, JAMBONES_SERVER_CONTROL): an OPTIONS carrying
 * `X-Jambonz-Discover: true` is answered with the cluster's servers and versions as JSON, so a management
 * tool can find the feature, SIP and RTP servers behind an SBC by asking the SBC.
 */
import type { HeaderLookup } from '../drachtio/sip-router';
import type { Logger } from '../ops/logger';
import type { ClusterServers } from './membership-registry';
import type { SourceTrust } from './source-trust';

/** The JSON body, with the reference's field names and order. */
export interface Topology extends ClusterServers {
  /** `schema_version.version` of the jambonz database; null when it cannot be read. */
  jambonzVersion: string | null;
  /** The version drachtio-server gave at connect; null before the first connect. */
  drachtioVersion: string | null;
}

export interface TopologyDiscoveryDeps {
  servers: () => Promise<ClusterServers>;
  jambonzVersion: () => Promise<string | undefined>;
  drachtioVersion: () => string | undefined;
  /** Who may ask: the status-ping trust plus SERVER_CONTROL_TRUSTED_CIDR. */
  trust: SourceTrust;
}

export class TopologyDiscovery {
  constructor(private readonly deps: TopologyDiscoveryDeps) {}

  /** The header as the reference reads it: `true` in any case, blanks around it ignored. */
  static isRequest(header: HeaderLookup): boolean {
    return /^true$/i.test(header('X-Jambonz-Discover')?.trim() ?? '');
  }

  get trust(): SourceTrust {
    return this.deps.trust;
  }

  /**
   * The topology. Throws when Redis cannot be read (the caller answers 503); the jambonz version is only
   * informative, so a database problem leaves it null rather than failing the answer, as in the reference.
   */
  async discover(logger: Logger): Promise<Topology> {
    const [servers, jambonzVersion] = await Promise.all([
      this.deps.servers(),
      this.deps.jambonzVersion().catch((err: Error) => {
        logger.debug({ err: err.message }, 'schema_version could not be read; jambonzVersion is null');
        return undefined;
      }),
    ]);
    return {
      jambonzVersion: jambonzVersion ?? null,
      drachtioVersion: this.deps.drachtioVersion() || null,
      ...servers,
    };
  }
}
