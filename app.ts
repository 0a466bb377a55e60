/**
 * Composition root: configuration → external clients → SIP routes → drachtio connection → shutdown.
 */
import { loadConfig, ConfigError, Config } from './lib/config/config';
import { createLogger, Logger } from './lib/ops/logger';
import { Database } from './lib/db/database';
import { createRedisClient } from './lib/store/redis-client';
import { DrachtioConnection } from './lib/drachtio/connection';
import { SipRouter } from './lib/drachtio/sip-router';
import { createOptionsHandler } from './lib/options/options-handler';
import { installShutdown, within } from './lib/ops/shutdown';
import { LogAlerter } from './lib/ops/alerts';
import { CidrSet } from './lib/net/cidr';
import { privateSipAddress } from './lib/sip/hostports';
import { RegistrationStore } from './lib/store/registration-store';
import { createRegistrar } from './lib/registrar/create-registrar';
import type { SbcIdentity } from './lib/registrar/register-handler';
import { startExpiredBindingPruner } from './lib/registrar/expired-binding-pruner';

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
  const router = new SipRouter(drachtio.srf, logger);

  const alerter = new LogAlerter(logger);
  const store = new RegistrationStore(redis);
  const network = new CidrSet(config.networkCidrs);
  let sbcIdentity: SbcIdentity = {};
  drachtio.on('connect', () => {
    const info = drachtio.serverInfo;
    sbcIdentity = { sbcAddress: info?.hostport, privateSbcAddress: privateSipAddress(info?.localHostports, network) };
  });
  router.on('options', createOptionsHandler());
  router.on('register', createRegistrar(config, { db, redis, store, alerter, logger, sbcIdentity: () => sbcIdentity }));
  const pruner = startExpiredBindingPruner(store, logger);
  drachtio.start();
  logger.info({ drachtio: `${config.drachtio.host}:${config.drachtio.port}`, clusterId: config.clusterId },
    'sip-sidecar started');

  installShutdown(logger, [
    { name: 'drain SIP requests', run: () => router.drain(2000) },
    { name: 'stop background jobs', run: () => pruner.stop() },
    { name: 'disconnect drachtio', run: () => drachtio.stop() },
    { name: 'close MySQL', run: () => within(db.close(), 1000) },
    { name: 'flush alerts', run: () => within(alerter.flush(), 500) },
    { name: 'close Redis', run: () => within(redis.quit(), 1000) },
  ], flushLogs);
}

main();
