/**
 * The outbound REGISTER as the reference builds it (spec §7.4): Request-URI without a user part,
 * From = To, a Contact chosen by the reference's precedence, Expires in the header and the Contact.
 * Unlike the reference we pass Call-ID, CSeq and the From tag ourselves, so they stay stable (Call-ID,
 * tag) or increase (CSeq) across refreshes and digest retries.
 */
import type { PublicSipAddresses } from '../sip/hostports';
import { nextHopOf, RegistrationTarget } from './registration-target';

export interface ContactContext {
  /** drachtio's advertised addresses (from its hostport list). */
  publicAddresses: PublicSipAddresses;
  /** system_information.sip_domain_name. */
  sipDomainName?: string;
  /** JAMBONES_REGBOT_CONTACT_USE_IP. */
  contactUseIp: boolean;
}

/**
 * Our Contact: `address` is `user@host[:port]`, first match wins: public IP, account realm, system SIP
 * domain, carrier realm. `ownAddress`: it carries this SBC's public address, so it is this SBC's binding
 * alone; the other forms name a domain every instance of the cluster registers alike.
 */
export function contactOf(target: RegistrationTarget, ctx: ContactContext): { address: string; ownAddress: boolean } {
  if (target.publicIpInContact || ctx.contactUseIp) {
    const publicAddress = publicAddressFor(target.transport, ctx.publicAddresses);
    if (publicAddress) return { address: `${target.fromUser}@${publicAddress}`, ownAddress: true };
  }
  const domain = target.accountSipRealm || ctx.sipDomainName || target.sipRealm;
  return { address: `${target.fromUser}@${domain}`, ownAddress: false };
}

export function contactAddress(target: RegistrationTarget, ctx: ContactContext): string {
  return contactOf(target, ctx).address;
}

/**
 * The Call-ID of a binding: `<sip_gateway_sid>@<host of our Contact>`. With the public IP in the Contact
 * this is the reference's `<sip_gateway_sid>@<SBC public IP>`, and each SBC's binding has its own Call-ID,
 * as it has its own Contact. With a domain in the Contact, every instance registers the same binding, so
 * every instance (and a restarted one) uses the same Call-ID and a hand-over is a refresh of that binding.
 */
export function callIdOf(gatewaySid: string, contact: string): string {
  const hostport = contact.slice(contact.lastIndexOf('@') + 1);
  const host = hostport.startsWith('[') ? hostport.slice(0, hostport.indexOf(']') + 1) : hostport.replace(/:\d+$/, '');
  return `${gatewaySid}@${host}`;
}

/** tcp has no advertised entry of its own in the reference; it uses the udp address. */
function publicAddressFor(transport: RegistrationTarget['transport'], addresses: PublicSipAddresses): string | undefined {
  return transport === 'tls' ? addresses.tls : addresses.udp;
}

export interface RegisterRequestInput {
  target: RegistrationTarget;
  contact: string;
  expires: number;
  callId: string;
  cseq: number;
  fromTag: string;
  userAgent: string;
  /** `Authorization` or `Proxy-Authorization` with its value, when answering a challenge. */
  credentials?: { header: 'Authorization' | 'Proxy-Authorization'; value: string };
  /** The next hop chosen by failover (`sip:<ip>:<port>;transport=<t>`); else nextHopOf(target). */
  nextHop?: string;
}

export interface RegisterRequest {
  uri: string;
  proxy: string;
  headers: Record<string, string>;
}

export function requestUriOf(target: RegistrationTarget): string {
  return `${target.scheme}:${target.sipRealm}`;
}

export function buildRegister(input: RegisterRequestInput): RegisterRequest {
  const { target } = input;
  const aor = `<sip:${target.fromUser}@${target.fromDomain}>`;
  const headers: Record<string, string> = {
    'Call-ID': input.callId,
    CSeq: `${input.cseq} REGISTER`,
    From: `${aor};tag=${input.fromTag}`,
    To: aor,
    Contact: `<${target.scheme}:${input.contact};transport=${target.transport}>;expires=${input.expires}`,
    Expires: String(input.expires),
    'User-Agent': input.userAgent,
  };
  if (input.credentials) headers[input.credentials.header] = input.credentials.value;
  return { uri: requestUriOf(target), proxy: input.nextHop ?? nextHopOf(target), headers };
}
