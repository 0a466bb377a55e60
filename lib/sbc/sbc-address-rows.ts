import { parseHostports } from '../sip/hostports';
import { isPublicAddress } from './public-address';

/** One `sbc_addresses` row as this SBC advertises it. */
export interface SbcAddress {
  /** The public IP (the column is named ipv4 but is VARCHAR(255); public IPv6 addresses are kept too). */
  ipv4: string;
  /** The udp port (the tcp one when there is no udp listener on that IP), else 5060. */
  port: number;
  tlsPort: number | null;
  wssPort: number | null;
}

/**
 * The rows for drachtio's advertised listeners (`udp/1.2.3.4:5060,tls/1.2.3.4:5061,...`): one per public
 * IP, with the ports of that IP's own listeners (the reference mixed the ports of different IPs).
 */
export function sbcAddressRows(hostports: string | undefined): SbcAddress[] {
  const byHost = new Map<string, { udp?: number; tcp?: number; tls?: number; wss?: number }>();
  for (const entry of parseHostports(hostports)) {
    if (!isPublicAddress(entry.host)) continue;
    const ports = byHost.get(entry.host) ?? {};
    if (entry.protocol !== 'ws') ports[entry.protocol] = entry.port;
    byHost.set(entry.host, ports);
  }
  return [...byHost].map(([ipv4, ports]) => ({
    ipv4,
    port: ports.udp ?? ports.tcp ?? 5060,
    tlsPort: ports.tls ?? null,
    wssPort: ports.wss ?? null,
  }));
}
