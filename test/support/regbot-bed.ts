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

/** Stops the stand-in and leaves the carrier database and the Redis test database empty, as startRegbotBed found them. */
export async function stopRegbotBed(bed: RegbotBed): Promise<void> {
  await bed.standIn.stop();
  await flushTestRedis(bed.redis);
  await bed.db.truncateAll();
  await bed.db.close();
  bed.redis.disconnect();
}

/** A carrier's `register_status` JSON as regbot writes it (fields the tests read). */
export interface StoredRegisterStatus {
  status?: string;
  reason?: string;
  cseq?: string;
  callId?: string;
  expires?: number;
  sbcAddress?: string;
  nextRegister?: string;
}

export async function readRegisterStatus(db: TestDb, carrierSid: string): Promise<StoredRegisterStatus | undefined> {
  const rows = await db.query('SELECT register_status FROM voip_carriers WHERE voip_carrier_sid = ?', [carrierSid]);
  const text = rows[0]?.register_status as string | null | undefined;
  return text ? JSON.parse(text) as StoredRegisterStatus : undefined;
}

/** Polls `register_status` (written in batches, up to 100 ms after the answer) until `match`; the last value read otherwise. */
export async function waitForRegisterStatus(db: TestDb, carrierSid: string, match: (s: StoredRegisterStatus) => boolean,
  timeoutMs = 10000): Promise<StoredRegisterStatus | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: StoredRegisterStatus | undefined;
  while (Date.now() < deadline) {
    last = await readRegisterStatus(db, carrierSid);
    if (last && match(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return last;
}
