import { EventEmitter } from 'node:events';
import Srf from 'drachtio-srf';
import type { DrachtioConfig } from '../config/config';
import type { Logger } from '../ops/logger';

/** What drachtio-server said about itself in the last successful connect handshake. */
export interface DrachtioServerInfo {
  /** Advertised `proto/host:port` list; stored verbatim as `sbcAddress` in registrations. */
  hostport: string;
  /** The same listeners with their bound (local) addresses. */
  localHostports: string;
  version: string;
}

/**
 * Owns the drachtio-srf client: connects, reconnects forever with a capped backoff (drachtio-srf's own
 * backoff grows without bound unless `retryMaxDelay` is given), and remembers the server's listeners.
 *
 * Events: 'connect' (DrachtioServerInfo), 'disconnect'.
 */
export class DrachtioConnection extends EventEmitter {
  readonly srf = new Srf();
  private info: DrachtioServerInfo | undefined;
  private isConnected = false;
  private stopping = false;

  constructor(private readonly config: DrachtioConfig, private readonly logger: Logger) {
    super();
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get serverInfo(): DrachtioServerInfo | undefined {
    return this.info;
  }

  start(): void {
    this.srf.on('connect', (err: Error | null, hostport: string, version?: string, localHostports?: string) =>
      this.onConnect(err, hostport, version, localHostports));
    // Without an 'error' listener an EventEmitter throws; drachtio-srf reconnects after emitting it.
    this.srf.on('error', (err: Error) => this.onError(err));
    this.srf.on('close' as 'disconnect', () => this.onClose());
    this.srf.on('reconnecting' as 'disconnect', () => undefined);
    void this.srf.connect({
      host: this.config.host,
      port: this.config.port,
      secret: this.config.secret,
      reconnect: { retryMaxDelay: this.config.reconnectMaxDelayMs },
    } as Srf.SrfConfig);
  }

  private onConnect(err: Error | null, hostport: string, version?: string, localHostports?: string): void {
    if (err) {
      this.logger.error({ err: err.message }, 'drachtio refused the connection (check DRACHTIO_SECRET)');
      return;
    }
    this.info = { hostport, localHostports: localHostports ?? '', version: version ?? '' };
    this.isConnected = true;
    this.logger.info({ hostport, localHostports, version }, 'connected to drachtio-server');
    this.emit('connect', this.info);
  }

  private onError(err: Error): void {
    if (this.stopping) return;
    this.logger.warn({ err: err.message, host: this.config.host, port: this.config.port },
      'drachtio connection error; retrying');
  }

  private onClose(): void {
    if (!this.isConnected) return;
    this.isConnected = false;
    if (!this.stopping) this.logger.warn('disconnected from drachtio-server; reconnecting');
    this.emit('disconnect');
  }

  stop(): void {
    this.stopping = true;
    this.isConnected = false;
    try {
      this.srf.disconnect();
    } catch {
      // disconnect() throws when no socket is connected; there is nothing to close then.
    }
  }
}
