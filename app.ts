/**
 * Composition root: configuration → external clients → SIP routes → drachtio connection → shutdown.
 */
import { loadConfig, ConfigError, Config } from './lib/config/config';
import { createLogger, Logger } from './lib/ops/logger';
import { Database } from './lib/db/database';
import { createRedisClient, isRedisUnavailable, whenReady } from './lib/store/redis-client';
import { DrachtioConnection } from './lib/drachtio/connection';
import { SipRouter } from './lib/drachtio/sip-router';
import { AnswerLedger } from './lib/drachtio/answer-ledger';
import { createOptionsHandler } from './lib/options/options-handler';
import { installShutdown, within } from './lib/ops/shutdown';
import { createAlerter } from './lib/ops/influx-alerter';
import { createMetrics, startUserCountJob, Metrics } from './lib/ops/metrics';
import { startOpsServer, readinessChecks, OpsServer, ReadinessDeps } from './lib/ops/http-server';
import { CidrSet } from './lib/net/cidr';
import { privateSipAddress } from './lib/sip/hostports';
import { RegistrationStore } from './lib/store/registration-store';
import { BindingStore } from './lib/store/binding-store';
import { createDurableWrites } from './lib/store/durable-writes';
import { createRegistrar } from './lib/registrar/create-registrar';
import type { SbcIdentity } from './lib/registrar/register-handler';
import { startExpiredBindingPruner } from './lib/registrar/expired-binding-pruner';
import { MembershipRegistry } from './lib/options/membership-registry';
import { SourceTrust, STATUS_PING_IGNORED } from './lib/options/source-trust';
import { createTopologyDiscovery } from './lib/options/create-topology-discovery';
import { startExpirySweeper } from './lib/options/expiry-sweeper';
import { Regbot } from './lib/regbot/regbot';
import { ImdsClient } from './lib/net/imds-client';
import { watchScaleIn } from './lib/ops/scale-in-watcher';
import { SbcAddresses } from './lib/db/sbc-addresses';
import { SbcAddressKeeper } from './lib/sbc/sbc-address-keeper';
import { CliServer } from './lib/cli/cli-server';
import { FsCommands } from './lib/cli/fs-commands';
import { ConfigCommands } from './lib/cli/config-commands';
import { RegistrationCommands } from './lib/cli/registration-commands';
import { RegbotCommands } from './lib/cli/regbot-commands';
import { createCarrierPinger } from './lib/options/carrier-pinger';
import type { SipRequester } from './lib/options/options-ping';
import { RegisterStatsStore } from './lib/store/register-stats-store';
import { RegisterMinuteRecorder } from './lib/ops/register-minute-recorder';
import { operatorApiFor } from './lib/api/create-operator-api';
import type { OpsRequestHandler } from './lib/api/operator-api';

function readConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) process.stderr.write(`sip-sidecar: configuration error: ${problem}\n`);
      process.exit(1);
    }
    throw err;
  }
}

function keepServingOnStrayErrors(logger: Logger): void {
  // Every handler answers its own errors; anything reaching here is a bug to log, not a reason to drop
  // every registration this process is serving.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => logger.fatal({ err }, 'uncaught exception'));
}

function main(): void {
  const config = readConfigOrExit();
  const { logger, flush: flushLogs } = createLogger(config.logLevel);
  keepServingOnStrayErrors(logger);

  const db = new Database(config.mysql);
  const redis = createRedisClient(config.redis, logger);
  const drachtio = new DrachtioConnection(config.drachtio, logger);

  const alerter = createAlerter(config, logger);
  const metrics = createMetrics(config.stats, logger);
  // Every final answer to a REGISTER or OPTIONS is sent, counted and logged by this one object.
  const answers = new AnswerLedger(metrics, logger, (err) => (isRedisUnavailable(err) ? 'redis' : undefined));
  const router = new SipRouter(drachtio.srf, logger, answers);
  // Jobs that need Redis start once it is ready: before, each of their first runs would only fail.
  const redisReady = whenReady(redis);
  metrics.watchDrachtio(() => drachtio.connected);
  const store = new RegistrationStore(redis);
  const durable = createDurableWrites(redis, { replicas: config.registrar.waitReplicas, timeoutMs: config.registrar.waitTimeoutMs });
  const bindings = new BindingStore(redis, { maxBindings: config.registrar.maxBindings, overflow: config.registrar.bindingsOverflow, durable });
  const network = new CidrSet(config.networkCidrs);
  let sbcIdentity: SbcIdentity = {};
  const sbcAddresses = new SbcAddressKeeper(new SbcAddresses(db), {
    keepAliveMs: config.sbcPublicAddressKeepAliveMs,
    deadSeconds: config.mysql.deadSbcSeconds,
    hostports: () => (drachtio.connected ? drachtio.serverInfo?.hostport : undefined),
  }, logger);
  drachtio.on('connect', () => {
    const info = drachtio.serverInfo;
    sbcIdentity = { sbcAddress: info?.hostport, privateSbcAddress: privateSipAddress(info?.localHostports, network) };
    void sbcAddresses.refresh();
  });
  const membership = new MembershipRegistry(redis, config.clusterId);
  const trust = new SourceTrust([network, new CidrSet(config.options.trustedCidrs)], STATUS_PING_IGNORED);
  const discovery = createTopologyDiscovery(config, { db, membership, network, drachtioVersion: () => drachtio.serverInfo?.version });
  router.on('options', createOptionsHandler({ membership, trust, metrics, discovery, answers }));
  let sweeper: { stop(): void } | undefined;
  let pruner: { stop(): void } | undefined;
  void redisReady.then(() => {
    sweeper = startExpirySweeper(membership, {
      expiresMs: config.options.expiresIntervalMs, periodMs: config.options.checkExpiresIntervalMs,
    }, logger, metrics);
    pruner = startExpiredBindingPruner(store, logger, () => bindings.remirrorLapsed());
  });
  router.on('register', createRegistrar(config, { db, redis, store, bindings, alerter, logger, sbcIdentity: () => sbcIdentity, metrics, answers }));
  sbcAddresses.start();
  const regbot = new Regbot({ config, db, redis, srf: drachtio.srf, alerter, logger, serverInfo: () => drachtio.serverInfo, metrics });
  metrics.watchRegbot(() => regbot.stateCounts());
  const fsCommands = new FsCommands(redis, config.clusterId);
  const registerStats = new RegisterStatsStore(redis, config.clusterId);
  const minuteRecorder = new RegisterMinuteRecorder(registerStats,
    { instanceId: regbot.snapshot().instanceId, countLive: () => store.countAll() }, logger);
  answers.onAnswer((answer) => { if (answer.method === 'REGISTER') minuteRecorder.registerAnswered(answer.status); });
  const cli = new CliServer(config.socketPath, {
    fs: fsCommands,
    config: new ConfigCommands(logger),
    registrations: new RegistrationCommands(redis, store),
    regbot: new RegbotCommands(regbot),
  }, logger);
  cli.start().catch((err: Error) => logger.error({ err: err.message, socketPath: config.socketPath },
    'could not open the CLI socket; CLI disabled'));
  // regbot sends through drachtio, so it starts on the first connect (start() ignores later reconnects)
  drachtio.on('connect', () => void redisReady.then(() => regbot.start()));
  const { awsLifecycle } = config;
  const scaleIn = awsLifecycle.enabled
    ? watchScaleIn(new ImdsClient(awsLifecycle.imdsEndpoint), awsLifecycle.pollMs, logger, () => void regbot.drain())
    : undefined;
  const carrierPinger = createCarrierPinger(config, {
    db, redis, alerter, logger, srf: drachtio.srf as unknown as SipRequester, connected: () => drachtio.connected,
  });
  void redisReady.then(() => carrierPinger.start());
  drachtio.start();
  let userCount: { stop(): void } | undefined;
  void redisReady.then(() => {
    userCount = startUserCountJob(() => store.countAll(), metrics, logger);
    minuteRecorder.start();
  });
  const operator = operatorApiFor({ token: config.httpApiToken, clusterId: config.clusterId, redis, db, registrations: store, bindings,
    fs: fsCommands, membership, regbot, stats: registerStats, logger });
  const ops = startOps(config, logger, metrics, { drachtio, db, redis }, () => regbot.snapshot(), operator);
  logger.info({ drachtio: `${config.drachtio.host}:${config.drachtio.port}`, clusterId: config.clusterId },
    'sip-sidecar started');

  installShutdown(logger, [
    { name: 'drain SIP requests', run: () => router.drain(2000) },
    { name: 'close ops HTTP server', run: () => within(ops.then((server) => server?.close()), 500) },
    { name: 'stop background jobs', run: () => { pruner?.stop(); sweeper?.stop(); sbcAddresses.stop(); scaleIn?.stop(); } },
    { name: 'stop regbot', run: () => regbot.stop(1500) },
    { name: 'stop carrier pinger', run: () => within(carrierPinger.stop(), 500) },
    { name: 'close CLI socket', run: () => within(cli.close(), 500) },
    { name: 'disconnect drachtio', run: () => drachtio.stop() },
    { name: 'close MySQL', run: () => within(db.close(), 1000) },
    { name: 'flush alerts', run: () => within(alerter.flush(), 1500) },
    { name: 'stop metrics', run: () => { userCount?.stop(); return within(Promise.all([metrics.close(), minuteRecorder.stop()]), 500); } },
    { name: 'close Redis', run: () => within(Promise.all([redis.quit(), durable?.close()]), 1000) },
  ], flushLogs);
}

/** /health, /ready, /metrics and /regbot on HTTP_PORT (0: off). A port in use is logged, not fatal: SIP matters more. */
function startOps(config: Config, logger: Logger, metrics: Metrics, deps: ReadinessDeps,
  regbot: () => object, operator: OpsRequestHandler | undefined): Promise<OpsServer | undefined> {
  if (config.httpPort === 0) return Promise.resolve(undefined);
  return startOpsServer({ port: config.httpPort, checks: readinessChecks(deps), metrics, regbot, operator, logger })
    .catch((err: Error) => {
      logger.error({ err: err.message, port: config.httpPort }, 'cannot start the ops HTTP server; /health, /ready and /metrics are off');
      return undefined;
    });
}

main();
