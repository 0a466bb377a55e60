/**
 * Which of drachtio's advertised addresses are public, i.e. worth publishing in `sbc_addresses` for
 * carriers and customers to send traffic to. The reference only excluded RFC 1918; CGNAT (100.64/10),
 * loopback, link-local, multicast/reserved space and their IPv6 counterparts are not reachable from the
 * internet either.
 */
import net from 'node:net';

const NOT_PUBLIC_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], // RFC 1918
  ['100.64.0.0', 10], // CGNAT shared space, RFC 6598
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
];

const NOT_PUBLIC_V6: [string, number][] = [
  ['::', 128], ['::1', 128], // unspecified, loopback
  ['fe80::', 10], // link-local
  ['fc00::', 7], // unique local
  ['ff00::', 8], // multicast
];

const notPublic = new net.BlockList();
for (const [address, prefix] of NOT_PUBLIC_V4) notPublic.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of NOT_PUBLIC_V6) notPublic.addSubnet(address, prefix, 'ipv6');

/** True for an IPv4 or IPv6 literal that is routable on the internet; false for names and garbage. */
export function isPublicAddress(address: string): boolean {
  if (net.isIPv4(address)) return !notPublic.check(address, 'ipv4');
  if (!net.isIPv6(address)) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]);
  return !notPublic.check(address, 'ipv6');
}
