/**
 * One gateway to register, with the identity derived from its carrier as the reference derives it
 * (spec §7.3/§7.4): realm, From user and domain, transport, scheme and next hop.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { RegistrationRow } from '../db/carriers';
import type { GatewayAddress } from './gateway-addresses';

export type RegisterTransport = 'udp' | 'tcp' | 'tls';

export interface RegistrationTarget {
  gatewaySid: string;
  carrierSid: string;
  carrierName: string;
  accountSid: string | null;
  serviceProviderSid: string | null;
  trunkType: RegistrationRow['trunkType'];
  username: string;
  /** Plaintext; never logged. */
  password: string;
  /** register_sip_realm, else the gateway address: the Request-URI host. */
  sipRealm: string;
  fromUser: string;
  fromDomain: string;
  transport: RegisterTransport;
  scheme: 'sip' | 'sips';
  host: string;
  port: number | null;
  outboundProxy: string | null;
  publicIpInContact: boolean;
  accountSipRealm: string | null;
  /** Everything that, when changed, needs a new registration; a hash, so no password sits in it. */
  configKey: string;
}

export type TargetResult = { ok: true; target: RegistrationTarget } | { ok: false; reason: string };

const DOMAIN_OR_IP = /^[A-Za-z0-9.-]+(:\d+)?$/;

export function toTarget(row: RegistrationRow): TargetResult {
  if (!row.registerPassword) return { ok: false, reason: 'carrier has no register_password' };
  if (!row.registerUsername) return { ok: false, reason: 'carrier has no register_username' };
  const sipRealm = row.registerSipRealm || row.ipv4;
  const fromUser = row.registerFromUser || row.registerUsername;
  const fromDomain = row.registerFromDomain || sipRealm;
  if (!DOMAIN_OR_IP.test(fromDomain)) return { ok: false, reason: `invalid From domain "${fromDomain}"` };
  const transport = transportOf(row.protocol);
  const target: Omit<RegistrationTarget, 'configKey'> = {
    gatewaySid: row.sipGatewaySid,
    carrierSid: row.voipCarrierSid,
    carrierName: row.carrierName,
    accountSid: row.accountSid,
    serviceProviderSid: row.serviceProviderSid,
    trunkType: row.trunkType,
    username: row.registerUsername,
    password: row.registerPassword,
    sipRealm,
    fromUser,
    fromDomain,
    transport,
    scheme: transport === 'tls' && row.useSipsScheme ? 'sips' : 'sip',
    host: row.ipv4,
    port: row.port,
    outboundProxy: row.outboundSipProxy || null,
    publicIpInContact: row.registerPublicIpInContact,
    accountSipRealm: row.accountSipRealm,
  };
  return { ok: true, target: { ...target, configKey: configKeyOf(target) } };
}

/** `tls/srtp` means TLS signalling; an unknown or empty value falls back to udp, the column default. */
function transportOf(protocol: string | null): RegisterTransport {
  const base = (protocol ?? 'udp').split('/')[0].toLowerCase();
  return base === 'tcp' || base === 'tls' ? base : 'udp';
}

function configKeyOf(target: Omit<RegistrationTarget, 'configKey'>): string {
  const parts = [
    target.carrierSid, target.gatewaySid, target.host, target.port ?? '', target.username, target.password,
    target.sipRealm, target.fromUser, target.fromDomain, target.transport, target.scheme,
    target.publicIpInContact ? 1 : 0, target.outboundProxy ?? '', target.trunkType, target.accountSipRealm ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** `<user>@<realm>`, for logs. */
export function aorOf(target: RegistrationTarget): string {
  return `${target.fromUser}@${target.sipRealm}`;
}

/**
 * The next hop: the outbound proxy, else the gateway. The port goes in only for an IPv4 literal, so
 * drachtio does the RFC 3263 (SRV) lookup for host names, as the reference relies on. Used when we do
 * not pick the address ourselves (see resolvesOwnAddresses and nextHopTo).
 */
export function nextHopOf(target: RegistrationTarget): string {
  if (target.outboundProxy) {
    const proxy = target.outboundProxy.replace(/^sips?:/i, '');
    return `sip:${proxy};transport=${target.transport}`;
  }
  const withPort = net.isIPv4(target.host) && target.port ? `${target.host}:${target.port}` : target.host;
  return `sip:${withPort};transport=${target.transport}`;
}

/**
 * A gateway given by host name and reached without an outbound proxy: regbot resolves it itself so that
 * it can fail over from one address to the next (IP literals and proxies go to drachtio as they are).
 * Not over TLS: drachtio checks the carrier's certificate against the next hop, which must stay the name.
 */
export function resolvesOwnAddresses(target: Pick<RegistrationTarget, 'host' | 'outboundProxy' | 'transport'>): boolean {
  return !target.outboundProxy && target.transport !== 'tls' && net.isIP(target.host) === 0;
}

/** One resolved address of the gateway as the next hop; the Request-URI stays the realm. */
export function nextHopTo(address: GatewayAddress, transport: RegisterTransport): string {
  return `sip:${address.ip}:${address.port};transport=${transport}`;
}
