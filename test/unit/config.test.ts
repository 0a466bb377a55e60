import test from 'tape';
import { loadConfig, ConfigError } from '../../lib/config/config';

const MINIMAL = {
  DRACHTIO_HOST: '127.0.0.1',
  DRACHTIO_PORT: '9022',
  DRACHTIO_SECRET: 'cymru',
  JAMBONES_MYSQL_HOST: '127.0.0.1',
  JAMBONES_MYSQL_USER: 'jambones',
  JAMBONES_MYSQL_PASSWORD: '',
  JAMBONES_MYSQL_DATABASE: 'jambones',
  JAMBONES_REDIS_HOST: '127.0.0.1',
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

test('config: the minimal jambonz environment gives the reference defaults', (t) => {
  const config = loadConfig(MINIMAL);
  t.equal(config.logLevel, 'info');
  t.equal(config.clusterId, 'default');
  t.deepEqual(config.networkCidrs, ['192.168.0.0/24', '172.16.0.0/16', '10.0.0.0/8']);
  t.equal(config.mysql.read.port, 3306);
  t.equal(config.mysql.read.connectionLimit, 10);
  t.equal(config.mysql.write, undefined, 'no writer pool unless all JAMBONES_MYSQL_WRITE_* are set');
  t.equal(config.redis.port, 6379);
  t.equal(config.options.expiresIntervalMs, 60000);
  t.equal(config.options.checkExpiresIntervalMs, 20000);
  t.equal(config.options.sendPingIntervalSec, 60);
  t.equal(config.options.pingTtlSec, 300);
  t.equal(config.regbot.defaultExpires, 3600);
  t.equal(config.registrar.defaultExpires, 3600, 'REGISTRAR_DEFAULT_EXPIRES (ours)');
  t.equal(config.regbot.minExpires, 90, 'JAMBONES_REGBOT_MIN_EXPIRES_INTERVAL: 90 since the reference 0.9.7');
  t.equal(config.regbot.transactionTimeoutMs, 45000, 'JAMBONES_REGBOT_RESPONSE_TIMEOUT default');
  t.deepEqual(config.awsLifecycle, { enabled: false, imdsEndpoint: 'http://169.254.169.254', pollMs: 20000 }, 'no scale-in watch unless asked');
  t.equal(config.regbot.failureRetryInterval, 300);
  t.equal(config.regbot.failureThreshold, 3);
  t.equal(config.regbot.batchSize, 10);
  t.equal(config.regbot.batchSleepMs, 250);
  t.equal(config.socketPath, '/tmp/sbc-sip-sidecar.sock');
  t.equal(config.sbcPublicAddressKeepAliveMs, 900000);
  t.equal(config.mysql.deadSbcSeconds, 3600);
  t.equal(config.hosting, false);
  t.end();
});

test('config: the REGISTER response timeout under its jambonz name, our older name, or neither', (t) => {
  const timeout = (env: Record<string, string>) => loadConfig({ ...MINIMAL, ...env }).regbot.transactionTimeoutMs;
  t.equal(timeout({ JAMBONES_REGBOT_RESPONSE_TIMEOUT: '30000' }), 30000, 'the jambonz name');
  t.equal(timeout({ REGBOT_TRANSACTION_TIMEOUT_MS: '20000' }), 20000, 'our earlier name still works');
  t.equal(timeout({ JAMBONES_REGBOT_RESPONSE_TIMEOUT: '30000', REGBOT_TRANSACTION_TIMEOUT_MS: '20000' }), 30000, 'the jambonz name wins');
  t.ok(problemsOf({ ...MINIMAL, JAMBONES_REGBOT_RESPONSE_TIMEOUT: 'soon' }).some((p) => p.startsWith('JAMBONES_REGBOT_RESPONSE_TIMEOUT ')),
    'garbage is refused under its own name');
  t.end();
});

test('config: AWS scale-in drain', (t) => {
  const aws = loadConfig({ ...MINIMAL, AWS_LIFECYCLE_DRAIN: 'true', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://[fd00:ec2::254]/', AWS_LIFECYCLE_POLL_MS: '500' }).awsLifecycle;
  t.deepEqual(aws, { enabled: true, imdsEndpoint: 'http://[fd00:ec2::254]', pollMs: 500 }, 'on, IPv6 IMDS endpoint, trailing slash dropped');
  t.equal(loadConfig({ ...MINIMAL, AWS_LIFECYCLE_DRAIN: '0' }).awsLifecycle.enabled, false, '0 is off');
  t.ok(problemsOf({ ...MINIMAL, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'https://imds/latest' }).some((p) => p.startsWith('AWS_EC2_METADATA_SERVICE_ENDPOINT ')),
    'an endpoint with a path or https is refused');
  t.end();
});

test('config: each missing required variable is named on its own line', (t) => {
  const problems = problemsOf({});
  for (const name of ['DRACHTIO_HOST', 'DRACHTIO_PORT', 'DRACHTIO_SECRET', 'JAMBONES_MYSQL_HOST',
    'JAMBONES_MYSQL_USER', 'JAMBONES_MYSQL_PASSWORD', 'JAMBONES_MYSQL_DATABASE', 'JAMBONES_REDIS_HOST']) {
    t.equal(problems.filter((line) => line.startsWith(`${name} `)).length, 1, `${name} reported once`);
  }
  t.end();
});

test('config: invalid values are refused with what is expected, never echoing the value', (t) => {
  const problems = problemsOf({
    ...MINIMAL,
    DRACHTIO_PORT: 'ninety',
    JAMBONES_LOGLEVEL: 'loud',
    JAMBONES_NETWORK_CIDR: '10.0.0.0/33',
    REGISTER_RESPONSE_REMOVE: '401,abc',
    JAMBONES_REDIS_PORT: '70000',
    DRACHTIO_SECRET: 'topsecret-value',
  });
  t.ok(problems.some((p) => p.startsWith('DRACHTIO_PORT must be a whole number')), 'port');
  t.ok(problems.some((p) => p.startsWith('JAMBONES_LOGLEVEL must be one of')), 'log level');
  t.ok(problems.some((p) => p.startsWith('JAMBONES_NETWORK_CIDR must be')), 'cidr');
  t.ok(problems.some((p) => p.startsWith('REGISTER_RESPONSE_REMOVE must be')), 'status codes');
  t.ok(problems.some((p) => p.startsWith('JAMBONES_REDIS_PORT must be')), 'redis port');
  t.notOk(problems.join('\n').includes('topsecret-value'), 'no value is echoed');
  t.end();
});

test('config: sentinels replace the Redis host and need a master name', (t) => {
  const env = { ...MINIMAL, JAMBONES_REDIS_HOST: undefined, JAMBONES_REDIS_SENTINELS: 'a:26380,b' };
  t.ok(problemsOf(env).some((p) => p.startsWith('JAMBONES_REDIS_SENTINEL_MASTER_NAME is required')));
  const config = loadConfig({ ...env, JAMBONES_REDIS_SENTINEL_MASTER_NAME: 'mymaster' });
  t.deepEqual(config.redis.sentinels, [{ host: 'a', port: 26380 }, { host: 'b', port: 26379 }]);
  t.equal(config.redis.sentinelMasterName, 'mymaster');
  t.end();
});

test('config: writer pool, hosting flag, lists and secrets', (t) => {
  const config = loadConfig({
    ...MINIMAL,
    JAMBONES_MYSQL_WRITE_HOST: 'writer',
    JAMBONES_MYSQL_WRITE_USER: 'w',
    JAMBONES_MYSQL_WRITE_PASSWORD: '',
    JAMBONES_MYSQL_WRITE_DATABASE: 'jambones',
    JAMBONES_HOSTING: '1',
    REGISTER_RESPONSE_REMOVE: '401, 403,404',
    OPTIONS_RESPONSE_REMOVE: '',
    JWT_SECRET: 'jwt',
    JAMBONES_CLUSTER_ID: 'east',
  });
  t.equal(config.mysql.write?.host, 'writer');
  t.equal(config.hosting, true);
  t.deepEqual(config.regbot.responseRemove, [401, 403, 404]);
  t.deepEqual(config.options.responseRemove, []);
  t.equal(config.encryptionSecret, 'jwt', 'JWT_SECRET is the fallback for ENCRYPTION_SECRET');
  t.equal(loadConfig({ ...MINIMAL, ENCRYPTION_SECRET: 'enc', JWT_SECRET: 'jwt' }).encryptionSecret, 'enc');
  t.equal(config.clusterId, 'east');
  t.equal(loadConfig({ ...MINIMAL, JAMBONES_HOSTING: '0' }).hosting, false, '0 does not switch hosting on');
  t.end();
});
