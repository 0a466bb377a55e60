/**
 * GatewayOwnership against the test Redis: a scale-in drain or a shutdown leave must leave the instance set
 * and the lease for good, even when it starts while a heartbeat is still in flight.
 */
import test from 'tape';
import type Redis from 'ioredis';
import { GatewayOwnership } from '../../lib/regbot/gateway-ownership';
import { keys } from '../../lib/store/keys';
import { createTestRedis, flushTestRedis } from '../support/test-redis';

const CLUSTER = 'ownership-unit';

function ownershipTest(name: string, body: (t: test.Test, redis: Redis, ownership: GatewayOwnership) => Promise<void>): void {
  test(`regbot ownership: ${name}`, async (t) => {
    const redis = createTestRedis();
    await flushTestRedis(redis);
    try {
      await body(t, redis, new GatewayOwnership(redis, CLUSTER, 60000));
    } finally {
      await flushTestRedis(redis);
      await redis.quit();
    }
  });
}

ownershipTest('a drain started during a heartbeat leaves the set and the lease', async (t, redis, ownership) => {
  // The first heartbeat finds the lease free and takes it in several round trips (renew, then SET NX);
  // the drain is asked for meanwhile, as a scale-in signal can arrive at any time.
  const heartbeat = ownership.tick();
  await ownership.drain();
  await heartbeat;
  t.equal(await redis.get(keys.regbotToken(CLUSTER)), null, 'the lease is not held after the drain');
  t.equal(await redis.zscore(keys.regbotInstances(CLUSTER), ownership.instanceId), null, 'not in the instance set');

  await ownership.tick();
  t.equal(await redis.get(keys.regbotToken(CLUSTER)), null, 'a draining heartbeat claims nothing');
  t.notEqual(await redis.zscore(keys.regbotDraining(CLUSTER), ownership.instanceId), null,
    'it heartbeats among the draining instances');
  t.ok(ownership.owns('any-gateway'), 'without a successor the last instance keeps the gateways');
});

ownershipTest('leaving during a heartbeat leaves the set and the lease', async (t, redis, ownership) => {
  const heartbeat = ownership.tick();
  await ownership.leave();
  await heartbeat;
  t.equal(await redis.get(keys.regbotToken(CLUSTER)), null, 'a stopped instance holds no lease');
  t.equal(await redis.zscore(keys.regbotInstances(CLUSTER), ownership.instanceId), null,
    'nor stays in the instance set (its gateways would be nobody\'s until its heartbeat ran out)');
});
