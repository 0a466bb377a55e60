/**
 * A lease on one Redis key: taken with SET NX PX (one command, so a crash can never leave a lock without
 * a TTL, unlike SET NX followed by EXPIRE), renewed and released only by its holder through
 * compare-and-set scripts, so a holder that lost the key cannot extend or delete someone else's lease.
 */
import type Redis from 'ioredis';

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export class RedisLease {
  constructor(private readonly redis: Redis, readonly key: string, readonly token: string, private readonly ttlMs: number) {}

  /** True when we now hold the lease (taken now, or already ours and renewed). */
  async acquireOrRenew(): Promise<boolean> {
    if (await this.renew()) return true;
    return this.acquire();
  }

  async acquire(): Promise<boolean> {
    const result = await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX');
    return result === 'OK';
  }

  async renew(): Promise<boolean> {
    const result = await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs));
    return result === 1;
  }

  async release(): Promise<boolean> {
    const result = await this.redis.eval(RELEASE, 1, this.key, this.token);
    return result === 1;
  }

  /** The current holder's token, or undefined when the lease is free. */
  async holder(): Promise<string | undefined> {
    return (await this.redis.get(this.key)) ?? undefined;
  }
}
