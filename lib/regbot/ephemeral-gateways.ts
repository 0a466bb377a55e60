/**
 * Registration trunks (`trunk_type = 'reg'`): sbc-inbound recognises INVITEs from such a carrier by
 * source IP through `eph-gw-ip:<ip>` hashes (field = carrier sid, value = unix-seconds expiry), which
 * regbot keeps in step with the registration, exactly as the reference does, except that the SRV name
 * follows the transport (the reference always asks `_sip._udp`).
 */
import type Redis from 'ioredis';
import { keys } from '../store/keys';
import { GatewayAddresses, type AddressTarget } from './gateway-addresses';
import type { RegistrationTarget } from './registration-target';

export { srvNameFor } from './gateway-addresses';

/** The reference's TTL of the whole hash. */
const HASH_TTL_SEC = 7200;

/** The carrier's IPs: an IP literal itself, a host name as RFC 3263 resolves it (see gateway-addresses). */
export async function carrierAddresses(target: AddressTarget, addresses: GatewayAddresses): Promise<string[]> {
  return [...new Set((await addresses.addressesOf(target)).map((address) => address.ip))];
}

const REMOVE_FIELD = `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return 1`;

export class EphemeralGateways {
  constructor(private readonly redis: Redis, private readonly addresses: GatewayAddresses = new GatewayAddresses()) {}

  /** After every final response; a failure writes expires 0, which consumers read as "not registered". */
  async update(target: RegistrationTarget, expiresSec: number, nowMs: number): Promise<string[]> {
    const addresses = await carrierAddresses(target, this.addresses);
    const until = Math.floor(nowMs / 1000) + expiresSec;
    for (const ip of addresses) {
      const key = keys.ephemeralGatewayIp(ip);
      await this.redis.multi().hset(key, target.carrierSid, String(until)).expire(key, HASH_TTL_SEC).exec();
    }
    return addresses;
  }

  /** When the trunk is removed or disabled; the key goes when no other carrier is left in it. */
  async remove(target: RegistrationTarget): Promise<void> {
    const addresses = await carrierAddresses(target, this.addresses);
    for (const ip of addresses) await this.redis.eval(REMOVE_FIELD, 1, keys.ephemeralGatewayIp(ip), target.carrierSid);
  }
}
