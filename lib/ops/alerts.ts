import type { Logger } from './logger';

/** jambonz alert types this service writes (the strings other jambonz tools filter on). */
export const AlertType = {
  WEBHOOK_STATUS_FAILURE: 'webhook-failure',
  WEBHOOK_CONNECTION_FAILURE: 'webhook-connection-failure',
  ACCOUNT_DEVICE_LIMIT: 'account-device-limit',
  /** regbot gave up on a carrier (REGISTER_RESPONSE_REMOVE threshold); reference 0.9.7, not in the library's list. */
  SIP_GATEWAY_REGISTRATION_FAILURE: 'SIP_GATEWAY_REGISTRATION_FAILURE',
} as const;

export interface Alert {
  alert_type?: string;
  account_sid?: string;
  service_provider_sid?: string;
  vendor?: string;
  target_sid?: string;
  message?: string;
  detail?: string;
  url?: string;
  status?: number;
  count?: number;
}

export interface Alerter {
  write(alert: Alert): void;
  flush(): Promise<void>;
}

/** Alerts go to the log always; with JAMBONES_TIME_SERIES_HOST they also go to InfluxDB. */
export class LogAlerter implements Alerter {
  constructor(private readonly logger: Logger) {}

  write(alert: Alert): void {
    this.logger.warn({ alert }, `alert: ${alert.alert_type ?? 'alert'}`);
  }

  async flush(): Promise<void> {
    // nothing buffered
  }
}
