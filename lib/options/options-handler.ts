import { headerLookup, RequestContext, SipHandler, SrfRequest, SrfResponse } from '../drachtio/sip-router';
import type { AnswerLedger } from '../drachtio/answer-ledger';
import type { OptionsMetrics } from '../ops/metrics';
import type { MembershipRegistry } from './membership-registry';
import { parseStatusPing, StatusPing } from './status-ping';
import type { StatusPingTrust } from './status-trust';

export interface OptionsHandlerDeps {
  membership: MembershipRegistry;
  trust: StatusPingTrust;
  /** Set-size gauges, fed from the check-in's own reply (no extra Redis call). */
  metrics?: Pick<OptionsMetrics, 'clusterMembers'>;
  /** Every final answer goes through it (sent, counted, logged). */
  answers: AnswerLedger;
}

/**
 * Out-of-dialog OPTIONS. Keep-alives and health pings (carriers, clients, peers) get a plain 200. Status
 * pings from feature servers and RTP servers on the trusted network update the cluster's membership and
 * are answered 200 with `X-Members: <size of the set>`, or 503 when Redis fails.
 */
export function createOptionsHandler(deps: OptionsHandlerDeps): SipHandler {
  return async (req, res, ctx) => {
    const ping = parseStatusPing(pingSource(req));
    if (!ping) {
      deps.answers.answer('OPTIONS', res, ctx, { status: 200 });
      return;
    }
    if (!deps.trust.isTrusted(ping.sourceIp)) {
      deps.trust.noteUntrusted(ping.sourceIp, ctx.logger);
      deps.answers.answer('OPTIONS', res, ctx, { status: 200 });
      return;
    }
    await answerStatusPing(deps, ping, res, ctx);
  };
}

/** 200 with X-Members once recorded; 503 when Redis fails (with Retry-After and X-Reason when it is away). */
async function answerStatusPing({ membership, metrics, answers }: OptionsHandlerDeps, ping: StatusPing,
  res: SrfResponse, ctx: RequestContext): Promise<void> {
  const logger = ctx.logger;
  try {
    const result = await membership.checkIn(ping);
    metrics?.clusterMembers(ping.kind, result.members);
    if (result.status === 'drained') logger.warn({ member: ping.member }, 'feature server is drained; recorded as closed');
    if (result.changed) {
      logger.info({ kind: ping.kind, member: ping.member, status: result.status, members: result.members },
        result.status === 'open' ? 'member joined' : 'member left');
    }
    answers.answer('OPTIONS', res, ctx, { status: 200, headers: { 'X-Members': String(result.members) } });
  } catch (err) {
    // Whatever failed, the member learns that its status was not recorded: 503, as always.
    answers.answer('OPTIONS', res, ctx, { ...answers.failure(err, ctx), status: 503 }, { member: ping.member });
  }
}

function pingSource(req: SrfRequest): { address: string; port: number; header(name: string): string | undefined } {
  const meta = req as unknown as { source_address: string; source_port: number | string };
  return { address: meta.source_address, port: Number(meta.source_port), header: headerLookup(req) };
}
