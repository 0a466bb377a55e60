import net from 'node:net';

/** A parsed list of IPv4/IPv6 subnets that answers "is this address inside?". */
export class CidrSet {
  private readonly blockList = new net.BlockList();

  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if (!parsed) throw new Error(`invalid CIDR: ${cidr}`);
      this.blockList.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
  }

  contains(address: string): boolean {
    const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
    if (!family) return false;
    return this.blockList.check(address, family);
  }
}

export interface ParsedCidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export function parseCidr(cidr: string): ParsedCidr | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!match) return undefined;
  const [, address, prefixText] = match;
  const prefix = Number(prefixText);
  if (net.isIPv4(address) && prefix <= 32) return { address, prefix, family: 'ipv4' };
  if (net.isIPv6(address) && prefix <= 128) return { address, prefix, family: 'ipv6' };
  return undefined;
}
