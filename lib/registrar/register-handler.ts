import type { SipHandler, SrfRequest, SrfResponse, RequestContext } from '../drachtio/sip-router';
import { safeSend } from '../drachtio/sip-router';
import type { Account } from '../db/accounts';
import type { RegistrationStore, RegistrationRecord } from '../store/registration-store';
import { parseAuthorization, DigestCredentials } from '../sip/digest';
import { rewriteFirstExpires } from '../sip/contact';
import type { Logger } from '../ops/logger';
import type { RegistrarMetrics } from '../ops/metrics';
import type { AccountDirectory } from './account-directory';
import type { DeviceLimitCheck } from './device-limit-check';
import type { Authenticator } from './authenticator';
import { parseRegister } from './register-request';
import type { RegisterRequest } from './register-request.types';
import { Grant, grantedExpires } from './grant';
import { advertisedExpires } from './nat';
import type { DigestGate } from './digest-gate';
import type { AbuseGuard } from './abuse-guard';
import { decideExpires, ExpiryPolicy } from './expiry-policy';

export interface SbcIdentity {
  sbcAddress?: string;
  privateSbcAddress?: string;
}

export interface RegistrarDeps {
  hosting: boolean;
  natExpires: number;
  accounts: AccountDirectory;
  store: RegistrationStore;
  authenticator: Authenticator;
  deviceLimits: DeviceLimitCheck;
  digest: DigestGate;
  abuse: AbuseGuard;
  requireUsernameMatch: boolean;
  expiryPolicy: ExpiryPolicy;
  sbcIdentity: () => SbcIdentity;
  now?: () => number;
  /** Counters and latencies of each outcome (lib/ops/metrics). */
  metrics?: RegistrarMetrics;
}

interface Answer {
  status: number;
  /** A reason phrase other than the default one (jambonz's `503 Max Devices Registered`). */
  reason?: string;
  headers?: Record<string, string>;
  /** Granted expires told to the device, for the outcome log line. */
  expires?: number;
  /** Answered by the refresh fast path (jambonz's "cached" REGISTER metric). */
  fastPath?: boolean;
}

/**
 * Inbound REGISTER, in the order jambonz checks things: request sanity, the refresh fast path, the
 * account, hosted-mode limits, the digest challenge, authentication, then the binding. Each step
 * either answers or hands over to the next; every answer is logged once with its outcome.
 */
export function createRegisterHandler(deps: RegistrarDeps): SipHandler {
  const now = deps.now ?? Date.now;

  return async (req: SrfRequest, res: SrfResponse, ctx: RequestContext) => {
    const parsed = parseRegister(req);
    if (!parsed.ok) {
      send(res, ctx, parsed.reason ? reject(parsed.status, parsed.reason) : { status: parsed.status }, undefined, deps.metrics);
      return;
    }
    const request = parsed.request;
    const answer = await decide(request, req, ctx.logger);
    send(res, ctx, answer, request, deps.metrics);
  };

  async function decide(request: RegisterRequest, req: SrfRequest, logger: Logger): Promise<Answer> {
    const wait = deps.abuse.rateLimit(request.sourceAddress);
    if (wait > 0) return { status: 503, headers: { 'Retry-After': String(wait), 'X-Reason': 'Too many requests' } };
    const expiry = decideExpires(request.expires, deps.expiryPolicy);
    if (expiry.kind === 'too-brief') return { status: 423, headers: { 'Min-Expires': String(expiry.minExpires) } };
    const cap = expiry.expires;
    const [banned, fast] = await Promise.all([
      deps.abuse.isBanned(request.sourceAddress),
      request.type === 'register' ? tryFastRefresh(request, cap, logger) : undefined,
    ]);
    if (banned) return reject(403, 'Too many failed authentications');
    if (fast) return fast;

    let account: Account | undefined;
    try {
      account = await deps.accounts.findBySipRealm(request.realm);
    } catch (err) {
      logger.error({ err: (err as Error).message, realm: request.realm }, 'account lookup failed');
      return { status: 503, headers: { 'Retry-After': '30' } };
    }
    if (account && !account.isActive) return reject(403, 'Account has been deactivated');
    if (!account) return deps.hosting ? { status: 403 } : reject(403, 'Unknown or invalid realm');
    if (deps.hosting && request.type === 'register') {
      const limit = await deps.deviceLimits.check(account, request.aor, request.realm);
      if (!limit.allowed) return { status: 503, reason: 'Max Devices Registered' };
    }
    if (!request.authorization) return challenge(request, false);
    const credentials = parseAuthorization(request.authorization);
    if (!credentials.ok) return reject(400, 'Malformed Authorization header');
    const gate = await deps.digest.check(credentials.value, request.realm);
    if (!gate.pass) {
      logger.info({ why: gate.why }, 'digest refused before authentication; challenging again');
      return challenge(request, gate.stale);
    }
    return authenticate(account, request, credentials.value, req, cap, logger);
  }

  async function authenticate(account: Account, request: RegisterRequest, credentials: DigestCredentials,
    req: SrfRequest, cap: number, logger: Logger): Promise<Answer> {
    if (deps.requireUsernameMatch && credentials.username !== request.aor.slice(0, request.aor.lastIndexOf('@'))) {
      await noteFailure(request, logger);
      return reject(403, 'Username does not match the address of record');
    }
    const decision = await deps.authenticator.authenticate(account, request, credentials, req.headers, logger);
    if (decision.kind === 'refused') {
      if (decision.banSeconds) countHookBan(deps.metrics);
      if (decision.banSeconds) await deps.abuse.ban(request.sourceAddress, decision.banSeconds);
      else await noteFailure(request, logger);
      return { status: 403, headers: { ...decision.headers, 'X-Reason': decision.reason } };
    }
    if (decision.kind === 'failed') {
      const headers: Record<string, string> = {};
      if (decision.reason) headers['X-Reason'] = decision.reason;
      if (decision.retryAfter) headers['Retry-After'] = String(decision.retryAfter);
      return { status: decision.status, headers };
    }
    return request.type === 'unregister' ? unregister(request) : register(request, decision.grant, cap);
  }

  async function noteFailure(request: RegisterRequest, logger: Logger): Promise<void> {
    deps.metrics?.authFailed();
    if (await deps.abuse.recordFailure(request.sourceAddress, request.aor)) {
      deps.metrics?.banned();
      logger.warn({ source: request.sourceAddress, aor: request.aor }, 'source banned after repeated authentication failures');
    }
  }

  /**
   * A device refreshing from the same address and Call-ID, well before its binding expires, was
   * authenticated moments ago: answer from the stored binding and extend it, without a challenge.
   */
  async function tryFastRefresh(request: RegisterRequest, cap: number, logger: Logger): Promise<Answer | undefined> {
    let record: RegistrationRecord | undefined;
    try {
      record = await deps.store.get(request.aor);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'registration lookup failed; authenticating fully');
      return undefined;
    }
    if (!record || !isSameFlow(record, request)) return undefined;
    if (record.expiryTime - now() <= deps.natExpires * 1000) return undefined;
    const account = await deps.accounts.findBySipRealm(request.realm).catch(() => undefined);
    if (!account?.isActive) return undefined;
    // The lifetime granted at the last authentication stands; re-applying storm jitter on every
    // refresh would ratchet it down.
    const granted = Math.min(record.grantedExpires ?? cap, request.expires, deps.expiryPolicy.maxExpires);
    await deps.store.save(request.aor, request.realm, { ...record, expiryTime: now() + granted * 1000 }, granted);
    return { ...ok(request, advertisedExpires(request, granted, deps.natExpires)), fastPath: true };
  }

  function isSameFlow(record: RegistrationRecord, request: RegisterRequest): boolean {
    return record.proxy === proxyOf(request)
      && record.callId === request.callId
      && record.contact === request.contactUri;
  }

  /** `cap`: the requested lifetime after the registrar's bounds and storm jitter. */
  async function register(request: RegisterRequest, grant: Grant, cap: number): Promise<Answer> {
    const granted = grantedExpires(grant, cap);
    const record = buildRecord(request, grant, granted);
    await deps.store.save(request.aor, request.realm, record, granted);
    return ok(request, advertisedExpires(request, granted, deps.natExpires));
  }

  async function unregister(request: RegisterRequest): Promise<Answer> {
    await deps.store.remove(request.aor, request.realm);
    return { status: 200, headers: { Contact: request.contactHeader, Expires: '0' }, expires: 0 };
  }

  function buildRecord(request: RegisterRequest, grant: Grant, granted: number): RegistrationRecord {
    const { sbcAddress, privateSbcAddress } = deps.sbcIdentity();
    return dropUndefined({
      contact: request.contactUri,
      sbcAddress,
      privateSbcAddress,
      protocol: request.transport,
      proxy: proxyOf(request),
      callHook: grant.callHook,
      callStatusHook: grant.callStatusHook,
      allow_direct_app_calling: grant.allowDirectAppCalling,
      allow_direct_queue_calling: grant.allowDirectQueueCalling,
      allow_direct_user_calling: grant.allowDirectUserCalling,
      expiryTime: now() + granted * 1000,
      callId: request.callId,
      receivedOn: request.receivedOn,
      grantedExpires: granted,
    });
  }

  function challenge(request: RegisterRequest, stale: boolean): Answer {
    return { status: 401, headers: { 'WWW-Authenticate': deps.digest.challenge(request.realm, stale) } };
  }
}

function ok(request: RegisterRequest, expires: number): Answer {
  return {
    status: 200,
    headers: { Contact: rewriteFirstExpires(request.contactHeader, expires), Expires: String(expires) },
    expires,
  };
}

function reject(status: number, xReason: string): Answer {
  return { status, headers: { 'X-Reason': xReason } };
}

function proxyOf(request: RegisterRequest): string {
  const host = request.sourceAddress.includes(':') ? `[${request.sourceAddress}]` : request.sourceAddress;
  return `sip:${host}:${request.sourcePort}`;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function send(res: SrfResponse, ctx: RequestContext, answer: Answer, request: RegisterRequest | undefined,
  metrics?: RegistrarMetrics): void {
  const opts = { headers: answer.headers ?? {} };
  if (answer.reason) {
    safeSendWithReason(res, answer.status, answer.reason, opts, ctx.logger);
  } else {
    safeSend(res, answer.status, ctx.logger, opts);
  }
  const latencyMs = Date.now() - ctx.receivedAt;
  metrics?.registerAnswered(answer.status, latencyMs, answer.fastPath === true);
  ctx.logger.info({
    aor: request?.aor,
    source: request ? `${request.sourceAddress}:${request.sourcePort}` : undefined,
    transport: request?.transport,
    status: answer.status,
    expires: answer.expires,
    latencyMs,
  }, 'register outcome');
}

/** A ban the registration hook asked for: an authentication failure that bans at once. */
function countHookBan(metrics: RegistrarMetrics | undefined): void {
  metrics?.authFailed();
  metrics?.banned();
}

function safeSendWithReason(res: SrfResponse, status: number, reason: string, opts: object, logger: Logger): void {
  try {
    res.send(status, reason, opts);
  } catch (err) {
    logger.error({ err, status }, 'could not send SIP response');
  }
}
