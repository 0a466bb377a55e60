/**
 * The service's whole configuration, read once from environment variables at start-up. Names and
 * defaults are jambonz's (see docs/configuration.md), so an existing deployment's environment works unchanged;
 * variables of our own are marked as such there.
 */
import net from 'node:net';
import { EnvReader, Env } from './env-reader';
import { parseCidr } from '../net/cidr';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface DrachtioConfig {
  host: string;
  port: number;
  secret: string;
  reconnectMaxDelayMs: number;
}

export interface MysqlPoolConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  connectionLimit: number;
}

export interface MysqlConfig {
  read: MysqlPoolConfig;
  write?: MysqlPoolConfig;
  ssl?: { rejectUnauthorized: boolean; caFile?: string; certFile?: string; keyFile?: string };
  deadSbcSeconds: number;
}

export interface RedisConfig {
  host?: string;
  port: number;
  sentinels?: { host: string; port: number }[];
  sentinelMasterName?: string;
  username?: string;
  password?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  db: number;
}

export interface OptionsConfig {
  expiresIntervalMs: number;
  checkExpiresIntervalMs: number;
  sendPingIntervalSec: number;
  pingTtlSec: number;
  responseRemove: number[];
  /** Ours: extra sources, beyond JAMBONES_NETWORK_CIDR, whose X-FS-Status/X-RTP-Status pings are trusted. */
  trustedCidrs: string[];
  /** Ours: how long a carrier gateway has to answer one OPTIONS ping. */
  pingTimeoutMs: number;
  /** Ours: consecutive failed pings before a gateway is marked down (blacklisted). */
  pingDownAfter: number;
  /** Ours: consecutive 200s before a down gateway is marked up again. */
  pingUpAfter: number;
  /** JAMBONES_SERVER_CONTROL: answer `X-Jambonz-Discover: true` OPTIONS with the cluster's topology. */
  serverControl: boolean;
  /** Ours: sources, beyond the status-ping trust (JAMBONES_NETWORK_CIDR, OPTIONS_TRUSTED_CIDR), that may ask. */
  discoveryTrustedCidrs: string[];
}

export interface RegbotConfig {
  defaultExpires: number;
  minExpires: number;
  failureRetryInterval: number;
  failureThreshold: number;
  responseRemove: number[];
  userAgent?: string;
  contactUseIp: boolean;
  batchSize: number;
  batchSleepMs: number;
  /** Ours: how often carriers are re-read from MySQL (ms). */
  reloadIntervalMs: number;
  /** Ours: refresh at this fraction of the granted expiry, minus up to `refreshJitter` of it. */
  refreshFraction: number;
  refreshJitter: number;
  /** Ours: first failure retry (ms); doubles per consecutive failure up to failureRetryInterval. */
  retryBaseMs: number;
  /** Ours: retry delay after 403 (s): wrong credentials do not get better by hammering. */
  forbiddenRetryInterval: number;
  /** Ours: lease TTL of `<cluster>:regbot-token` and of instance heartbeats (ms). */
  leaseTtlMs: number;
  /**
   * How long one REGISTER waits for a final response (ms): JAMBONES_REGBOT_RESPONSE_TIMEOUT, else our
   * earlier name REGBOT_TRANSACTION_TIMEOUT_MS, else the reference's 45000 (above drachtio's 32 s timer B).
   */
  transactionTimeoutMs: number;
  /** Ours: new registrations started per second at most (0: no pacing). */
  newPerSecond: number;
  /** Ours: REGISTER transactions open at once at most (0: no cap). */
  maxInFlight: number;
  /** Ours: send Expires: 0 for our registrations on graceful shutdown when no other instance takes over. */
  unregisterOnShutdown: boolean;
  /** Ours: DNS servers (`ip` or `ip:port`) for resolving carrier gateway names; empty: the system's. */
  dnsServers: string[];
}

export interface RegistrarConfig {
  natExpires: number;
  accountCacheTtlMs: number;
  accountCacheMax: number;
  hookTimeoutMs: number;
  hookMaxInFlight: number;
  hookBreakerFailures: number;
  hookBreakerCooldownMs: number;
  hookRetryAfter: number;
  hookAlertPeriodMs: number;
  nonceSecret?: string;
  nonceLifetime: number;
  offerSha256: boolean;
  requireUsernameMatch: boolean;
  authFailureWindowSec: number;
  authFailuresPerSource: number;
  authFailuresPerAor: number;
  banSeconds: number;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  minExpires: number;
  maxExpires: number;
  /** Ours: granted to a REGISTER that asks for no expiry (RFC 3261 §10.3 step 7), before the min/max policy. */
  defaultExpires: number;
  expiresJitterPercent: number;
  maxBindings: number;
  bindingsOverflow: 'evict-oldest' | 'reject';
  /** Ours: replicas that must hold a binding change before it is answered 200 (0: off; see lib/store/durable-writes). */
  waitReplicas: number;
  /** Ours: the longest the answer waits for them (ms); then 503. */
  waitTimeoutMs: number;
}

export interface Config {
  nodeEnv?: string;
  logLevel: LogLevel;
  clusterId: string;
  hosting: boolean;
  networkCidrs: string[];
  drachtio: DrachtioConfig;
  mysql: MysqlConfig;
  redis: RedisConfig;
  timeSeriesHost?: string;
  encryptionSecret?: string;
  legacyCrypto: boolean;
  httpUserAgent?: string;
  sbcPublicAddressKeepAliveMs: number;
  socketPath: string;
  registrar: RegistrarConfig;
  options: OptionsConfig;
  regbot: RegbotConfig;
  /** Ours: port of the /health, /ready and /metrics server; 0 turns it off. */
  httpPort: number;
  /** Ours: bearer token of the operator API and page on HTTP_PORT; unset turns both off. */
  httpApiToken?: string;
  stats: StatsConfig;
  awsLifecycle: AwsLifecycleConfig;
}

/** Scale-in detection through the EC2 instance metadata service (IMDSv2). */
export interface AwsLifecycleConfig {
  /** AWS_LIFECYCLE_DRAIN: poll autoscaling/target-lifecycle-state and drain regbot on `Terminated`. */
  enabled: boolean;
  /** AWS_EC2_METADATA_SERVICE_ENDPOINT (the AWS SDKs' name): scheme, host and port of IMDS. */
  imdsEndpoint: string;
  /** Ours: poll period (ms); the reference polls every 20 s. */
  pollMs: number;
}

/** jambonz's StatsD settings (read by @jambonz/stats-collector in the reference). */
export interface StatsConfig {
  enabled: boolean;
  host: string;
  port: number;
  protocol: 'udp' | 'tcp' | 'uds';
  prefix: string;
  tags: string[];
  sampleRate: number;
  maxBufferSize: number;
  bufferFlushIntervalMs: number;
  cacheDns: boolean;
  telegraf: boolean;
}

/** Thrown with every problem found; app.ts prints one line per problem and exits 1. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
  }
}

const DEFAULT_NETWORK_CIDR = '192.168.0.0/24,172.16.0.0/16,10.0.0.0/8';
const PORT_MAX = 65535;

export function loadConfig(env: Env = process.env): Config {
  const reader = new EnvReader(env);
  const config: Config = {
    nodeEnv: reader.optionalString('NODE_ENV'),
    logLevel: reader.oneOf('JAMBONES_LOGLEVEL', 'info', LOG_LEVELS),
    clusterId: reader.string('JAMBONES_CLUSTER_ID', 'default'),
    hosting: reader.flag('JAMBONES_HOSTING'),
    networkCidrs: readCidrs(reader),
    drachtio: readDrachtio(reader),
    mysql: readMysql(reader),
    redis: readRedis(reader),
    timeSeriesHost: reader.optionalString('JAMBONES_TIME_SERIES_HOST'),
    encryptionSecret: reader.optionalString('ENCRYPTION_SECRET') ?? reader.optionalString('JWT_SECRET'),
    legacyCrypto: reader.flag('LEGACY_CRYPTO'),
    httpUserAgent: reader.optionalString('JAMBONES_HTTP_USER_AGENT_HEADER'),
    sbcPublicAddressKeepAliveMs: reader.int('SBC_PUBLIC_ADDRESS_KEEP_ALIVE_IN_MILISECOND', 900000, 1000),
    socketPath: reader.string('SBC_SOCKET_PATH', '/tmp/sbc-sip-sidecar.sock'),
    registrar: readRegistrar(reader),
    options: readOptions(reader),
    regbot: readRegbot(reader),
    httpPort: reader.int('HTTP_PORT', 3000, 0, PORT_MAX),
    httpApiToken: readApiToken(reader),
    stats: readStats(reader),
    awsLifecycle: readAwsLifecycle(reader),
  };
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return config;
}

/** A token short enough to guess is refused rather than served behind. */
const MIN_API_TOKEN_LENGTH = 16;

function readApiToken(reader: EnvReader): string | undefined {
  const token = reader.optionalString('HTTP_API_TOKEN');
  if (token !== undefined && (token.length < MIN_API_TOKEN_LENGTH || /\s/.test(token))) {
    reader.problem(`HTTP_API_TOKEN must be at least ${MIN_API_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 24)`);
  }
  return token;
}

function readCidrs(reader: EnvReader): string[] {
  const cidrs = reader.list('JAMBONES_NETWORK_CIDR', DEFAULT_NETWORK_CIDR.split(','));
  if (cidrs.some((cidr) => parseCidr(cidr) === undefined)) {
    reader.problem('JAMBONES_NETWORK_CIDR must be a comma-separated list of CIDRs such as 10.0.0.0/8,fd00::/8');
  }
  return cidrs;
}

function readCidrList(reader: EnvReader, name: string): string[] {
  const cidrs = reader.list(name);
  if (cidrs.some((cidr) => parseCidr(cidr) === undefined)) {
    reader.problem(`${name} must be a comma-separated list of CIDRs such as 10.0.0.0/8,fd00::/8`);
  }
  return cidrs;
}

function readDrachtio(reader: EnvReader): DrachtioConfig {
  return {
    host: reader.requiredString('DRACHTIO_HOST', 'host name or IP of the drachtio-server admin port'),
    port: reader.requiredInt('DRACHTIO_PORT', 1, PORT_MAX),
    secret: reader.requiredString('DRACHTIO_SECRET', 'the shared secret of the drachtio-server admin port'),
    reconnectMaxDelayMs: reader.int('DRACHTIO_RECONNECT_MAX_DELAY_MS', 5000, 100, 300000),
  };
}

function readMysql(reader: EnvReader): MysqlConfig {
  const connectionLimit = reader.int('JAMBONES_MYSQL_CONNECTION_LIMIT', 10, 1, 1000);
  const read: MysqlPoolConfig = {
    host: reader.requiredString('JAMBONES_MYSQL_HOST', 'MySQL host name or IP'),
    port: reader.int('JAMBONES_MYSQL_PORT', 3306, 1, PORT_MAX),
    user: reader.requiredString('JAMBONES_MYSQL_USER', 'MySQL user name'),
    password: reader.requiredAllowEmpty('JAMBONES_MYSQL_PASSWORD', 'MySQL password'),
    database: reader.requiredString('JAMBONES_MYSQL_DATABASE', 'MySQL database name (usually jambones)'),
    connectionLimit,
  };
  const writeNames = ['HOST', 'USER', 'PASSWORD', 'DATABASE'].map((part) => `JAMBONES_MYSQL_WRITE_${part}`);
  const write: MysqlPoolConfig | undefined = writeNames.every((name) => reader.raw(name, true) !== undefined)
    ? {
        host: reader.string('JAMBONES_MYSQL_WRITE_HOST', ''),
        port: reader.int('JAMBONES_MYSQL_WRITE_PORT', 3306, 1, PORT_MAX),
        user: reader.string('JAMBONES_MYSQL_WRITE_USER', ''),
        password: reader.raw('JAMBONES_MYSQL_WRITE_PASSWORD', true) ?? '',
        database: reader.string('JAMBONES_MYSQL_WRITE_DATABASE', ''),
        connectionLimit: reader.int('JAMBONES_MYSQL_WRITE_CONNECTION_LIMIT', connectionLimit, 1, 1000),
      }
    : undefined;
  const sslFiles = {
    caFile: reader.optionalString('JAMBONES_MYSQL_SSL_CA_FILE'),
    certFile: reader.optionalString('JAMBONES_MYSQL_SSL_CERT_FILE'),
    keyFile: reader.optionalString('JAMBONES_MYSQL_SSL_KEY_FILE'),
  };
  const rejectSetting = reader.optionalString('JAMBONES_MYSQL_REJECT_UNAUTHORIZED');
  const useSsl = rejectSetting !== undefined || Object.values(sslFiles).some((file) => file !== undefined);
  return {
    read,
    write,
    ssl: useSsl ? { rejectUnauthorized: rejectSetting !== '0', ...sslFiles } : undefined,
    deadSbcSeconds: reader.int('DEAD_SBC_IN_SECOND', 3600, 1),
  };
}

function readRedis(reader: EnvReader): RedisConfig {
  const sentinelList = reader.list('JAMBONES_REDIS_SENTINELS');
  const sentinels = sentinelList.length > 0 ? parseSentinels(reader, sentinelList) : undefined;
  const host = reader.optionalString('JAMBONES_REDIS_HOST');
  const sentinelMasterName = reader.optionalString('JAMBONES_REDIS_SENTINEL_MASTER_NAME');
  if (!sentinels && !host) {
    reader.problem('JAMBONES_REDIS_HOST is required (or JAMBONES_REDIS_SENTINELS with JAMBONES_REDIS_SENTINEL_MASTER_NAME)');
  }
  if (sentinels && !sentinelMasterName) {
    reader.problem('JAMBONES_REDIS_SENTINEL_MASTER_NAME is required when JAMBONES_REDIS_SENTINELS is set');
  }
  const tlsOn = reader.flag('ENABLE_JAMBONES_REDIS_TLS');
  return {
    host,
    port: reader.int('JAMBONES_REDIS_PORT', 6379, 1, PORT_MAX),
    sentinels,
    sentinelMasterName,
    username: reader.optionalString('JAMBONES_REDIS_USERNAME'),
    password: reader.optionalString('JAMBONES_REDIS_PASSWORD'),
    sentinelUsername: reader.optionalString('JAMBONES_REDIS_SENTINEL_USERNAME'),
    sentinelPassword: reader.optionalString('JAMBONES_REDIS_SENTINEL_PASSWORD'),
    tls: tlsOn
      ? {
          caFile: reader.optionalString('JAMBONES_REDIS_TLS_CA_FILE'),
          certFile: reader.optionalString('JAMBONES_REDIS_TLS_CERT_FILE'),
          keyFile: reader.optionalString('JAMBONES_REDIS_TLS_KEY_FILE'),
        }
      : undefined,
    db: reader.int('JAMBONES_REDIS_DB', 0, 0, 15),
  };
}

function parseSentinels(reader: EnvReader, entries: string[]): { host: string; port: number }[] {
  return entries.map((entry) => {
    const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(entry);
    if (!match || (match[2] !== undefined && Number(match[2]) > PORT_MAX)) {
      reader.problem('JAMBONES_REDIS_SENTINELS must be a comma-separated list of host[:port] (port defaults to 26379)');
      return { host: entry, port: 26379 };
    }
    return { host: match[1], port: match[2] ? Number(match[2]) : 26379 };
  });
}

function readRegistrar(reader: EnvReader): RegistrarConfig {
  return {
    natExpires: reader.int('REGISTRAR_NAT_EXPIRES', 30, 1, 86400),
    accountCacheTtlMs: reader.int('REGISTRAR_ACCOUNT_CACHE_TTL_MS', 5000, 0, 3_600_000),
    accountCacheMax: reader.int('REGISTRAR_ACCOUNT_CACHE_MAX', 10000, 1),
    hookTimeoutMs: reader.int('REGISTRATION_HOOK_TIMEOUT_MS', 5000, 100, 60000),
    hookMaxInFlight: reader.int('REGISTRATION_HOOK_MAX_IN_FLIGHT', 100, 1, 100000),
    hookBreakerFailures: reader.int('REGISTRATION_HOOK_BREAKER_FAILURES', 5, 1, 1000),
    hookBreakerCooldownMs: reader.int('REGISTRATION_HOOK_BREAKER_COOLDOWN_MS', 30000, 100, 3_600_000),
    hookRetryAfter: reader.int('REGISTRATION_HOOK_RETRY_AFTER', 30, 1, 3600),
    hookAlertPeriodMs: reader.int('REGISTRATION_HOOK_ALERT_PERIOD_MS', 300000, 0, 86_400_000),
    nonceSecret: reader.optionalString('REGISTRAR_NONCE_SECRET'),
    nonceLifetime: reader.int('REGISTRAR_NONCE_LIFETIME', 300, 5, 86400),
    offerSha256: reader.flag('REGISTRAR_DIGEST_SHA256'),
    requireUsernameMatch: reader.flag('REGISTRAR_REQUIRE_USERNAME_MATCH'),
    authFailureWindowSec: reader.int('REGISTRAR_AUTH_FAILURE_WINDOW', 300, 1, 86400),
    authFailuresPerSource: reader.int('REGISTRAR_AUTH_FAILURES_PER_SOURCE', 20, 0, 1_000_000),
    authFailuresPerAor: reader.int('REGISTRAR_AUTH_FAILURES_PER_AOR', 10, 0, 1_000_000),
    banSeconds: reader.int('REGISTRAR_BAN_SECONDS', 900, 1, 30 * 86400),
    rateLimitPerSec: reader.number('REGISTRAR_RATE_LIMIT', 50, 0, 1_000_000),
    rateLimitBurst: reader.int('REGISTRAR_RATE_LIMIT_BURST', 100, 1, 1_000_000),
    minExpires: reader.int('REGISTRAR_MIN_EXPIRES', 20, 1, 86400),
    maxExpires: reader.int('REGISTRAR_MAX_EXPIRES', 86400, 60, 4294967295),
    defaultExpires: reader.int('REGISTRAR_DEFAULT_EXPIRES', 3600, 1, 4294967295),
    expiresJitterPercent: reader.number('REGISTRAR_EXPIRES_JITTER_PERCENT', 10, 0, 50),
    maxBindings: reader.int('REGISTRAR_MAX_BINDINGS', 10, 1, 1000),
    bindingsOverflow: reader.oneOf('REGISTRAR_BINDINGS_OVERFLOW', 'evict-oldest', ['evict-oldest', 'reject'] as const),
    waitReplicas: reader.int('REGISTRAR_WAIT_REPLICAS', 0, 0, 100),
    waitTimeoutMs: reader.int('REGISTRAR_WAIT_TIMEOUT_MS', 200, 1, 60000),
  };
}

function readOptions(reader: EnvReader): OptionsConfig {
  return {
    expiresIntervalMs: reader.int('EXPIRES_INTERVAL', 60000, 100),
    checkExpiresIntervalMs: reader.int('CHECK_EXPIRES_INTERVAL', 20000, 100),
    sendPingIntervalSec: reader.int('SEND_OPTIONS_PING_INTERVAL', 60, 1),
    pingTtlSec: reader.int('OPTIONS_PING_TTL', 300, 1),
    responseRemove: reader.statusCodes('OPTIONS_RESPONSE_REMOVE'),
    trustedCidrs: readCidrList(reader, 'OPTIONS_TRUSTED_CIDR'),
    pingTimeoutMs: reader.int('OPTIONS_PING_TIMEOUT_MS', 5000, 100, 60000),
    pingDownAfter: reader.int('OPTIONS_PING_DOWN_AFTER', 2, 1, 100),
    pingUpAfter: reader.int('OPTIONS_PING_UP_AFTER', 1, 1, 100),
    serverControl: jambonzSwitch(reader, 'JAMBONES_SERVER_CONTROL'),
    discoveryTrustedCidrs: readCidrList(reader, 'SERVER_CONTROL_TRUSTED_CIDR'),
  };
}

/** jambonz's server-control switches are on for 1, true or yes (any case) and off for anything else. */
function jambonzSwitch(reader: EnvReader, name: string): boolean {
  return /^(1|true|yes)$/i.test(reader.raw(name) ?? '');
}

function readRegbot(reader: EnvReader): RegbotConfig {
  const batchSize = reader.int('JAMBONES_REGBOT_BATCH_SIZE', 10, 1);
  const batchSleepMs = reader.int('JAMBONES_REGBOT_BATCH_SLEEP_MS', 250, 0);
  return {
    defaultExpires: reader.int('JAMBONES_REGBOT_DEFAULT_EXPIRES_INTERVAL', 3600, 1),
    minExpires: reader.int('JAMBONES_REGBOT_MIN_EXPIRES_INTERVAL', 90, 1),
    failureRetryInterval: reader.int('JAMBONES_REGBOT_FAILURE_RETRY_INTERVAL', 300, 1),
    failureThreshold: reader.int('JAMBONES_REGBOT_REGISTER_FAILURE_THRESHOLD', 3, 1),
    responseRemove: reader.statusCodes('REGISTER_RESPONSE_REMOVE'),
    userAgent: reader.optionalString('JAMBONES_REGBOT_USER_AGENT'),
    contactUseIp: reader.isSet('JAMBONES_REGBOT_CONTACT_USE_IP'),
    batchSize,
    batchSleepMs,
    reloadIntervalMs: reader.int('REGBOT_RELOAD_INTERVAL_MS', 60000, 100),
    refreshFraction: reader.number('REGBOT_REFRESH_FRACTION', 0.5, 0.1, 0.95),
    refreshJitter: reader.number('REGBOT_REFRESH_JITTER', 0.05, 0, 0.5),
    retryBaseMs: reader.int('REGBOT_RETRY_BASE_MS', 10000, 10),
    forbiddenRetryInterval: reader.int('REGBOT_FORBIDDEN_RETRY_INTERVAL', 1800, 1),
    leaseTtlMs: reader.int('REGBOT_LEASE_TTL_MS', 70000, 300),
    transactionTimeoutMs: reader.isSet('JAMBONES_REGBOT_RESPONSE_TIMEOUT')
      ? reader.int('JAMBONES_REGBOT_RESPONSE_TIMEOUT', 45000, 100)
      : reader.int('REGBOT_TRANSACTION_TIMEOUT_MS', 45000, 100),
    newPerSecond: reader.int('REGBOT_NEW_PER_SECOND', defaultPacing(batchSize, batchSleepMs), 0),
    maxInFlight: reader.int('REGBOT_MAX_IN_FLIGHT', 200, 0),
    unregisterOnShutdown: reader.flagDefaultOn('REGBOT_UNREGISTER_ON_SHUTDOWN'),
    dnsServers: readDnsServers(reader, 'REGBOT_DNS_SERVERS'),
  };
}

/** `ip`, `ip:port` or `[ipv6]:port`, as node's dns.Resolver#setServers takes them. */
function readDnsServers(reader: EnvReader, name: string): string[] {
  const servers = reader.list(name);
  const valid = (server: string): boolean => {
    const match = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server) ?? /^([\d.]+)(?::(\d{1,5}))?$/.exec(server);
    const [host, port] = match ? [match[1], match[2]] : [server, undefined];
    return net.isIP(host) !== 0 && (port === undefined || (Number(port) >= 1 && Number(port) <= PORT_MAX));
  };
  if (!servers.every(valid)) reader.problem(`${name} must be a comma-separated list of DNS server addresses such as 10.0.0.2,10.0.0.3:5353`);
  return servers;
}

function readAwsLifecycle(reader: EnvReader): AwsLifecycleConfig {
  const imdsEndpoint = reader.string('AWS_EC2_METADATA_SERVICE_ENDPOINT', 'http://169.254.169.254').replace(/\/+$/, '');
  if (!/^http:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(imdsEndpoint)) {
    reader.problem('AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http URL of a host and optional port, such as http://169.254.169.254');
  }
  return {
    enabled: reader.flag('AWS_LIFECYCLE_DRAIN'),
    imdsEndpoint,
    pollMs: reader.int('AWS_LIFECYCLE_POLL_MS', 20000, 100, 3_600_000),
  };
}

/** Without REGBOT_NEW_PER_SECOND, the reference's batch settings give the rate (10 per 250 ms = 40/s). */
function defaultPacing(size: number, sleepMs: number): number {
  return sleepMs === 0 ? 0 : Math.max(1, Math.round((size * 1000) / sleepMs));
}

function readStats(reader: EnvReader): StatsConfig {
  return {
    // The reference switches metrics on only for ENABLE_METRICS=1 (parseInt), not for any non-empty value.
    enabled: reader.optionalString('ENABLE_METRICS') === '1',
    host: reader.string('STATS_HOST', '127.0.0.1'),
    port: reader.int('STATS_PORT', 8125, 1, PORT_MAX),
    protocol: reader.oneOf('STATS_PROTOCOL', 'udp', ['udp', 'tcp', 'uds'] as const),
    prefix: reader.string('STATS_PREFIX', ''),
    tags: reader.list('STATS_TAGS'),
    sampleRate: reader.number('STATS_SAMPLE_RATE', 1, 0, 1),
    maxBufferSize: reader.int('STATS_MAX_BUFFER_SIZE', 0, 0, 65535),
    bufferFlushIntervalMs: reader.int('STATS_BUFFER_FLUSH_INTERVAL', 1000, 1, 3_600_000),
    cacheDns: reader.flag('STATS_CACHE_DNS'),
    telegraf: reader.flag('STATS_TELEGRAF'),
  };
}

/**
 * Every environment variable loadConfig reads, found by running it over environments that record each
 * name asked for: one where everything is set (so `a && b` branches read b) and one where nothing is
 * (so `a ?? b` fallbacks read b). Lets a test check that deployment files set only known variables.
 */
export function knownVariableNames(): string[] {
  const names = new Set<string>();
  for (const answer of ['x', undefined]) {
    const recorder = new Proxy<Env>({}, {
      get: (_target, name) => {
        if (typeof name === 'string') names.add(name);
        return answer;
      },
    });
    try {
      loadConfig(recorder);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
    }
  }
  return [...names].sort();
}
