/**
 * What a sipp run of REGISTERs saw, read back from its message trace: each REGISTER transaction (Call-ID and
 * CSeq) with when it was first sent and its first final answer, status, Retry-After and X-Reason. Duplicate
 * answers (to retransmissions) and provisional ones are left out, so the counts are those of transactions.
 */
import { headerOf, parseMessageTrace, statusOf } from './sipp';

export interface RegisterExchange {
  callId: string;
  cseq: number;
  /** user@host of the To header */
  aor: string;
  /** ms since epoch */
  sentAt: number;
  answeredAt?: number;
  status?: number;
  retryAfter?: string;
  xReason?: string;
}

export function registerExchanges(trace: string): RegisterExchange[] {
  const byKey = new Map<string, RegisterExchange>();
  for (const message of parseMessageTrace(trace)) {
    const callId = headerOf(message.text, 'Call-ID') ?? '';
    const cseq = Number.parseInt(headerOf(message.text, 'CSeq') ?? '', 10);
    const key = `${callId} ${cseq}`;
    const at = sippTime(message.time);
    if (message.direction === 'sent' && message.text.startsWith('REGISTER ')) {
      if (!byKey.has(key)) byKey.set(key, { callId, cseq, aor: aorOf(headerOf(message.text, 'To') ?? ''), sentAt: at });
      continue;
    }
    const status = statusOf(message.text);
    const exchange = byKey.get(key);
    if (message.direction !== 'received' || status === undefined || status < 200 || !exchange || exchange.status !== undefined) continue;
    exchange.status = status;
    exchange.answeredAt = at;
    exchange.retryAfter = headerOf(message.text, 'Retry-After');
    exchange.xReason = headerOf(message.text, 'X-Reason');
  }
  return [...byKey.values()].sort((a, b) => a.sentAt - b.sentAt);
}

/** Final answers by status, e.g. { '200': 120, '401': 121 }. */
export function countByStatus(exchanges: { status?: number }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of exchanges) if (status !== undefined) counts[String(status)] = (counts[String(status)] ?? 0) + 1;
  return counts;
}

/** sipp writes local time with microseconds: "2026-12-04 07:53:23.436876". */
function sippTime(text: string): number {
  const [date, time] = text.split(' ');
  return new Date(`${date}T${time.slice(0, 12)}`).getTime();
}

function aorOf(to: string): string {
  const match = /sips?:([^>;]+)/.exec(to);
  return match ? match[1] : '';
}
