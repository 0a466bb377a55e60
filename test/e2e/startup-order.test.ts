/**
 * Start-up order (issue 14): the background jobs that need Redis (membership expiry sweep, regbot heartbeat,
 * user count, carrier pings, binding pruner) start once Redis is ready, so a Redis that is not there yet, or
 * not connected yet in the first milliseconds, costs no failed runs and no misleading warnings.
 */
import test from 'tape';
import { createRegistrarBed } from '../support/registrar-bed';
import { startTcpProxy } from '../support/tcp-proxy';
import type { ServiceLogLine } from '../support/service';
import { keys } from '../../lib/store/keys';

const FAILED_RUNS = ['membership expiry sweep failed', 'regbot: heartbeat failed (Redis); keeping current registrations',
  'cannot count registered users', 'could not prune expired registrations', 'carrier OPTIONS ping round failed'];
const failedRun = (line: ServiceLogLine) => FAILED_RUNS.includes(String(line.msg));

test('startup: with Redis away at start, no background job runs until it is ready, then each runs', async (t) => {
  const bed = await createRegistrarBed();
  const stale = '10.9.9.9:5060';
  const set = keys.activeFeatureServers('default');
  await bed.redis.sadd(set, stale);
  await bed.redis.hset(keys.membershipLastSeen(set), stale, '0');
  const redisProxy = await startTcpProxy(6379);
  await redisProxy.cut();
  const service = await bed.startService({ JAMBONES_REDIS_PORT: String(redisProxy.port), EXPIRES_INTERVAL: '1000' });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.deepEqual(service.logs.filter(failedRun).map((line) => line.msg), [], 'no background job ran (and failed) while Redis was away');
  t.notOk(service.logs.some((line) => line.msg === 'regbot: started'), 'regbot has not started');

  await redisProxy.restore();
  const ready = await service.waitForLog((line) => line.msg === 'redis ready', 5000);
  const swept = await service.waitForLog((line) => line.msg === 'expired members that stopped checking in', 5000);
  t.deepEqual(swept.removed, [stale], 'the membership sweep ran once Redis was ready');
  const owned = await service.waitForLog((line) => line.msg === 'regbot: ownership changed', 5000);
  t.ok(service.logs.indexOf(ready) < service.logs.indexOf(owned), 'the regbot heartbeat ran after Redis was ready');
  t.deepEqual(service.logs.filter(failedRun).map((line) => line.msg), [], 'and no run of any job failed');
  await bed.close();
  await redisProxy.close();
});

test('startup: with Redis up, no job runs before the client is ready (the first milliseconds)', async (t) => {
  const bed = await createRegistrarBed();
  const service = await bed.startService();
  await service.waitForLog((line) => line.msg === 'regbot: ownership changed', 5000);
  t.deepEqual(service.logs.filter(failedRun).map((line) => line.msg), [], 'no failed run logged at start-up');
  await bed.close();
});
