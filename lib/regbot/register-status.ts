/**
 * `voip_carriers.register_status`: the reference JSON (status, reason, cseq, callId, timestamp, expires),
 * which the webapp and API read, plus ours: which SBC holds the registration, which gateway the status
 * is about, and when the next REGISTER is due. Written after every final response.
 */
import type { RowDataPacket } from 'mysql2/promise';
import type { Database } from '../db/database';
import { writeRegisterStatuses } from '../db/carriers';
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
  /** The final response's SIP status (for metrics); undefined when none came. Not stored: `reason` carries it. */
  status?: number;
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

/**
 * Writes register_status in batches: statuses given within `flushMs` of each other go out in one UPDATE, the
 * newest per carrier winning (a carrier's status is last-write-wins anyway). A start-up of thousands of trunks
 * otherwise costs one MySQL round trip per final response. Each write() resolves once its batch is written.
 */
export class DbStatusWriter implements StatusWriter {
  private pending = new Map<string, string>();
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Database, private readonly logger: Logger, private readonly flushMs = 100,
    private readonly maxBatch = 500) {}

  write(carrierSid: string, facts: StatusFacts): Promise<void> {
    this.pending.set(carrierSid, statusJson(facts));
    const written = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.pending.size >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
    return written;
  }

  /** Writes what is pending now (also at shutdown). Never rejects: a failed batch is logged. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const [batch, waiters] = [this.pending, this.waiters];
    this.pending = new Map();
    this.waiters = [];
    if (batch.size === 0) return;
    try {
      await writeRegisterStatuses(this.db, batch);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, carriers: batch.size }, 'regbot: could not write register_status');
    } finally {
      for (const resolve of waiters) resolve();
    }
  }
}

/** register_status as written by us or by the reference; undefined for anything else. */
export function parseRegisterStatus(text: string | null | undefined): RegisterStatus | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const status = value as Partial<RegisterStatus>;
    if (status.status !== 'ok' && status.status !== 'fail') return undefined;
    return {
      status: status.status,
      reason: typeof status.reason === 'string' ? status.reason : '',
      timestamp: typeof status.timestamp === 'string' ? status.timestamp : '',
      expires: typeof status.expires === 'number' ? status.expires : undefined,
      sbcAddress: typeof status.sbcAddress === 'string' ? status.sbcAddress : undefined,
      sipGatewaySid: typeof status.sipGatewaySid === 'string' ? status.sipGatewaySid : undefined,
      nextRegister: typeof status.nextRegister === 'string' ? status.nextRegister : undefined,
    };
  } catch {
    return undefined;
  }
}

interface StatusRow extends RowDataPacket {
  voip_carrier_sid: string;
  register_status: string | null;
}

/** The register_status of each of these carriers that has one, by carrier sid. */
export async function readRegisterStatuses(db: Database, carrierSids: string[]): Promise<Map<string, RegisterStatus>> {
  const statuses = new Map<string, RegisterStatus>();
  if (carrierSids.length === 0) return statuses;
  const rows = await db.select<StatusRow>(
    'SELECT voip_carrier_sid, register_status FROM voip_carriers WHERE voip_carrier_sid IN (?)', [carrierSids]);
  for (const row of rows) {
    const status = parseRegisterStatus(row.register_status);
    if (status) statuses.set(row.voip_carrier_sid, status);
  }
  return statuses;
}
