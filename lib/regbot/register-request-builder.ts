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

/** `user@host[:port]`, first match wins: public IP, account realm, system SIP domain, carrier realm. */
export function contactAddress(target: RegistrationTarget, ctx: ContactContext): string {
  if (target.publicIpInContact || ctx.contactUseIp) {
    const publicAddress = publicAddressFor(target.transport, ctx.publicAddresses);
    if (publicAddress) return `${target.fromUser}@${publicAddress}`;
  }
  if (target.accountSipRealm) return `${target.fromUser}@${target.accountSipRealm}`;
  if (ctx.sipDomainName) return `${target.fromUser}@${ctx.sipDomainName}`;
  return `${target.fromUser}@${target.sipRealm}`;
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
