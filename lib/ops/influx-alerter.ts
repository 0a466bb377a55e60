/**
 * Alerts to InfluxDB through @jambonz/time-series, so the jambonz portal shows them as it shows the
 * reference sidecar's: the same types, tags and (library-generated) messages. Alerts are batched like the
 * reference's (50 per write, or every 20 s; 7 s with NODE_ENV=test), but the batch is ours, so that
 * shutdown can write out what is pending; the library offers no flush of its own buffer.
 */
import createTimeSeries, { TimeSeriesAlert, TimeSeriesClient } from '@jambonz/time-series';
import { Alert, AlertType, Alerter, LogAlerter } from './alerts';
import type { Logger } from './logger';

export interface InfluxAlerterOptions {
  commitSize: number;
  flushIntervalMs: number;
}

export class InfluxAlerter implements Alerter {
  private pending: TimeSeriesAlert[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: Pick<TimeSeriesClient, 'writeAlerts'>,
    private readonly logger: Logger,
    private readonly options: InfluxAlerterOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  write(alert: Alert): void {
    this.pending.push(toTimeSeriesAlert(alert, new Date()));
    if (this.pending.length >= this.options.commitSize) void this.flush();
  }

  /** Writes everything pending; batches go one at a time, in order. Never rejects. */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.writeBatch());
    return this.writing;
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return this.flush();
  }

  private async writeBatch(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.client.writeAlerts(batch);
    } catch (err) {
      // The reference drops a batch InfluxDB refused too; keeping it would grow without bound while Influx is away.
      this.logger.warn({ err: (err as Error).message, alerts: batch.length }, 'could not write alerts to InfluxDB; dropped');
    }
  }
}

/**
 * The point the reference writes for each alert. Webhook alerts carry only the account (no service
 * provider) and let the library word the message; the device-limit alert carries both and the count.
 * Alerts of other kinds keep their own message: the OPTIONS pinger's (no alert_type in the reference) and
 * regbot's SIP_GATEWAY_REGISTRATION_FAILURE (the reference's wording, a type the library does not word).
 */
export function toTimeSeriesAlert(alert: Alert, at: Date): TimeSeriesAlert {
  const { alert_type, account_sid } = alert;
  switch (alert_type) {
    case AlertType.ACCOUNT_DEVICE_LIMIT:
      return dropUndefined({ alert_type, account_sid, service_provider_sid: alert.service_provider_sid,
        count: alert.count, timestamp: at });
    case AlertType.WEBHOOK_STATUS_FAILURE:
      // Without a status (the hook answered 200 with an unusable body) the library's wording would say "returned undefined".
      return alert.status === undefined
        ? dropUndefined({ alert_type, account_sid, message: alert.message, timestamp: at })
        : dropUndefined({ alert_type, account_sid, url: alert.url, status: alert.status, timestamp: at });
    case AlertType.WEBHOOK_CONNECTION_FAILURE:
      return dropUndefined({ alert_type, account_sid, url: alert.url, detail: alert.detail, timestamp: at });
    default:
      return dropUndefined({ ...alert, timestamp: at });
  }
}

/** Log and InfluxDB together: every alert is logged, whatever happens to the InfluxDB write. */
export class CompositeAlerter implements Alerter {
  private readonly alerters: Alerter[];

  constructor(...alerters: Alerter[]) {
    this.alerters = alerters;
  }

  write(alert: Alert): void {
    for (const alerter of this.alerters) alerter.write(alert);
  }

  async flush(): Promise<void> {
    await Promise.all(this.alerters.map((alerter) => alerter.flush()));
  }
}

export interface AlerterSettings {
  timeSeriesHost?: string;
  nodeEnv?: string;
}

/** Alerts are logged always, and written to InfluxDB when JAMBONES_TIME_SERIES_HOST is set. */
export function createAlerter(settings: AlerterSettings, logger: Logger): Alerter {
  const log = new LogAlerter(logger);
  if (!settings.timeSeriesHost) return log;
  const client = createTimeSeries(logger, { host: settings.timeSeriesHost });
  const influx = new InfluxAlerter(client, logger, {
    commitSize: 50,
    flushIntervalMs: settings.nodeEnv === 'test' ? 7000 : 20000,
  });
  logger.info({ host: settings.timeSeriesHost }, 'writing alerts to InfluxDB');
  return new CompositeAlerter(log, influx);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
