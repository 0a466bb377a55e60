import type { RowDataPacket } from 'mysql2/promise';
import type { Database } from './database';

/** An outbound gateway whose carrier asked for OPTIONS health pings, with what alerts need of its carrier. */
export interface PingableGateway {
  sipGatewaySid: string;
  ipv4: string;
  port: number | null;
  protocol: string | null;
  useSipsScheme: boolean;
  voipCarrierSid: string;
  carrierName: string;
  accountSid: string | null;
  serviceProviderSid: string | null;
}

interface Row extends RowDataPacket {
  sip_gateway_sid: string;
  ipv4: string;
  port: number | null;
  protocol: string | null;
  use_sips_scheme: number | null;
  voip_carrier_sid: string;
  name: string;
  account_sid: string | null;
  service_provider_sid: string | null;
}

/** The reference's filter (send_options_ping, outbound, is_active; the carrier's own state is not checked). */
const PINGABLE = `
  SELECT gw.sip_gateway_sid, gw.ipv4, gw.port, gw.protocol, gw.use_sips_scheme,
         vc.voip_carrier_sid, vc.name, vc.account_sid, vc.service_provider_sid
  FROM sip_gateways gw JOIN voip_carriers vc ON vc.voip_carrier_sid = gw.voip_carrier_sid
  WHERE gw.send_options_ping = 1 AND gw.outbound = 1 AND gw.is_active = 1
  ORDER BY gw.sip_gateway_sid`;

export class Gateways {
  constructor(private readonly db: Database) {}

  async pingable(): Promise<PingableGateway[]> {
    const rows = await this.db.select<Row>(PINGABLE);
    return rows.map((row) => ({
      sipGatewaySid: row.sip_gateway_sid,
      ipv4: row.ipv4,
      port: row.port,
      protocol: row.protocol,
      useSipsScheme: Boolean(row.use_sips_scheme),
      voipCarrierSid: row.voip_carrier_sid,
      carrierName: row.name,
      accountSid: row.account_sid,
      serviceProviderSid: row.service_provider_sid,
    }));
  }

  /** OPTIONS_RESPONSE_REMOVE: the carrier answered with a code that means "stop pinging me". */
  async disableOptionsPing(sipGatewaySid: string): Promise<void> {
    await this.db.write('UPDATE sip_gateways SET send_options_ping = 0 WHERE sip_gateway_sid = ?', [sipGatewaySid]);
  }
}
