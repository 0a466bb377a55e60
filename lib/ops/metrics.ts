/**
 * Service metrics, in two forms: a Prometheus registry served on /metrics, and the StatsD names the
 * jambonz sidecar sends (ENABLE_METRICS=1 with the STATS_* variables) so that existing jambonz
 * dashboards keep working. Label values are status codes and fixed words only: never an AoR, an IP
 * or a URL, which would both grow without bound and put customer data in the metrics store.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import StatsDClient, { StatsD } from 'hot-shots';
import type { StatsConfig } from '../config/config';
import type { HookOutcome } from '../hook/registration-hook-client';
import type { Logger } from './logger';

/** What the registrar reports; every method is cheap and never throws. */
export interface RegistrarMetrics {
  /** One final answer to a REGISTER; `fastPath` when it came from the refresh fast path (jambonz's "cached"). */
  registerAnswered(status: number, latencyMs: number, fastPath: boolean): void;
  hookCalled(outcome: HookOutcome): void;
  /** The hook was not called: its circuit breaker is open or too many calls are in flight. */
  hookSkipped(): void;
  authFailed(): void;
  banned(): void;
}

export interface OptionsMetrics {
  /** One final answer to an OPTIONS. */
  optionsAnswered(status: number): void;
  /** Size of the cluster's active feature-server or RTP-server set, as last read from Redis. */
  clusterMembers(kind: 'fs' | 'rtp', count: number): void;
}

/** For regbot (outbound registration to carriers): how many gateways are in each state right now. */
export interface RegbotMetrics {
  /** Replaces the previous counts; a state missing from `counts` goes to 0. */
  regbotGateways(counts: Record<string, number>): void;
  /** One final outcome of an outbound REGISTER: the SIP status ("200", "404") or "none" when no response came. */
  regbotRegisterOutcome(status: string): void;
}

export type HookFailureKind = 'http-status' | 'invalid-body' | 'unreachable' | 'not-called';

/** The millisecond buckets of a REGISTER or hook round trip, in seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How often the event-loop delay histogram (nodejs_eventloop_lag_*) is sampled. */
const EVENT_LOOP_SAMPLE_MS = 100;

export class Metrics implements RegistrarMetrics, OptionsMetrics, RegbotMetrics {
  readonly registry = new Registry();
  private readonly registerResponses: Counter<'status'>;
  private readonly registerDuration: Histogram<'path'>;
  private readonly hookDuration: Histogram<'status'>;
  private readonly hookFailures: Counter<'kind'>;
  private readonly authFailures: Counter;
  private readonly bans: Counter;
  private readonly activeRegistrations: Gauge;
  private readonly options: Counter<'status'>;
  private readonly regbotStates: Gauge<'state'>;
  private readonly regbotOutcomes: Counter<'status'>;
  private regbotCounts: (() => Record<string, number>) | undefined;
  private readonly featureServers: Gauge;
  private readonly rtpServers: Gauge;
  private drachtioConnected: () => boolean = () => false;

  constructor(private readonly statsd?: StatsD) {
    const registers = [this.registry];
    // prom-client samples event-loop delay every 10 ms by default: 100 wake-ups a second of an idle process,
    // about as much CPU as 100 OPTIONS a second. Lag worth alerting on lasts far longer than 100 ms.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.registerResponses = new Counter({ name: 'sip_register_responses_total', help: 'Final answers to REGISTER, by SIP status',
      labelNames: ['status'], registers });
    this.registerDuration = new Histogram({ name: 'sip_register_duration_seconds',
      help: 'Time from receiving a REGISTER to answering it; path is "fast" for the refresh fast path, else "full"',
      labelNames: ['path'], buckets: LATENCY_BUCKETS, registers });
    this.hookDuration = new Histogram({ name: 'registration_hook_duration_seconds',
      help: 'Round trip of registration hook calls, by outcome status (200 granted, 403 refused, else the failure status)',
      labelNames: ['status'], buckets: LATENCY_BUCKETS, registers });
    this.hookFailures = new Counter({ name: 'registration_hook_failures_total',
      help: 'Registration hook calls that failed, or were not made (not-called: circuit open or too many in flight)',
      labelNames: ['kind'], registers });
    this.authFailures = new Counter({ name: 'sip_auth_failures_total', help: 'REGISTERs refused for bad credentials', registers });
    this.bans = new Counter({ name: 'sip_bans_total', help: 'Source addresses banned after failed authentications', registers });
    this.activeRegistrations = new Gauge({ name: 'registrations_active',
      help: 'Live registrations in the cluster (Redis active-user), refreshed every 30 s', registers });
    this.options = new Counter({ name: 'sip_options_total', help: 'OPTIONS requests answered, by SIP status',
      labelNames: ['status'], registers });
    this.regbotStates = new Gauge({ name: 'regbot_gateways',
      help: 'Carrier registrations (regbot) of this instance by state, read at each scrape',
      labelNames: ['state'], registers, collect: () => { if (this.regbotCounts) this.regbotGateways(this.regbotCounts()); } });
    this.regbotOutcomes = new Counter({ name: 'regbot_register_responses_total',
      help: 'Final outcomes of outbound REGISTERs (regbot) by SIP status; "none" when no response came',
      labelNames: ['status'], registers });
    this.featureServers = new Gauge({ name: 'cluster_feature_servers',
      help: 'Members of <cluster>:active-fs (feature servers taking calls), read after each check-in and sweep', registers });
    this.rtpServers = new Gauge({ name: 'cluster_rtp_servers',
      help: 'Members of <cluster>:active-rtp, read after each check-in and sweep', registers });
    const connected: Gauge = new Gauge({ name: 'drachtio_connected', help: '1 while connected to drachtio-server',
      registers, collect: () => connected.set(this.drachtioConnected() ? 1 : 0) });
  }

  /** Reads the drachtio connection state at each scrape rather than tracking its events. */
  watchDrachtio(isConnected: () => boolean): void {
    this.drachtioConnected = isConnected;
  }

  registerAnswered(status: number, latencyMs: number, fastPath: boolean): void {
    this.registerResponses.inc({ status: String(status) });
    this.registerDuration.observe({ path: fastPath ? 'fast' : 'full' }, latencyMs / 1000);
    const name = fastPath ? 'sbc.registration.cached.response_time' : 'sbc.registration.total.response_time';
    this.statsd?.histogram(name, Math.round(latencyMs), [`status:${status}`]);
  }

  hookCalled(outcome: HookOutcome): void {
    const status = hookStatus(outcome);
    this.hookDuration.observe({ status: String(status) }, outcome.latencyMs / 1000);
    if (outcome.kind !== 'reply') this.hookFailures.inc({ kind: outcome.kind });
    const tags = ['hook_type:auth', `status:${status}`];
    this.statsd?.histogram('app.hook.response_time', Math.round(outcome.latencyMs), tags);
    if (status !== 200 && status !== 403) this.statsd?.increment('app.hook.error.count', tags);
  }

  hookSkipped(): void {
    this.hookFailures.inc({ kind: 'not-called' });
  }

  authFailed(): void {
    this.authFailures.inc();
  }

  banned(): void {
    this.bans.inc();
  }

  optionsAnswered(status: number): void {
    this.options.inc({ status: String(status) });
  }

  /** Also jambonz's StatsD gauges `featureservers` / `rtpservers`. */
  clusterMembers(kind: 'fs' | 'rtp', count: number): void {
    (kind === 'fs' ? this.featureServers : this.rtpServers).set(count);
    this.statsd?.gauge(kind === 'fs' ? 'featureservers' : 'rtpservers', count);
  }

  /** Reads regbot's per-state counts at each scrape rather than tracking every change. */
  watchRegbot(counts: () => Record<string, number>): void {
    this.regbotCounts = counts;
  }

  regbotRegisterOutcome(status: string): void {
    this.regbotOutcomes.inc({ status });
  }

  regbotGateways(counts: Record<string, number>): void {
    this.regbotStates.reset();
    for (const [state, count] of Object.entries(counts)) this.regbotStates.set({ state }, count);
  }

  /** The registered-user count: the Prometheus gauge and jambonz's `sbc.users.count`. */
  setActiveRegistrations(count: number): void {
    this.activeRegistrations.set(count);
    this.statsd?.gauge('sbc.users.count', count);
  }

  /** Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Sends what StatsD has buffered and closes its socket. */
  close(): Promise<void> {
    const statsd = this.statsd;
    if (!statsd) return Promise.resolve();
    return new Promise((resolve) => statsd.close(() => resolve()));
  }
}

/**
 * The status jambonz tags a hook call with: 200 when the hook granted, 403 when it refused, the HTTP
 * status when it answered with an error, and 500 when it gave nothing usable (jambonz's fallback).
 */
function hookStatus(outcome: HookOutcome): number {
  switch (outcome.kind) {
    case 'reply':
      return String(outcome.reply.status).toLowerCase() === 'ok' ? 200 : 403;
    case 'http-status':
      return outcome.status;
    default:
      return 500;
  }
}

/** The metrics object, with a StatsD client when ENABLE_METRICS=1. */
export function createMetrics(config: StatsConfig, logger: Logger): Metrics {
  return new Metrics(config.enabled ? createStatsd(config, logger) : undefined);
}

function createStatsd(config: StatsConfig, logger: Logger): StatsD | undefined {
  let lastError = '';
  try {
    const client = new StatsDClient({
      host: config.host,
      port: config.port,
      protocol: config.protocol,
      prefix: config.prefix,
      globalTags: config.tags,
      sampleRate: config.sampleRate,
      maxBufferSize: config.maxBufferSize,
      bufferFlushInterval: config.bufferFlushIntervalMs,
      cacheDns: config.cacheDns,
      telegraf: config.telegraf,
      // Plain DogStatsD lines as jambonz's collector sends them, without Datadog's container tagging.
      originDetection: false,
      errorHandler: (err: Error) => {
        // A missing StatsD agent makes every send fail the same way; log each distinct error once.
        if (err.message !== lastError) logger.warn({ err: err.message }, 'statsd send failed');
        lastError = err.message;
      },
    });
    logger.info({ host: config.host, port: config.port, protocol: config.protocol }, 'sending StatsD metrics');
    return client;
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'cannot create the StatsD client; StatsD metrics are off');
    return undefined;
  }
}

export interface PeriodicJob {
  stop(): void;
}

/**
 * Counts live registrations now and then every `intervalMs` (jambonz: 30 s) for the gauges. A failed
 * count (Redis away) keeps the last value rather than reporting zero devices.
 */
export function startUserCountJob(count: () => Promise<number>, metrics: Metrics, logger: Logger,
  intervalMs = 30000): PeriodicJob {
  const run = () => {
    count()
      .then((users) => metrics.setActiveRegistrations(users))
      .catch((err: Error) => logger.warn({ err: err.message }, 'cannot count registered users'));
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
