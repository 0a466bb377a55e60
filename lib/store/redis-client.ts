import fs from 'node:fs';
import Redis, { RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/config';
import type { Logger } from '../ops/logger';

/**
 * Builds the ioredis client, standalone or through sentinels, with the jambonz variables. ioredis
 * reconnects by itself; we only cap the delay and log state changes (never the credentials).
 */
export function createRedisClient(config: RedisConfig, logger: Logger): Redis {
  const common: RedisOptions = {
    username: config.username,
    password: config.password,
    db: config.db,
    tls: config.tls
      ? {
          ca: readOptionalFile(config.tls.caFile),
          cert: readOptionalFile(config.tls.certFile),
          key: readOptionalFile(config.tls.keyFile),
        }
      : undefined,
    // Reconnect quickly and keep trying: a restarted Redis is back in use within half a second.
    retryStrategy: (attempt) => Math.min(attempt * 100, 500),
    maxRetriesPerRequest: 1,
    // While Redis is away, commands fail at once instead of waiting for a reconnect: a device gets its
    // 500 (or its 401, which needs no Redis) in milliseconds, not after its own transaction timer.
    enableOfflineQueue: false,
    // Commands issued in the same tick (a ban check and a binding lookup, say) share one write.
    enableAutoPipelining: true,
    connectTimeout: 3000,
  };
  const client = config.sentinels
    ? new Redis({
        ...common,
        sentinels: config.sentinels,
        name: config.sentinelMasterName,
        sentinelUsername: config.sentinelUsername,
        sentinelPassword: config.sentinelPassword,
      })
    : new Redis({ ...common, host: config.host, port: config.port });
  let lastError = '';
  client.on('ready', () => {
    lastError = '';
    logger.info('redis ready');
  });
  client.on('error', (err: Error) => {
    // ioredis emits the same error on every retry; log each distinct one once per outage.
    if (err.message !== lastError) logger.error({ err: err.message }, 'redis error');
    lastError = err.message;
  });
  client.on('end', () => logger.info('redis connection closed'));
  return client;
}

function readOptionalFile(path: string | undefined): string | undefined {
  return path ? fs.readFileSync(path, 'utf8') : undefined;
}
