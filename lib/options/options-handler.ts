import { headerLookup, RequestContext, SipHandler, SrfRequest, SrfResponse } from '../drachtio/sip-router';
import type { AnswerLedger } from '../drachtio/answer-ledger';
import type { OptionsMetrics } from '../ops/metrics';
import type { MembershipRegistry } from './membership-registry';
import { parseStatusPing, StatusPing } from './status-ping';
import { isSupportedRequestUriScheme, unsupportedOptionTags } from '../sip/uas-checks';
import type { SourceTrust } from './source-trust';
import { TopologyDiscovery } from './topology-discovery';

export interface OptionsHandlerDeps {
  membership: MembershipRegistry;
  trust: SourceTrust;
  /** Present when JAMBONES_SERVER_CONTROL is on; otherwise X-Jambonz-Discover is an ordinary header. */
  discovery?: TopologyDiscovery;
  /** Set-size gauges, fed from the check-in's own reply (no extra Redis call). */
  metrics?: Pick<OptionsMetrics, 'clusterMembers'>;
  /** Every final answer goes through it (sent, counted, logged). */
  answers: AnswerLedger;
}

/**
 * Out-of-dialog OPTIONS. A Request-URI that is not sip, sips or tel gets 416, a Require naming any option-tag
 * 420 with Unsupported (an OPTIONS responder supports none). Keep-alives and health pings (carriers, clients, peers) get a plain 200. Status
 * pings from feature servers and RTP servers on the trusted network update the cluster's membership and
 * are answered 200 with `X-Members: <size of the set>`, or 503 when Redis fails. With server control on,
 * a discovery request from a trusted source gets the cluster's topology instead.
 */
export function createOptionsHandler(deps: OptionsHandlerDeps): SipHandler {
  return async (req, res, ctx) => {
    // RFC 3261 §8.2.2: a Request-URI scheme we never serve, or an extension we do not support, is refused
    // before anything else (RFC 4475 §3.3.2, §3.3.3, §3.3.5).
    if (!isSupportedRequestUriScheme(req.uri)) {
      deps.answers.answer('OPTIONS', res, ctx, { status: 416 });
      return;
    }
    const source = pingSource(req);
    const unsupported = unsupportedOptionTags(source.header('Require'));
    if (unsupported.length > 0) {
      deps.answers.answer('OPTIONS', res, ctx, { status: 420, headers: { Unsupported: unsupported.join(', ') } });
      return;
    }
    if (deps.discovery && await answeredDiscovery(deps.discovery, deps.answers, source, res, ctx)) return;
    const ping = parseStatusPing(source);
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

/** Answers a discovery request (200 with the topology as JSON, 503 when Redis fails); false when it is none. */
async function answeredDiscovery(discovery: TopologyDiscovery, answers: AnswerLedger, source: ReturnType<typeof pingSource>,
  res: SrfResponse, ctx: RequestContext): Promise<boolean> {
  if (!TopologyDiscovery.isRequest(source.header)) return false;
  const logger = ctx.logger;
  if (!discovery.trust.isTrusted(source.address)) {
    discovery.trust.noteUntrusted(source.address, logger);
    return false;
  }
  try {
    const topology = await discovery.discover(logger);
    logger.info({ source: source.address, topology }, 'answered a topology discovery request');
    answers.answer('OPTIONS', res, ctx, { status: 200, body: JSON.stringify(topology), headers: { 'Content-Type': 'application/json' } });
  } catch (err) {
    logger.error({ err: (err as Error).message, source: source.address }, 'could not read the cluster topology');
    answers.answer('OPTIONS', res, ctx, { ...answers.failure(err, ctx), status: 503 });
  }
  return true;
}

function pingSource(req: SrfRequest): { address: string; port: number; header(name: string): string | undefined } {
  const meta = req as unknown as { source_address: string; source_port: number | string };
  return { address: meta.source_address, port: Number(meta.source_port), header: headerLookup(req) };
}
