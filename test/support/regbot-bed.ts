/**
 * What every regbot end-to-end test starts from: a drachtio stand-in, an empty carrier database and an
 * empty Redis test database (the lease, the instance set and eph-gw-ip entries of an earlier test gone).
 */
import type Redis from 'ioredis';
import { DrachtioStandIn, StandInOptions } from './drachtio';
import { TestDb } from './test-db';
import { createTestRedis, flushTestRedis } from './test-redis';

export interface RegbotBed {
  standIn: DrachtioStandIn;
  db: TestDb;
  redis: Redis;
}

export async function startRegbotBed(secret: string, standInOptions: Partial<StandInOptions> = {}): Promise<RegbotBed> {
  const standIn = new DrachtioStandIn({ secret, ...standInOptions });
  await standIn.start();
  const db = await TestDb.connect();
  await db.truncateAll();
  const redis = createTestRedis();
  await flushTestRedis(redis);
  return { standIn, db, redis };
}
