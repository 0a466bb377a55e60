import crypto from 'node:crypto';
import type Redis from 'ioredis';
import type { OptionsConfig } from '../config/config';
import type { Database } from '../db/database';
import { Gateways, PingableGateway } from '../db/gateways';
import type { Alerter } from '../ops/alerts';
import type { Logger } from '../ops/logger';
import { RedisLease } from '../store/redis-lease';
import { keys } from '../store/keys';
import { GatewayHealth } from './gateway-health';
import { pingTarget, PingTarget } from './gateway-target';
import { describeOutcome, PingOutcome, SipRequester, sendOptionsPing } from './options-ping';

export interface CarrierPingerOptions {
  intervalMs: number;
  timeoutMs: number;
  /** OPTIONS_PING_TTL (s) of `blacklist-sip-gateway:<sid>`, refreshed while the gateway stays down. */
  blacklistTtlSec: number;
  downAfter: number;
  upAfter: number;
  /** OPTIONS_RESPONSE_REMOVE */
  responseRemove: readonly number[];
}

export interface CarrierPingerDeps {
  srf: SipRequester;
  gateways: Gateways;
  redis: Redis;
  /** Held by the one sidecar of the cluster that pings, so carriers see one ping per interval, not one per SBC. */
  lease: RedisLease;
  alerter: Alerter;
  logger: Logger;
  connected: () => boolean;
}

/** At most this many pings in flight, so a large carrier list does not leave as one burst. */
const CONCURRENCY = 50;

/**
 * OPTIONS health pings to carrier gateways with `send_options_ping`. A gateway that is down carries
 * `blacklist-sip-gateway:<sid>` ('1', TTL OPTIONS_PING_TTL), which sbc-outbound checks before routing to it.
 * One alert per state change; a status in OPTIONS_RESPONSE_REMOVE switches the gateway's pings off.
 */
export class CarrierPinger {
  private timer: NodeJS.Timeout | undefined;
  private readonly health = new Map<string, GatewayHealth>();
  private running = false;
  private leading = false;

  constructor(private readonly opts: CarrierPingerOptions, private readonly deps: CarrierPingerDeps) {}

  /** Started once per process (not per drachtio connect); the first round comes after one interval, as in jambonz. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.leading) await this.deps.lease.release().catch(() => false);
    this.leading = false;
  }

  /** One round; exposed for tests. Never throws. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      if (await this.holdLease()) await this.pingAll();
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'carrier OPTIONS ping round failed');
    } finally {
      this.running = false;
    }
  }

  /** Without drachtio we cannot ping, so we let the lease lapse for a sidecar that can. */
  private async holdLease(): Promise<boolean> {
    const held = this.deps.connected() && (await this.deps.lease.acquireOrRenew());
    if (held !== this.leading) {
      this.deps.logger.info(held ? 'this sidecar now pings carrier gateways' : 'another sidecar pings carrier gateways');
      // Another sidecar's results are newer than ours; start from Redis again if we lead later.
      if (!held) this.health.clear();
    }
    this.leading = held;
    return held;
  }

  private async pingAll(): Promise<void> {
    const gateways = await this.deps.gateways.pingable();
    const live = new Set(gateways.map((g) => g.sipGatewaySid));
    for (const sid of this.health.keys()) if (!live.has(sid)) this.health.delete(sid);
    let next = 0;
    const worker = async () => {
      while (next < gateways.length) await this.pingOne(gateways[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, gateways.length) }, worker));
  }

  private async pingOne(gateway: PingableGateway): Promise<void> {
    const target = pingTarget(gateway);
    const outcome = await sendOptionsPing(this.deps.srf, target.uri, { method: 'OPTIONS', proxy: target.proxy },
      this.opts.timeoutMs);
    try {
      await this.apply(gateway, target, outcome);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, gateway: target.label }, 'could not record a carrier ping result');
    }
  }

  private async apply(gateway: PingableGateway, target: PingTarget, outcome: PingOutcome): Promise<void> {
    const ok = 'status' in outcome && outcome.status === 200;
    if ('status' in outcome && !ok && this.opts.responseRemove.includes(outcome.status)) {
      await this.disable(gateway, outcome.status);
      return;
    }
    const health = await this.healthOf(gateway);
    const transition = health.record(ok);
    const blacklistKey = keys.blacklistedGateway(gateway.sipGatewaySid);
    if (transition === 'came-up') {
      await this.deps.redis.del(blacklistKey);
      this.report(gateway, 'info', `Options ping ${target.label} successful again`);
    } else if (health.state === 'down') {
      // Refreshed on every miss so the key cannot lapse while the gateway is still down.
      await this.deps.redis.set(blacklistKey, '1', 'EX', this.opts.blacklistTtlSec);
      if (transition === 'went-down') {
        this.report(gateway, 'warn', `Options ping ${target.label} unsuccessfully, received: ${describeOutcome(outcome)}`);
      }
    }
    if (!ok) this.deps.logger.debug({ gateway: target.label, received: describeOutcome(outcome), state: health.state }, 'carrier ping missed');
  }

  private async healthOf(gateway: PingableGateway): Promise<GatewayHealth> {
    let health = this.health.get(gateway.sipGatewaySid);
    if (!health) {
      // A gateway another sidecar (or an earlier run) took down stays down until it proves itself.
      const down = (await this.deps.redis.exists(keys.blacklistedGateway(gateway.sipGatewaySid))) === 1;
      health = new GatewayHealth(down ? 'down' : 'up', this.opts.downAfter, this.opts.upAfter);
      this.health.set(gateway.sipGatewaySid, health);
    }
    return health;
  }

  private async disable(gateway: PingableGateway, status: number): Promise<void> {
    await this.deps.gateways.disableOptionsPing(gateway.sipGatewaySid);
    await this.deps.redis.set(keys.blacklistedGateway(gateway.sipGatewaySid), '1', 'EX', this.opts.blacklistTtlSec);
    this.health.delete(gateway.sipGatewaySid);
    this.report(gateway, 'warn',
      `Disabling Options ping for ${gateway.ipv4} in carrier ${gateway.carrierName}:${gateway.voipCarrierSid} due to ${status}`);
  }

  private report(gateway: PingableGateway, level: 'info' | 'warn', message: string): void {
    this.deps.logger[level]({ sipGatewaySid: gateway.sipGatewaySid, carrier: gateway.carrierName }, message);
    this.deps.alerter.write({
      account_sid: gateway.accountSid ?? undefined,
      service_provider_sid: gateway.serviceProviderSid ?? undefined,
      target_sid: gateway.voipCarrierSid,
      message,
    });
  }
}

/** The pinger as configured by the environment (SEND_OPTIONS_PING_INTERVAL, OPTIONS_PING_*). */
export function createCarrierPinger(config: { clusterId: string; options: OptionsConfig },
  deps: Omit<CarrierPingerDeps, 'gateways' | 'lease'> & { db: Database }): CarrierPinger {
  const intervalMs = config.options.sendPingIntervalSec * 1000;
  // Long enough to survive one late round; short enough that another sidecar takes over within two intervals.
  const leaseMs = 2 * intervalMs + config.options.pingTimeoutMs;
  const lease = new RedisLease(deps.redis, keys.optionsPingerLease(config.clusterId), crypto.randomUUID(), leaseMs);
  return new CarrierPinger({
    intervalMs,
    timeoutMs: config.options.pingTimeoutMs,
    blacklistTtlSec: config.options.pingTtlSec,
    downAfter: config.options.pingDownAfter,
    upAfter: config.options.pingUpAfter,
    responseRemove: config.options.responseRemove,
  }, { ...deps, gateways: new Gateways(deps.db), lease });
}
