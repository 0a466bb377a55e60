/**
 * Who registers which gateway. Two layers:
 *
 * - `<cluster>:regbot-token`, the reference's leader key, kept for mixed clusters: while a process that
 *   is not one of ours holds it, we register nothing. One of our instances holds it (SET NX PX, renewed
 *   by compare-and-set), so a reference sidecar that starts beside us stays passive.
 * - Among our instances the work is shared: each heartbeats into the `<cluster>:regbot-instances` zset
 *   (score = expiry in ms) and a gateway belongs to the live instance with the highest rendezvous hash of
 *   (instance, gateway). When an instance joins or leaves, only its share moves.
 *
 * A killed instance's heartbeat runs out after 2/3 of the lease TTL and the others pick up its gateways
 * at their next heartbeat (every 1/4 TTL), so failover completes within one lease period.
 *
 * Draining (scale-in): the instance leaves the set and the lease for good, and heartbeats into
 * `<cluster>:regbot-draining` instead. Once a successor exists (an instance in the set, or any holder of the
 * lease, a reference sidecar included) it has handed over: it owns nothing, ever again, and leaves the
 * draining set too. Until then the draining instances share the gateways among themselves as the set did,
 * so the last instances keep the cluster's registrations alive and a drained one never takes any back.
 */
import { createHash, randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { keys } from '../store/keys';
import { RedisLease } from '../store/redis-lease';
import { execOrThrow } from '../store/redis-multi';

/** Our token prefix: a holder with it is one of ours; anything else is a reference sidecar. */
export const TOKEN_PREFIX = 'sip-sidecar:';

export type OwnershipMode = 'ours' | 'foreign' | 'unknown';

export function rendezvousOwner(instances: readonly string[], gatewaySid: string): string | undefined {
  let best: string | undefined;
  let bestScore = '';
  for (const instance of instances) {
    const score = createHash('sha1').update(`${instance}|${gatewaySid}`).digest('hex');
    if (score > bestScore) {
      best = instance;
      bestScore = score;
    }
  }
  return best;
}

function listOf(reply: unknown): string[] {
  return Array.isArray(reply) ? (reply as string[]).slice().sort() : [];
}

export class GatewayOwnership {
  readonly instanceId = randomUUID();
  private readonly lease: RedisLease;
  private liveInstances: string[] = [];
  mode: OwnershipMode = 'unknown';
  /** Scale-in: never in the instance set nor the lease holder again. */
  draining = false;
  /** Draining, and a successor was seen: owns nothing from then on. */
  handedOver = false;
  /** The heartbeat, drain or leave in progress (see serialized). */
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly redis: Redis, private readonly clusterId: string, readonly ttlMs: number,
    private readonly now: () => number = Date.now) {
    this.lease = new RedisLease(redis, keys.regbotToken(clusterId), `${TOKEN_PREFIX}${this.instanceId}`, ttlMs);
  }

  get heartbeatMs(): number {
    return Math.max(100, Math.floor(this.ttlMs / 4));
  }

  get live(): readonly string[] {
    return this.liveInstances;
  }

  /** Heartbeat and lease check; true when the set of gateways we own may have changed. */
  tick(): Promise<boolean> {
    return this.serialized(() => this.tickNow());
  }

  private async tickNow(): Promise<boolean> {
    const before = this.signature();
    if (this.draining) {
      await this.drainingTick();
    } else {
      this.liveInstances = await this.heartbeat();
      this.mode = await this.checkLease();
    }
    return this.signature() !== before;
  }

  owns(gatewaySid: string): boolean {
    if (this.mode !== 'ours') return false;
    if (this.handedOver) return false;
    return rendezvousOwner(this.liveInstances, gatewaySid) === this.instanceId;
  }

  /** Scale-in: leave the instance set and the lease, never to claim either again. */
  drain(): Promise<void> {
    this.draining = true;
    return this.serialized(async () => {
      await this.redis.zrem(keys.regbotInstances(this.clusterId), this.instanceId);
      await this.lease.release();
    });
  }

  otherLiveInstances(): number {
    return this.liveInstances.filter((id) => id !== this.instanceId).length;
  }

  /** On shutdown: others take over at their next heartbeat instead of after our heartbeat expires. */
  leave(): Promise<void> {
    return this.serialized(async () => {
      this.mode = 'unknown';
      await this.redis.zrem(keys.regbotInstances(this.clusterId), this.instanceId);
      if (this.draining) await this.redis.zrem(keys.regbotDraining(this.clusterId), this.instanceId);
      await this.lease.release();
    });
  }

  /**
   * Heartbeats, drain and leave run one after the other. A heartbeat takes the lease and joins the set in
   * several round trips; were a drain or a leave to run in between, the heartbeat would put us back in the
   * set or take the lease again after they left both (seen: a drained instance holding the lease).
   */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.pending.then(task);
    this.pending = run.catch(() => undefined);
    return run;
  }

  private signature(): string {
    return `${this.mode}|${this.liveInstances.join(',')}|${this.draining}|${this.handedOver}`;
  }

  /**
   * Draining: look for a successor without joining the set or claiming the lease; until there is one,
   * heartbeat among the draining instances (their live list is what `owns` shares out).
   */
  private async drainingTick(): Promise<void> {
    const instances = keys.regbotInstances(this.clusterId);
    const draining = keys.regbotDraining(this.clusterId);
    const now = this.now();
    const multi = this.redis.multi()
      .zrem(instances, this.instanceId)
      .zremrangebyscore(instances, '-inf', now)
      .zrange(instances, 0, -1);
    if (this.handedOver) multi.zrem(draining, this.instanceId);
    else multi.zadd(draining, now + Math.floor((this.ttlMs * 2) / 3), this.instanceId);
    const results = await execOrThrow(multi
      .zremrangebyscore(draining, '-inf', now)
      .zrange(draining, 0, -1)
      .pexpire(draining, this.ttlMs * 2));
    const active = listOf(results[2]);
    let holder = await this.lease.holder();
    if (holder === this.lease.token && await this.lease.release()) holder = undefined;
    this.mode = holder !== undefined && !holder.startsWith(TOKEN_PREFIX) ? 'foreign' : 'ours';
    if (!this.handedOver && (active.length > 0 || holder !== undefined)) {
      this.handedOver = true;
      await this.redis.zrem(draining, this.instanceId);
    }
    this.liveInstances = this.handedOver ? [] : listOf(results[5]);
  }

  private async heartbeat(): Promise<string[]> {
    const key = keys.regbotInstances(this.clusterId);
    const now = this.now();
    const expiry = now + Math.floor((this.ttlMs * 2) / 3);
    const [, , members] = await execOrThrow(this.redis.multi()
      .zadd(key, expiry, this.instanceId)
      .zremrangebyscore(key, '-inf', now)
      .zrange(key, 0, -1)
      .pexpire(key, this.ttlMs * 2));
    return listOf(members);
  }

  private async checkLease(): Promise<OwnershipMode> {
    if (await this.lease.acquireOrRenew()) return 'ours';
    const holder = await this.lease.holder();
    if (holder === undefined) return (await this.lease.acquire()) ? 'ours' : 'unknown';
    return holder.startsWith(TOKEN_PREFIX) ? 'ours' : 'foreign';
  }
}
