/**
 * regbot: keeps every carrier gateway that requires registration registered, once per cluster.
 * Periodically (and whenever the set of live instances or the lease changes) it reads the carriers,
 * keeps the gateways this instance owns, and applies only the differences: new gateways start (paced),
 * changed ones are un-REGISTERed and registered again, removed ones are un-REGISTERed, and gateways
 * handed over to another instance are dropped silently, unless our Contact carries this SBC's address:
 * the new owner registers a Contact of its own, so ours is un-REGISTERed once it has had time to.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import type Srf from 'drachtio-srf';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import { disableCarrierRegistration, loadRegistrationRows, loadSipDomainName } from '../db/carriers';
import type { DrachtioServerInfo } from '../drachtio/connection';
import { AlertType, Alerter } from '../ops/alerts';
import type { Logger } from '../ops/logger';
import type { RegbotMetrics } from '../ops/metrics';
import { within } from '../ops/shutdown';
import { publicSipAddresses } from '../sip/hostports';
import { EphemeralGateways } from './ephemeral-gateways';
import { GatewayAddresses } from './gateway-addresses';
import { GatewayOwnership } from './gateway-ownership';
import { GatewayRegistration, RegistrationDeps, RegistrationState } from './gateway-registration';
import { SendSlots } from './send-slots';
import { Pacer } from './pacer';
import { StateChangeFilter } from './state-change-filter';
import { SrfRegisterSender } from './register-sender';
import { DbStatusWriter, readRegisterStatuses, StatusFacts } from './register-status';
import {
  clusterStatus, LiveGateway, RegbotClusterStatus, RegbotNotRunning, registrationIdentity,
} from './regbot-status';
import { RegistrationTarget, aorOf, toTarget } from './registration-target';
import { contactOf } from './register-request-builder';
import { handOverGraceMs, LeavingRegistrations } from './leaving-registrations';

/** Retry of a failed first heartbeat (Redis not connected yet at start-up). */
const FIRST_HEARTBEAT_RETRY_MS = 500;

export interface RegbotDeps {
  config: Config;
  db: Database;
  redis: Redis;
  srf: Srf;
  alerter: Alerter;
  logger: Logger;
  serverInfo: () => DrachtioServerInfo | undefined;
  metrics?: RegbotMetrics;
}

export interface GatewayStatus {
  gatewaySid: string;
  carrierSid: string;
  aor: string;
  state: RegistrationState;
  /** The last final response ("200 OK") or why none came, and when. */
  lastResponse?: string;
  lastResponseAt?: string;
  nextAttemptAt?: string;
}

/** Every state a registration can be in, so that /metrics shows zeros rather than missing series. */
const REGISTRATION_STATES: readonly RegistrationState[] = ['idle', 'registering', 'registered', 'failed', 'stopped'];

export class Regbot {
  private readonly registrations = new Map<string, GatewayRegistration>();
  private readonly ownership: GatewayOwnership;
  private readonly status: DbStatusWriter;
  private readonly ephemeral: EphemeralGateways;
  private readonly pacer: Pacer;
  private readonly registrationDeps: RegistrationDeps;
  private sipDomainName: string | undefined;
  private readonly reportedInvalid = new Map<string, string>();
  private readonly stateChanges = new StateChangeFilter<GatewayRegistration>();
  /** Handed over with our own address in the Contact: refreshed until their delayed un-REGISTER. */
  private readonly leaving = new LeavingRegistrations(() => {
    if (this.ownership.handedOver) this.noteDrained();
  });
  private drainedLogged = false;
  private timers: NodeJS.Timeout[] = [];
  private reconciling: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: RegbotDeps) {
    const { config, redis, logger } = deps;
    this.ownership = new GatewayOwnership(redis, config.clusterId, config.regbot.leaseTtlMs);
    this.status = new DbStatusWriter(deps.db, logger);
    const addresses = new GatewayAddresses({ servers: config.regbot.dnsServers });
    this.ephemeral = new EphemeralGateways(redis, addresses);
    this.pacer = new Pacer(config.regbot.newPerSecond);
    this.registrationDeps = {
      sender: new SrfRegisterSender(deps.srf, config.regbot.transactionTimeoutMs),
      slots: new SendSlots(config.regbot.maxInFlight),
      status: { write: (carrierSid, facts) => this.recordOutcome(carrierSid, facts) },
      ephemeral: this.ephemeral,
      addresses,
      contactContext: () => ({
        publicAddresses: publicSipAddresses(deps.serverInfo()?.hostport),
        sipDomainName: this.sipDomainName,
        contactUseIp: config.regbot.contactUseIp,
      }),
      sbcAddress: () => deps.serverInfo()?.hostport,
      config: config.regbot,
      userAgent: config.regbot.userAgent ?? defaultUserAgent(),
      logger,
      random: Math.random,
      now: Date.now,
      onThreshold: (target, reason) => this.disableCarrier(target, reason),
      onStateChange: (reg, from, to) => this.logStateChange(reg, from, to),
    };
  }

  /** Idempotent: drachtio reconnects emit 'connect' again. */
  start(): void {
    if (this.timers.length > 0 || this.stopped) return;
    this.deps.logger.info({ instanceId: this.ownership.instanceId }, 'regbot: started');
    void this.heartbeat(true);
    this.timers.push(setInterval(() => void this.heartbeat(false), this.ownership.heartbeatMs));
    this.timers.push(setInterval(() => this.requestReconcile(), this.deps.config.regbot.reloadIntervalMs));
  }

  /** Started (drachtio connected once) and not stopped. */
  get running(): boolean {
    return this.timers.length > 0 && !this.stopped;
  }

  /** This instance's registrations, live (GET /regbot). */
  snapshot(): {
    instanceId: string; mode: string; running: boolean; draining: boolean; liveInstances: readonly string[]; gateways: GatewayStatus[];
  } {
    const gateways = [...this.registrations.values()].map((reg) => ({
      gatewaySid: reg.target.gatewaySid,
      carrierSid: reg.target.carrierSid,
      aor: aorOf(reg.target),
      ...this.liveView(reg),
    }));
    return {
      instanceId: this.ownership.instanceId, mode: this.ownership.mode, running: this.running,
      draining: this.ownership.draining, liveInstances: this.ownership.live, gateways,
    };
  }

  /** How many of our registrations are in each state (every state present, 0 when none). */
  stateCounts(): Record<RegistrationState, number> {
    const counts = Object.fromEntries(REGISTRATION_STATES.map((state) => [state, 0])) as Record<RegistrationState, number>;
    for (const reg of this.registrations.values()) counts[reg.state]++;
    return counts;
  }

  /**
   * `regbot status`: every gateway that needs registration (MySQL), its owner among the live instances,
   * our live state for the gateways we register and the register_status the owner wrote for the others.
   */
  async clusterStatus(): Promise<RegbotClusterStatus> {
    if (!this.running) throw new RegbotNotRunning('regbot is not running on this instance (not connected to drachtio yet, or shutting down)');
    const rows = await loadRegistrationRows(this.deps.db);
    const statuses = await readRegisterStatuses(this.deps.db, [...new Set(rows.map((row) => row.voipCarrierSid))]);
    const live = new Map<string, LiveGateway>([...this.registrations].map(([sid, reg]) => [sid, this.liveView(reg)]));
    const { instanceId, mode, live: liveInstances } = this.ownership;
    return clusterStatus({ rows, statuses, live, ownership: { instanceId, mode, liveInstances }, now: Date.now() });
  }

  private liveView(reg: GatewayRegistration): LiveGateway {
    const last = reg.lastOutcome;
    return {
      state: reg.state,
      lastResponse: last?.reason,
      lastResponseAt: last ? new Date(last.at).toISOString() : undefined,
      nextAttemptAt: reg.nextAttemptAt && reg.state !== 'stopped' ? new Date(reg.nextAttemptAt).toISOString() : undefined,
    };
  }

  /** Every final response of our registrations: counted, then written to MySQL. */
  private recordOutcome(carrierSid: string, facts: StatusFacts): Promise<void> {
    this.deps.metrics?.regbotRegisterOutcome(facts.status === undefined ? 'none' : String(facts.status));
    return this.status.write(carrierSid, facts);
  }

  /** Issue 7: one structured line per state change of a gateway's registration. */
  private logStateChange(reg: GatewayRegistration, from: RegistrationState, to: RegistrationState): void {
    const change = this.stateChanges.changed(reg, from, to);
    if (!change) return;
    this.deps.logger.info({ gatewaySid: reg.target.gatewaySid, carrierSid: reg.target.carrierSid, aor: aorOf(reg.target), ...change },
      'regbot: gateway state changed');
  }

  /**
   * Scale-in (AWS_LIFECYCLE_DRAIN): leave the instance set and the lease for good. Our gateways go to the
   * other live instances, or to a reference sidecar that takes the lease; while there is no one, this
   * instance keeps registering them (the last instance must not let the cluster's registrations lapse).
   */
  async drain(): Promise<void> {
    if (this.stopped || this.ownership.draining) return;
    this.deps.logger.info({ registrations: this.registrations.size }, 'regbot: draining (scale-in); handing the gateways over');
    try {
      await this.ownership.drain();
    } catch (err) {
      // draining is set all the same: the instance set forgets us when our heartbeat expires, the lease at its TTL
      this.deps.logger.warn({ err: (err as Error).message }, 'regbot: could not leave the instance set (Redis); they expire instead');
    }
    if (!this.running) return; // start() reconciles with the draining ownership
    await this.heartbeat(false);
    this.requestReconcile();
  }

  /**
   * Shutdown: leave the cluster first (the others take over at their next heartbeat), then drop our
   * registrations, un-REGISTERing (when configured) those no other instance will take over: all of them
   * when there is none, else those whose Contact carries this SBC's address.
   * Returns within `budgetMs` whatever Redis or the carriers do: a carrier that does not answer its
   * un-REGISTER must not hold the process past the shutdown deadline.
   */
  async stop(budgetMs: number): Promise<void> {
    const deadline = Date.now() + budgetMs;
    const wasOurs = this.ownership.mode === 'ours';
    this.stopped = true;
    this.pacer.clear();
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    const others = this.ownership.otherLiveInstances();
    await within(this.ownership.leave(), Math.min(500, budgetMs / 4));
    const allowed = this.deps.config.regbot.unregisterOnShutdown;
    const unregisterOf = (reg: GatewayRegistration): boolean => allowed && (this.ownContact(reg) || (others === 0 && wasOurs));
    const regs = [...this.registrations.values()];
    const handedOver = this.leaving.takeAll();
    let finished = 0;
    const plan = [...regs.map((reg) => ({ reg, remove: unregisterOf(reg) })), ...handedOver.map((reg) => ({ reg, remove: allowed }))];
    const unregisters = plan.filter(({ remove }) => remove).length;
    const stops = plan.map(({ reg, remove }) => reg.stop({ unregister: remove }).then(() => { finished++; }));
    this.registrations.clear();
    await within(Promise.all(stops), Math.max(0, deadline - Date.now()));
    // finished < registrations: the budget ran out (un-REGISTERs still unanswered); they were sent all the same
    await within(this.status.flush(), Math.max(100, deadline - Date.now()));
    this.deps.logger.info({ registrations: plan.length, finished, unregister: unregisters > 0, unregisters }, 'regbot: stopped');
  }

  /** Our Contact carries this SBC's public address: no other instance registers that binding. */
  private ownContact(reg: GatewayRegistration): boolean {
    return contactOf(reg.target, this.registrationDeps.contactContext()).ownAddress;
  }

  private async heartbeat(first: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      const changed = await this.ownership.tick();
      if (changed || first) {
        const { mode, live, draining, handedOver } = this.ownership;
        this.deps.logger.info({ mode, liveInstances: live.length, ...(draining ? { draining, handedOver } : {}) }, 'regbot: ownership changed');
        this.requestReconcile();
      }
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'regbot: heartbeat failed (Redis); keeping current registrations');
      // At start-up the first heartbeat can run before Redis is connected; waiting a whole heartbeat
      // period (lease TTL / 4, 17.5 s by default) would delay every registration by that much.
      if (first) setTimeout(() => void this.heartbeat(true), FIRST_HEARTBEAT_RETRY_MS).unref();
    }
  }

  /** Reconcile passes never overlap; a request during a pass runs one more pass after it. */
  private requestReconcile(): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = this.reconcile()
      .catch((err: Error) => this.deps.logger.error({ err: err.message }, 'regbot: reconcile failed'))
      .finally(() => {
        this.reconciling = undefined;
        if (this.again) {
          this.again = false;
          this.requestReconcile();
        }
      });
  }

  private async reconcile(): Promise<void> {
    const { mode, handedOver } = this.ownership;
    if (mode !== 'ours') {
      if (this.registrations.size > 0) this.deps.logger.warn({ mode }, 'regbot: not allowed to register; stopping all');
      // a reference sidecar holding the lease registers every gateway: a hand-over to it
      if (mode === 'foreign') await this.handOverAll();
      else await this.dropAll();
      return;
    }
    if (handedOver && this.registrations.size === 0) return this.noteDrained();
    let targets: RegistrationTarget[];
    try {
      [targets, this.sipDomainName] = await Promise.all([this.loadTargets(), loadSipDomainName(this.deps.db)]);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'regbot: cannot read carriers (MySQL); keeping current registrations');
      return;
    }
    if (this.stopped) return;
    await this.apply(targets);
  }

  private async loadTargets(): Promise<RegistrationTarget[]> {
    const rows = await loadRegistrationRows(this.deps.db);
    const targets: RegistrationTarget[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      const result = toTarget(row);
      if (!result.ok) {
        await this.reportInvalid(row.sipGatewaySid, row.voipCarrierSid, result.reason);
        continue;
      }
      this.reportedInvalid.delete(row.sipGatewaySid);
      // the same address and credentials twice would be one binding registered twice (reference dedupe)
      const identity = registrationIdentity(result.target);
      if (seen.has(identity)) continue;
      seen.add(identity);
      targets.push(result.target);
    }
    return targets;
  }

  /** Written once per reason, not on every reload. */
  private async reportInvalid(gatewaySid: string, carrierSid: string, reason: string): Promise<void> {
    if (this.reportedInvalid.get(gatewaySid) === reason) return;
    this.reportedInvalid.set(gatewaySid, reason);
    this.deps.logger.warn({ gatewaySid, carrierSid, reason }, 'regbot: cannot register gateway');
    await this.status.write(carrierSid, { ok: false, reason, now: Date.now() });
  }

  private async apply(targets: RegistrationTarget[]): Promise<void> {
    const all = new Map(targets.map((target) => [target.gatewaySid, target]));
    const retirees: { reg: GatewayRegistration; current: RegistrationTarget | undefined }[] = [];
    for (const [gatewaySid, reg] of this.registrations) {
      const current = all.get(gatewaySid);
      if (current && this.ownership.owns(gatewaySid) && current.configKey === reg.target.configKey) continue;
      this.registrations.delete(gatewaySid);
      retirees.push({ reg, current });
    }
    const graceMs = this.graceFor(retirees.filter(({ reg, current }) => isHandOver(reg, current)).length);
    const retiring = new Map(retirees.map(({ reg, current }) =>
      [reg.target.gatewaySid, { reg, done: this.retire(reg, current, graceMs) }]));
    let started = 0;
    for (const target of targets) {
      if (this.registrations.has(target.gatewaySid) || !this.ownership.owns(target.gatewaySid)) continue;
      const old = retiring.get(target.gatewaySid) ?? this.leaving.takeBack(target);
      const reg = new GatewayRegistration(target, this.registrationDeps);
      this.registrations.set(target.gatewaySid, reg);
      // same Call-ID: the new REGISTER must follow the old binding's un-REGISTER, not race it
      void (old?.done ?? Promise.resolve()).then(() => this.pacer.turn()).then(() => {
        if (this.registrations.get(target.gatewaySid) !== reg) return;
        if (old) reg.continueFrom(old.reg.inheritance());
        reg.start();
      });
      started++;
    }
    await Promise.all([...retiring.values()].map((entry) => entry.done));
    this.deps.logger.info({ registrations: this.registrations.size, started, stopped: retiring.size }, 'regbot: reconciled');
    if (this.ownership.handedOver) this.noteDrained();
  }

  /**
   * Removed or changed in the database → un-REGISTER (a changed gateway registers anew right after).
   * Still in the database but now owned by another instance → a hand-over: that instance registers the
   * gateway and keeps the eph-gw-ip entries alive. With a domain in our Contact it registers the very
   * same binding (same Contact, same Call-ID), so we drop ours silently; with this SBC's address in our
   * Contact it registers a binding of its own, so ours is un-REGISTERed after `graceMs`, once the new
   * owner has had time to register (it must not point a carrier at an SBC that no longer has the gateway).
   */
  private async retire(reg: GatewayRegistration, current: RegistrationTarget | undefined, graceMs: number): Promise<void> {
    const handedOver = isHandOver(reg, current);
    const ownContact = handedOver && this.ownContact(reg);
    this.deps.logger.info({
      gatewaySid: reg.target.gatewaySid, aor: aorOf(reg.target),
      reason: handedOver ? 'hand-over' : current ? 'changed' : 'removed', ...(ownContact ? { unregisterInMs: graceMs } : {}),
    }, 'regbot: retiring registration');
    if (ownContact) return this.leaving.add(reg, graceMs);
    await reg.stop({ unregister: !handedOver });
    if (!current && reg.target.trunkType === 'reg') {
      await this.ephemeral.remove(reg.target).catch((err: Error) =>
        this.deps.logger.warn({ err: err.message }, 'regbot: could not remove eph-gw-ip entries'));
    }
  }

  private graceFor(count: number): number {
    return handOverGraceMs(this.ownership.heartbeatMs, count, this.deps.config.regbot.newPerSecond);
  }

  private async dropAll(): Promise<void> {
    const regs = [...this.registrations.values()];
    this.registrations.clear();
    await Promise.all(regs.map((reg) => reg.stop({ unregister: false })));
  }

  /** Every registration goes to the holder of the lease: as in apply(), our own bindings leave after a grace period. */
  private async handOverAll(): Promise<void> {
    const regs = [...this.registrations.values()];
    this.registrations.clear();
    const graceMs = this.graceFor(regs.length);
    await Promise.all(regs.map((reg) => this.retire(reg, reg.target, graceMs)));
  }

  /** Once, when a draining instance has handed everything over and its own bindings are gone. */
  private noteDrained(): void {
    if (this.drainedLogged || this.registrations.size > 0 || this.leaving.size > 0) return;
    this.drainedLogged = true;
    this.deps.logger.info({ liveInstances: this.ownership.live.length, mode: this.ownership.mode }, 'regbot: drained; every gateway handed over');
  }

  private async disableCarrier(target: RegistrationTarget, reason: string): Promise<void> {
    this.registrations.delete(target.gatewaySid);
    const isReg = target.trunkType === 'reg';
    try {
      const found = await disableCarrierRegistration(this.deps.db, target.carrierSid, target.trunkType);
      if (!found) this.deps.logger.warn({ carrierSid: target.carrierSid }, 'regbot: carrier to disable is gone');
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message, carrierSid: target.carrierSid }, 'regbot: could not disable carrier');
    }
    const message = isReg
      ? `Deactivating carrier ${target.carrierName} (sid:${target.carrierSid}) due to registration errors`
      : `Disabling Outbound Registration for carrier ${target.carrierName} (sid:${target.carrierSid})`;
    this.deps.alerter.write({
      alert_type: AlertType.SIP_GATEWAY_REGISTRATION_FAILURE, account_sid: target.accountSid ?? undefined,
      service_provider_sid: target.serviceProviderSid ?? undefined, target_sid: target.carrierSid, message, detail: reason,
    });
    if (isReg) await this.ephemeral.remove(target).catch(() => undefined);
    this.requestReconcile();
  }
}

/** Still in the database with the same settings, so the gateway only changes hands. */
function isHandOver(reg: GatewayRegistration, current: RegistrationTarget | undefined): boolean {
  return current !== undefined && current.configKey === reg.target.configKey;
}

/** The reference sends "Jambonz <version>". */
function defaultUserAgent(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    try {
      const { version } = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string };
      return `Jambonz ${version ?? ''}`.trim();
    } catch {
      break;
    }
  }
  return 'Jambonz';
}
