/**
 * `voip_carriers.register_status`: the reference JSON (status, reason, cseq, callId, timestamp, expires),
 * which the webapp and API read, plus ours: which SBC holds the registration, which gateway the status
 * is about, and when the next REGISTER is due. Written after every final response.
 */
import type { Database } from '../db/database';
import { writeRegisterStatus } from '../db/carriers';
import type { Logger } from '../ops/logger';

export interface RegisterStatus {
  status: 'ok' | 'fail';
  reason: string;
  cseq?: string;
  callId?: string;
  timestamp: string;
  expires?: number;
  sbcAddress?: string;
  sipGatewaySid?: string;
  nextRegister?: string;
}

export interface StatusFacts {
  ok: boolean;
  reason: string;
  cseq?: number;
  callId?: string;
  expires?: number;
  sbcAddress?: string;
  sipGatewaySid?: string;
  nextInMs?: number;
  now: number;
}

export function statusJson(facts: StatusFacts): string {
  const status: RegisterStatus = {
    status: facts.ok ? 'ok' : 'fail',
    // the column is VARCHAR(4096): a carrier's long reason phrase must not make the UPDATE fail
    reason: facts.reason.slice(0, 512),
    timestamp: new Date(facts.now).toISOString(),
  };
  if (facts.cseq !== undefined) status.cseq = `${facts.cseq} REGISTER`;
  if (facts.callId !== undefined) status.callId = facts.callId;
  if (facts.callId !== undefined || facts.expires !== undefined) status.expires = facts.expires ?? 0;
  if (facts.sbcAddress) status.sbcAddress = facts.sbcAddress;
  if (facts.sipGatewaySid) status.sipGatewaySid = facts.sipGatewaySid;
  if (facts.nextInMs !== undefined) status.nextRegister = new Date(facts.now + facts.nextInMs).toISOString();
  return JSON.stringify(status);
}

export interface StatusWriter {
  write(carrierSid: string, facts: StatusFacts): Promise<void>;
}

export class DbStatusWriter implements StatusWriter {
  constructor(private readonly db: Database, private readonly logger: Logger) {}

  async write(carrierSid: string, facts: StatusFacts): Promise<void> {
    try {
      await writeRegisterStatus(this.db, carrierSid, statusJson(facts));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, carrierSid }, 'regbot: could not write register_status');
    }
  }
}
