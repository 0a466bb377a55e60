/**
 * drachtio-server tells us, in its connect handshake, which SIP listeners it has: a comma list of
 * `proto/host:port` entries (advertised, with external IPs) and the same list with bound local
 * addresses. Registrations and regbot need these to say which SBC holds a binding and what to put
 * in a Contact.
 */
import { CidrSet } from '../net/cidr';

export type SipProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export interface Hostport {
  protocol: SipProtocol;
  host: string;
  port: number;
}

const PROTOCOLS: readonly SipProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

export function parseHostports(list: string | undefined): Hostport[] {
  if (!list) return [];
  const entries: Hostport[] = [];
  for (const item of list.split(',')) {
    const match = /^([a-z]+)\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/i.exec(item.trim());
    if (!match) continue;
    const protocol = match[1].toLowerCase() as SipProtocol;
    if (!PROTOCOLS.includes(protocol)) continue;
    entries.push({ protocol, host: match[2].replace(/^\[|\]$/g, ''), port: Number(match[3]) });
  }
  return entries;
}

export function formatHostport(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The reference picks the last tcp listener inside JAMBONES_NETWORK_CIDR as the SBC's private SIP
 * address; other SBCs and feature servers reach this one through it.
 */
export function privateSipAddress(localHostports: string | undefined, network: CidrSet): string | undefined {
  let found: string | undefined;
  for (const entry of parseHostports(localHostports)) {
    if (entry.protocol === 'tcp' && network.contains(entry.host)) found = formatHostport(entry.host, entry.port);
  }
  return found;
}

export interface PublicSipAddresses {
  udp?: string;
  tls?: string;
  wss?: string;
}

/** Advertised udp/tls/wss addresses; tls defaults to the udp IP on 5061 as the reference does. */
export function publicSipAddresses(hostports: string | undefined): PublicSipAddresses {
  const result: PublicSipAddresses = {};
  let lastUdpHost: string | undefined;
  for (const entry of parseHostports(hostports)) {
    const address = formatHostport(entry.host, entry.port);
    if (entry.protocol === 'udp') {
      result.udp = address;
      lastUdpHost = entry.host;
    } else if (entry.protocol === 'tls') result.tls = address;
    else if (entry.protocol === 'wss') result.wss = address;
  }
  if (!result.tls && lastUdpHost) result.tls = formatHostport(lastUdpHost, 5061);
  return result;
}
