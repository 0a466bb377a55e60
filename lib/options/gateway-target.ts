import net from 'node:net';
import type { PingableGateway } from '../db/gateways';

export interface PingTarget {
  uri: string;
  proxy: string;
  /** `<ip>[:port];transport=<protocol>`, as the reference's alerts name a gateway. */
  label: string;
}

/**
 * Where an OPTIONS ping goes: transport from `protocol` (`tls/srtp` → tls), `sips:` when the gateway asks
 * for it over TLS (without a port, as the reference does), and the port when one is configured (none
 * means DNS SRV for a name). IPv6 literals are bracketed.
 */
export function pingTarget(gateway: PingableGateway): PingTarget {
  const protocol = gateway.protocol ?? 'udp';
  const transport = protocol.split('/')[0];
  const host = net.isIPv6(gateway.ipv4) ? `[${gateway.ipv4}]` : gateway.ipv4;
  const hostport = gateway.port ? `${host}:${gateway.port}` : host;
  const sips = transport === 'tls' && gateway.useSipsScheme;
  return {
    uri: sips ? `sips:${host}` : `sip:${hostport}`,
    proxy: `sip:${hostport};transport=${transport}`,
    label: `${hostport};transport=${protocol}`,
  };
}
