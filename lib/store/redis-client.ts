import fs from 'node:fs';
import type { Socket } from 'node:net';
import Redis, { RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/config';
import type { Logger } from '../ops/logger';

/**
 * Builds the ioredis client, standalone or through sentinels, with the jambonz variables. ioredis
 * reconnects by itself (after a Sentinel failover, to the master the Sentinels name); we only cap the
 * delay and log what happens to the connection (never the credentials).
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
    // 503 in milliseconds, not after its own transaction timer.
    enableOfflineQueue: false,
    // Commands issued in the same tick share one write through coalesceWritesPerTick() instead: ioredis's
    // auto-pipelining builds a Pipeline per tick, which at everyday rates (one command per tick) cost more
    // than the command.
    enableAutoPipelining: false,
    connectTimeout: 3000,
    // A master demoted to replica refuses writes: reconnect, and the Sentinels name the new master.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  const client = config.sentinels
    ? new Redis({
        ...common,
        sentinels: config.sentinels,
        name: config.sentinelMasterName,
        sentinelUsername: config.sentinelUsername,
        sentinelPassword: config.sentinelPassword,
        // Leave a master the Sentinels replaced even while it still answers (a partition): they announce
        // +switch-master and we reconnect to the new one instead of writing where nobody reads.
        failoverDetector: true,
      })
    : new Redis({ ...common, host: config.host, port: config.port });
  new ConnectionLog(client, logger, config.sentinels !== undefined).attach();
  coalesceWritesPerTick(client);
  return client;
}

/**
 * Commands sent in the same tick (a REGISTER's ban check, fast-path lookup and nonce check, say) leave in one
 * write(2): the connection's socket is corked at the first command of a tick and uncorked once the tick's
 * synchronous work and promise continuations are done. Each write to a local Redis costs the kernel about as
 * much as a small command's whole JavaScript, and wakes Redis once more.
 */
export function coalesceWritesPerTick(client: Redis): void {
  const send = client.sendCommand.bind(client);
  let corked = false;
  client.sendCommand = ((command, stream) => {
    // `stream` is set for a command a MULTI or pipeline collects: those are written by the pipeline itself.
    const socket = client.stream as Socket | undefined;
    if (!corked && !stream && socket && client.status === 'ready' && socket.writable) {
      socket.cork();
      corked = true;
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return send(command, stream);
  }) as Redis['sendCommand'];
}

/** Resolves once the client is (or first becomes) ready: background jobs that need Redis start then. */
export function whenReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/**
 * ioredis's ways of saying "Redis cannot serve this now", as opposed to a bad command or a script error:
 * not connected (no offline queue), the connection dropped with the command in flight, a node that is
 * loading, read-only after a failover, or without the replicas it requires.
 */
const UNAVAILABLE_MESSAGES = [
  /^Stream isn't writeable/,
  /^Connection is closed/,
  /^Reached the max retries per request limit/,
  /^Command timed out/,
  /^(READONLY|LOADING|MASTERDOWN|NOREPLICAS|TRYAGAIN|BUSY) /,
];

export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(err.message));
}

/**
 * One line per thing that happens to the connection, and only true ones. Behind Sentinels, while the
 * master is dead and not yet replaced, ioredis connects to the address the Sentinels still give, is
 * refused, and after asking each of them reports "All sentinels are unreachable", although every one
 * answered. That is said here as it is: the master the Sentinels name does not answer; then, once they
 * promote a replica, that the master moved and where to.
 */
class ConnectionLog {
  private master: string | undefined;
  private lost = false;
  private lastError = '';
  private refusedMaster: string | undefined;
  private sentinelErrors: string[] = [];
  private sentinelAnswers = 0;

  constructor(private readonly client: Redis, private readonly logger: Logger, private readonly sentinels: boolean) {}

  attach(): void {
    this.client.on('ready', () => this.ready());
    this.client.on('close', () => this.closed());
    this.client.on('error', (err: Error) => this.error(err));
    this.client.on('sentinelError', (err: Error) => this.sentinelErrors.push(err.message));
    this.client.on('end', () => this.logger.info('redis connection closed'));
  }

  private ready(): void {
    const address = remoteAddress(this.client);
    if (this.master && address && address !== this.master) {
      this.logger.warn({ from: this.master, to: address }, 'redis master moved; reconnected to the new master');
    }
    this.master = address ?? this.master;
    this.lost = false;
    this.lastError = '';
    this.refusedMaster = undefined;
    this.sentinelErrors = [];
    this.sentinelAnswers = 0;
    this.logger.info({ master: this.master }, 'redis ready');
  }

  private closed(): void {
    if (this.lost || !this.master || this.client.status === 'end') return;
    this.lost = true;
    this.logger.warn({ master: this.master }, 'redis connection lost; reconnecting');
  }

  private error(err: Error & { syscall?: string; address?: string; port?: number }): void {
    if (this.sentinels && err.syscall === 'connect') {
      // A Sentinel named this master (ioredis asks a Sentinel before each connection attempt).
      this.sentinelAnswers++;
      this.masterRefused(err.address ? `${err.address}:${err.port}` : 'unknown', err.message);
      return;
    }
    if (this.sentinels && err.message.startsWith('All sentinels are unreachable')) {
      this.sentinelRoundOver();
      return;
    }
    // ioredis emits the same error on every retry; log each distinct one once per outage.
    if (err.message !== this.lastError) this.logger.error({ err: err.message }, 'redis error');
    this.lastError = err.message;
  }

  /** The Sentinels answered with a master that refuses connections: it died and no replica is promoted yet. */
  private masterRefused(address: string, message: string): void {
    if (this.refusedMaster === address) return;
    this.refusedMaster = address;
    this.logger.warn({ master: address, err: message },
      'the redis master the sentinels name does not answer; waiting for them to promote a replica');
  }

  /** ioredis has asked every Sentinel once: "unreachable" is said only of those that did not answer. */
  private sentinelRoundOver(): void {
    const failures = this.sentinelErrors;
    const answered = this.sentinelAnswers;
    this.sentinelErrors = [];
    this.sentinelAnswers = 0;
    if (failures.length === 0) return;
    const message = failures[failures.length - 1];
    if (message === this.lastError) return;
    this.lastError = message;
    if (answered > 0) this.logger.warn({ unreachable: failures.length, err: message }, 'a redis sentinel does not answer');
    else this.logger.error({ unreachable: failures.length, err: message }, 'no redis sentinel answers');
  }
}

function remoteAddress(client: Redis): string | undefined {
  const stream = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  return stream?.remoteAddress && stream.remotePort ? `${stream.remoteAddress}:${stream.remotePort}` : undefined;
}

function readOptionalFile(path: string | undefined): string | undefined {
  return path ? fs.readFileSync(path, 'utf8') : undefined;
}
