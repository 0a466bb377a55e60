/**
 * Registration trunks (`trunk_type = 'reg'`): sbc-inbound recognises INVITEs from such a carrier by
 * source IP through `eph-gw-ip:<ip>` hashes (field = carrier sid, value = unix-seconds expiry), which
 * regbot keeps in step with the registration, exactly as the reference does, except that the SRV name
 * follows the transport (the reference always asks `_sip._udp`).
 */
import { promises as dns } from 'node:dns';
import net from 'node:net';
import type Redis from 'ioredis';
import { keys } from '../store/keys';
import type { RegistrationTarget } from './registration-target';

/** The reference's TTL of the whole hash. */
const HASH_TTL_SEC = 7200;

export interface Resolver {
  resolveSrv(name: string): Promise<{ name: string }[]>;
  resolve4(name: string): Promise<string[]>;
}

export function srvNameFor(target: Pick<RegistrationTarget, 'transport' | 'host'>): string {
  if (target.transport === 'tls') return `_sips._tcp.${target.host}`;
  return `_sip._${target.transport}.${target.host}`;
}

/** The carrier's addresses: an IP literal itself; a host name with a port by A; without, SRV then A. */
export async function carrierAddresses(target: Pick<RegistrationTarget, 'transport' | 'host' | 'port'>,
  resolver: Resolver = dns): Promise<string[]> {
  if (net.isIP(target.host)) return [target.host];
  if (target.port) return resolver.resolve4(target.host).catch(() => []);
  const srv = await resolver.resolveSrv(srvNameFor(target)).catch(() => []);
  const fromSrv = (await Promise.all(srv.map((record) => resolver.resolve4(record.name).catch(() => [])))).flat();
  if (fromSrv.length > 0) return [...new Set(fromSrv)];
  return resolver.resolve4(target.host).catch(() => []);
}

const REMOVE_FIELD = `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return 1`;

export class EphemeralGateways {
  constructor(private readonly redis: Redis, private readonly resolver: Resolver = dns) {}

  /** After every final response; a failure writes expires 0, which consumers read as "not registered". */
  async update(target: RegistrationTarget, expiresSec: number, nowMs: number): Promise<string[]> {
    const addresses = await carrierAddresses(target, this.resolver);
    const until = Math.floor(nowMs / 1000) + expiresSec;
    for (const ip of addresses) {
      const key = keys.ephemeralGatewayIp(ip);
      await this.redis.multi().hset(key, target.carrierSid, String(until)).expire(key, HASH_TTL_SEC).exec();
    }
    return addresses;
  }

  /** When the trunk is removed or disabled; the key goes when no other carrier is left in it. */
  async remove(target: RegistrationTarget): Promise<void> {
    const addresses = await carrierAddresses(target, this.resolver);
    for (const ip of addresses) await this.redis.eval(REMOVE_FIELD, 1, keys.ephemeralGatewayIp(ip), target.carrierSid);
  }
}
