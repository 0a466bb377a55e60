/**
 * SQL for outbound carrier registration (regbot): which gateways to register, where to write the outcome,
 * and the automatic disabling after repeated hard failures.
 */
import type { RowDataPacket } from 'mysql2/promise';
import type { Database } from './database';

/** One outbound gateway of a carrier that must register, with the carrier columns regbot uses. */
export interface RegistrationRow {
  voipCarrierSid: string;
  carrierName: string;
  accountSid: string | null;
  serviceProviderSid: string | null;
  /** Plaintext, as the api-server stores it; never log it. */
  registerPassword: string | null;
  registerUsername: string | null;
  registerSipRealm: string | null;
  registerFromUser: string | null;
  registerFromDomain: string | null;
  registerPublicIpInContact: boolean;
  outboundSipProxy: string | null;
  trunkType: 'static_ip' | 'auth' | 'reg';
  accountSipRealm: string | null;
  sipGatewaySid: string;
  ipv4: string;
  port: number | null;
  protocol: string | null;
  useSipsScheme: boolean;
}

interface Row extends RowDataPacket {
  voip_carrier_sid: string;
  name: string;
  account_sid: string | null;
  service_provider_sid: string | null;
  register_username: string | null;
  register_password: string | null;
  register_sip_realm: string | null;
  register_from_user: string | null;
  register_from_domain: string | null;
  register_public_ip_in_contact: number | null;
  outbound_sip_proxy: string | null;
  trunk_type: string | null;
  account_sip_realm: string | null;
  sip_gateway_sid: string;
  ipv4: string;
  port: number | null;
  protocol: string | null;
  use_sips_scheme: number | null;
}

/**
 * The reference's selection (carriers of no account or of an active account, requires_register and
 * is_active; outbound active gateways) in one query instead of one per carrier.
 */
const REGISTRATION_ROWS = `
  SELECT vc.voip_carrier_sid, vc.name, vc.account_sid, vc.service_provider_sid, vc.register_username,
         vc.register_password, vc.register_sip_realm, vc.register_from_user, vc.register_from_domain,
         vc.register_public_ip_in_contact, vc.outbound_sip_proxy, vc.trunk_type, acc.sip_realm AS account_sip_realm,
         gw.sip_gateway_sid, gw.ipv4, gw.port, gw.protocol, gw.use_sips_scheme
    FROM voip_carriers vc
    JOIN sip_gateways gw ON gw.voip_carrier_sid = vc.voip_carrier_sid
    LEFT JOIN accounts acc ON acc.account_sid = vc.account_sid
   WHERE vc.requires_register = 1 AND vc.is_active = 1
     AND gw.outbound = 1 AND gw.is_active = 1
     AND (vc.account_sid IS NULL OR acc.is_active = 1)
   ORDER BY vc.voip_carrier_sid, gw.sip_gateway_sid`;

export async function loadRegistrationRows(db: Database): Promise<RegistrationRow[]> {
  const rows = await db.select<Row>(REGISTRATION_ROWS);
  return rows.map(toRegistrationRow);
}

function toRegistrationRow(row: Row): RegistrationRow {
  const trunkType = row.trunk_type === 'reg' || row.trunk_type === 'auth' ? row.trunk_type : 'static_ip';
  return {
    voipCarrierSid: row.voip_carrier_sid,
    carrierName: row.name,
    accountSid: row.account_sid,
    serviceProviderSid: row.service_provider_sid,
    registerUsername: row.register_username,
    registerPassword: row.register_password,
    registerSipRealm: row.register_sip_realm,
    registerFromUser: row.register_from_user,
    registerFromDomain: row.register_from_domain,
    registerPublicIpInContact: Boolean(row.register_public_ip_in_contact),
    outboundSipProxy: row.outbound_sip_proxy,
    trunkType,
    accountSipRealm: row.account_sip_realm,
    sipGatewaySid: row.sip_gateway_sid,
    ipv4: row.ipv4,
    port: row.port,
    protocol: row.protocol,
    useSipsScheme: Boolean(row.use_sips_scheme),
  };
}

/** Several carriers' register_status in one UPDATE (one round trip instead of one per carrier). */
export async function writeRegisterStatuses(db: Database, statuses: ReadonlyMap<string, string>): Promise<void> {
  if (statuses.size === 0) return;
  const sids = [...statuses.keys()];
  const cases = sids.map(() => 'WHEN ? THEN ?').join(' ');
  const params = [...sids.flatMap((sid) => [sid, statuses.get(sid) as string]), ...sids];
  await db.write(`UPDATE voip_carriers SET register_status = CASE voip_carrier_sid ${cases} END
    WHERE voip_carrier_sid IN (${sids.map(() => '?').join(',')})`, params);
}

/**
 * After repeated hard failures: registration trunks are deactivated (they are useless unregistered),
 * other trunks only stop registering, as the reference does. Returns false when the carrier is gone.
 */
export async function disableCarrierRegistration(db: Database, voipCarrierSid: string, trunkType: string): Promise<boolean> {
  const column = trunkType === 'reg' ? 'is_active' : 'requires_register';
  const result = await db.write(`UPDATE voip_carriers SET ${column} = 0 WHERE voip_carrier_sid = ?`, [voipCarrierSid]);
  return result.affectedRows > 0;
}

interface SystemInformationRow extends RowDataPacket {
  sip_domain_name: string | null;
}

export async function loadSipDomainName(db: Database): Promise<string | undefined> {
  const rows = await db.select<SystemInformationRow>('SELECT sip_domain_name FROM system_information LIMIT 1');
  return rows[0]?.sip_domain_name || undefined;
}
