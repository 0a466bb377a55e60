/**
 * Pure rules of REGISTER failover across a gateway's addresses: in which order one round tries them,
 * which outcomes move on to the next address, and how long a 503 with Retry-After keeps an address
 * at the back of the queue.
 */
import { addressKey, GatewayAddress } from './gateway-addresses';
import type { SendResult } from './register-sender';
import { parseRetryAfter } from './refresh-schedule';

/** Addresses a 503 with Retry-After asked us to leave alone: key → until (ms). */
export type Holds = Map<string, number>;

/**
 * One round: the address that answered the last 200 first (the binding lives there), then the others in
 * DNS order; addresses on hold go last rather than nowhere, since a held address beats not trying at all.
 */
export function roundOrder(addresses: readonly GatewayAddress[], sticky: GatewayAddress | undefined, holds: Holds, now: number):
  GatewayAddress[] {
  const stickyKey = sticky ? addressKey(sticky) : undefined;
  const rank = (address: GatewayAddress): number => {
    if ((holds.get(addressKey(address)) ?? 0) > now) return 2;
    return addressKey(address) === stickyKey ? 0 : 1;
  };
  return [...addresses].sort((a, b) => rank(a) - rank(b)); // stable: DNS order within a rank
}

/**
 * 408, 503 and no final response at all say "this server, not this request": RFC 3263 §4.3 and RFC 3261
 * §21.5.4 send the request to the next address. Every other answer would be the same from any address.
 */
export function triesNextAddress(result: SendResult): boolean {
  if (!result.ok) return result.transportFailure === true;
  return result.response.status === 408 || result.response.status === 503;
}

/** RFC 3261 §21.5.4: after a 503 with Retry-After, no request to that server for that long. */
export function holdFor(result: SendResult, address: GatewayAddress, holds: Holds, now: number): void {
  if (!result.ok || result.response.status !== 503) return;
  const seconds = parseRetryAfter(result.response.header('Retry-After'));
  if (seconds !== undefined && seconds > 0) holds.set(addressKey(address), now + seconds * 1000);
}

/** Forgets holds that are over, so the map cannot grow with addresses a carrier no longer uses. */
export function dropExpiredHolds(holds: Holds, now: number): void {
  for (const [key, until] of holds) if (until <= now) holds.delete(key);
}
