/**
 * The part of @jambonz/time-series (plain JavaScript, no types of its own) that this service uses:
 * writing alerts, and reading them back in tests.
 */
declare module '@jambonz/time-series' {
  function createTimeSeries(logger: unknown, options: createTimeSeries.TimeSeriesOptions | string): createTimeSeries.TimeSeriesClient;

  namespace createTimeSeries {
    /** An alert as writeAlerts takes it; the library derives `message` from the type when it is absent. */
    interface TimeSeriesAlert {
      alert_type?: string;
      account_sid?: string;
      service_provider_sid?: string;
      target_sid?: string;
      vendor?: string;
      url?: string;
      status?: number;
      count?: number;
      message?: string;
      detail?: string;
      timestamp?: Date;
  }

  interface AlertQuery {
    account_sid: string;
    alert_type?: string;
    page?: number;
    page_size?: number;
    days?: number;
    start?: string;
    end?: string;
  }

  interface AlertRow {
    time: string;
    alert_type?: string;
    account_sid?: string;
    service_provider_sid?: string;
    message?: string;
    detail?: string;
    target_sid?: string;
    vendor?: string;
  }

  interface TimeSeriesClient {
    writeAlerts(alerts: TimeSeriesAlert | TimeSeriesAlert[]): Promise<void>;
    queryAlerts(query: AlertQuery): Promise<{ total: number; data: AlertRow[] }>;
  }

  interface TimeSeriesOptions {
    host: string;
    port?: number;
    commitSize?: number;
    commitInterval?: number;
  }

  }
  export = createTimeSeries;
}
