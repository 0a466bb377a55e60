import type Redis from 'ioredis';
import { keys } from '../store/keys';
import { execOrThrow } from '../store/redis-multi';
import { CHECK_IN_SCRIPT, SWEEP_SCRIPT } from './membership-scripts';
import type { MemberKind, StatusPing } from './status-ping';

export interface CheckInResult {
  /** 'open', 'closed', or 'drained' (an open ping from a drained feature server, recorded as closed). */
  status: string;
  /** Members of the fs or rtp set after the change: the X-Members answer. */
  members: number;
  /** Whether the member joined or left the set with this ping. */
  changed: boolean;
}

export interface ClusterServers {
  featureServers: string[];
  sipServers: string[];
  rtpServers: string[];
}

export interface SweepResult {
  set: string;
  removed: string[];
}

/**
 * The cluster's membership sets in Redis (`<cluster>:active-fs`, `:fs-service-url`, `:active-rtp`), with
 * jambonz's contents, plus the shared last-seen hash per set (jambonz 0.9.7's `<set>:lastseen`) so that
 * expiry does not depend on which sidecar, of either kind, drachtio happened to give a server's pings to.
 */
export class MembershipRegistry {
  constructor(private readonly redis: Redis, private readonly cluster: string) {}

  async checkIn(ping: StatusPing, now = Date.now()): Promise<CheckInResult> {
    const keyList = this.checkInKeys(ping.kind);
    const reply = await this.redis.eval(CHECK_IN_SCRIPT, keyList.length, ...keyList,
      ping.member, ping.sourceIp, ping.open ? 'open' : 'closed', String(now), ping.serviceUrl ?? '');
    return parseCheckInReply(reply);
  }

  /** Expires members not seen for `expiresMs` from every set; see SWEEP_SCRIPT. */
  async sweep(expiresMs: number, now = Date.now()): Promise<SweepResult[]> {
    const results: SweepResult[] = [];
    for (const set of this.sets()) {
      const reply = await this.redis.eval(SWEEP_SCRIPT, 2, set, keys.membershipLastSeen(set), String(now), String(expiresMs));
      results.push({ set, removed: Array.isArray(reply) ? reply.map(String) : [] });
    }
    return results;
  }

  async members(kind: MemberKind): Promise<string[]> {
    const set = kind === 'fs' ? keys.activeFeatureServers(this.cluster) : keys.activeRtpServers(this.cluster);
    return (await this.redis.smembers(set)).sort();
  }

  /**
   * The cluster's servers as announced in Redis: feature servers (`ip:port`), SIP servers (the SBCs, kept
   * by sbc-inbound in `<cluster>:active-sip`) and RTP servers, sorted, read in one transaction.
   */
  async servers(): Promise<ClusterServers> {
    const replies = await execOrThrow(this.redis.multi()
      .smembers(keys.activeFeatureServers(this.cluster))
      .smembers(keys.activeSipServers(this.cluster))
      .smembers(keys.activeRtpServers(this.cluster)));
    const [fs, sip, rtp] = (replies as string[][]).map((members) => members.sort());
    return { featureServers: fs, sipServers: sip, rtpServers: rtp };
  }

  /** Sizes of the active feature-server and RTP-server sets (the gauges). */
  async sizes(): Promise<Record<MemberKind, number>> {
    const [fs, rtp] = await Promise.all([
      this.redis.scard(keys.activeFeatureServers(this.cluster)),
      this.redis.scard(keys.activeRtpServers(this.cluster)),
    ]);
    return { fs, rtp };
  }

  private checkInKeys(kind: MemberKind): string[] {
    if (kind === 'rtp') {
      const set = keys.activeRtpServers(this.cluster);
      return [set, keys.membershipLastSeen(set)];
    }
    const set = keys.activeFeatureServers(this.cluster);
    const urls = keys.featureServerServiceUrls(this.cluster);
    return [set, keys.membershipLastSeen(set), keys.drainedFeatureServers(this.cluster), urls, keys.membershipLastSeen(urls)];
  }

  private sets(): string[] {
    return [
      keys.activeFeatureServers(this.cluster),
      keys.featureServerServiceUrls(this.cluster),
      keys.activeRtpServers(this.cluster),
    ];
  }
}

function parseCheckInReply(reply: unknown): CheckInResult {
  if (!Array.isArray(reply) || reply.length !== 3) throw new Error('unexpected reply from the check-in script');
  return { status: String(reply[0]), members: Number(reply[1]), changed: Number(reply[2]) === 1 };
}
