import type { SipHandler, SrfRequest, SrfResponse, RequestContext } from '../drachtio/sip-router';
import type { AnswerLedger } from '../drachtio/answer-ledger';
import { DependencyUnavailable, outageAnswer } from '../ops/outage';
import type { Account } from '../db/accounts';
import type { RegistrationRecord } from '../store/registration-store';
import { parseAuthorization, DigestCredentials } from '../sip/digest';
import type { Logger } from '../ops/logger';
import type { RegistrarMetrics } from '../ops/metrics';
import type { AccountDirectory } from './account-directory';
import type { DeviceLimitCheck } from './device-limit-check';
import type { Authenticator } from './authenticator';
import { parseRegister } from './register-request';
import type { RegisterRequest, RequestContact } from './register-request.types';
import type { BindingStore, BindingSummary, BindingInput, ApplyResult, RefreshRequest } from '../store/binding-store';
import { parseSipUri } from '../sip/uri';
import { AuthDecision, Grant, grantedExpires } from './grant';
import { advertisedExpires } from './nat';
import type { DigestGate, GateResult } from './digest-gate';
import type { AbuseGuard, AuthAttempt } from './abuse-guard';
import { decideExpires, ExpiryPolicy } from './expiry-policy';
import { AuthTrunkRegistrar, trunkAcknowledgement } from './auth-trunk-registrar';

export interface SbcIdentity {
  sbcAddress?: string;
  privateSbcAddress?: string;
}

export interface RegistrarDeps {
  hosting: boolean;
  natExpires: number;
  accounts: AccountDirectory;
  bindings: BindingStore;
  authenticator: Authenticator;
  deviceLimits: DeviceLimitCheck;
  authTrunks: AuthTrunkRegistrar;
  digest: DigestGate;
  abuse: AbuseGuard;
  requireUsernameMatch: boolean;
  /** The expiry of a REGISTER that asks for none (RFC 3261 §10.3 step 7); the expiry policy then applies. */
  defaultExpires: number;
  expiryPolicy: ExpiryPolicy;
  sbcIdentity: () => SbcIdentity;
  now?: () => number;
  /** Authentication and ban counters (lib/ops/metrics); answers are counted by `answers`. */
  metrics?: RegistrarMetrics;
  /** Every final answer goes through it: sent, counted, and logged as one `register outcome` line. */
  answers: AnswerLedger;
  /** False while Redis is known to be down: nothing can be registered, so nothing is asked of MySQL or the hook. */
  redisReady: () => boolean;
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
  /** The voip_carrier_sid of the auth trunk whose credentials the REGISTER carried. */
  authTrunk?: string;
  /** Why a 5xx: a short fixed word for the outcome line (see AnswerLedger). */
  cause?: string;
  /** The error message behind a failure, for the outcome line. */
  detail?: string;
}

const REDIS_DOWN: Answer = outageAnswer('redis');

/** What the screen found: a ban, a fast-path answer, or the authentication's place it took on the way. */
interface Screened {
  banned: boolean;
  fast?: Answer;
  attempt?: AuthAttempt;
}

/** An attempt's place held for the request until authenticate() takes it (or the request ends and gives it back). */
interface HeldAttempt {
  attempt?: AuthAttempt;
}

function takeAttempt(held: HeldAttempt): AuthAttempt | undefined {
  const attempt = held.attempt;
  held.attempt = undefined;
  return attempt;
}

/**
 * Inbound REGISTER, in the order jambonz checks things: request sanity, the refresh fast path, the
 * account, the digest challenge, authentication (an auth trunk's credentials first), hosted-mode limits,
 * then the binding. Each step either answers or hands over to the next; every answer is logged once with
 * its outcome.
 */
export function createRegisterHandler(deps: RegistrarDeps): SipHandler {
  const now = deps.now ?? Date.now;

  return async (req: SrfRequest, res: SrfResponse, ctx: RequestContext) => {
    const parsed = parseRegister(req, deps.defaultExpires);
    if (!parsed.ok) {
      send(res, ctx, parsed.reason ? reject(parsed.status, parsed.reason) : { status: parsed.status }, undefined, deps.answers);
      return;
    }
    const request = parsed.request;
    let answer: Answer;
    try {
      answer = await decide(request, req, ctx.logger);
    } catch (err) {
      // A dependency that failed mid-request (Redis dropped, MySQL gone): 503; anything else is a bug: 500.
      answer = deps.answers.failure(err, ctx);
    }
    send(res, ctx, answer, request, deps.answers);
  };

  async function decide(request: RegisterRequest, req: SrfRequest, logger: Logger): Promise<Answer> {
    const wait = deps.abuse.rateLimit(request.sourceAddress);
    if (wait > 0) return { status: 503, headers: { 'Retry-After': String(wait), 'X-Reason': 'Too many requests' }, cause: 'rate-limited' };
    if (!deps.redisReady()) return REDIS_DOWN;
    const expiry = decideExpires(request.expires, deps.expiryPolicy);
    if (expiry.kind === 'too-brief') return { status: 423, headers: { 'Min-Expires': String(expiry.minExpires) } };
    const cap = expiry.expires;
    const credentials = request.authorization ? parseAuthorization(request.authorization) : undefined;
    // The nonce-count check starts now so that its Redis call shares a round trip with the ban check
    // and the fast path; its answer is used only if the request gets that far.
    const gate = credentials?.ok ? settle(deps.digest.check(credentials.value, request.realm)) : undefined;
    const { banned, fast, attempt } = await screen(request, cap, logger, credentials?.ok === true);
    if (banned) return reject(403, 'Too many failed authentications');
    if (fast) return fast;
    // The place the screen took for the authentication is given back unless authenticate() takes it over.
    const held: HeldAttempt = { attempt };
    try {
      return await afterScreen(request, req, credentials, gate, cap, logger, held);
    } finally {
      if (held.attempt) deps.abuse.endAttempt(request.sourceAddress, held.attempt);
    }
  }

  /** The account, the challenge and the digest gate; then authentication. */
  async function afterScreen(request: RegisterRequest, req: SrfRequest, credentials: ReturnType<typeof parseAuthorization> | undefined,
    gate: Promise<{ value: GateResult } | { error: unknown }> | undefined, cap: number, logger: Logger, held: HeldAttempt): Promise<Answer> {
    let account: Account | undefined;
    try {
      account = await deps.accounts.findBySipRealm(request.realm);
    } catch (err) {
      logger.error({ err: (err as Error).message, realm: request.realm }, 'account lookup failed');
      return { ...outageAnswer('mysql'), detail: (err as Error).message };
    }
    if (account && !account.isActive) return reject(403, 'Account has been deactivated');
    if (!account) return deps.hosting ? { status: 403 } : reject(403, 'Unknown or invalid realm');
    // Redis may have gone since the screen above: a challenge or a hook call would be work for a doomed request.
    if (!deps.redisReady()) return REDIS_DOWN;
    // Credentials in a scheme we do not know are no credentials for us (RFC 4475 §3.3.7): challenge.
    if (!credentials || (!credentials.ok && credentials.otherScheme)) return challenge(request, false);
    if (!credentials.ok || !gate) return reject(400, 'Malformed Authorization header');
    const passed = await unsettle(gate);
    if (!passed.pass) {
      logger.info({ why: passed.why }, 'digest refused before authentication; challenging again');
      return challenge(request, passed.stale);
    }
    return authenticate(account, request, credentials.value, req, cap, logger, held);
  }

  async function authenticate(account: Account, request: RegisterRequest, credentials: DigestCredentials,
    req: SrfRequest, cap: number, logger: Logger, held: HeldAttempt): Promise<Answer> {
    const trunk = await asAuthTrunk(account, request, credentials, logger);
    if (trunk) return trunk;
    if (deps.requireUsernameMatch && credentials.username !== request.aor.slice(0, request.aor.lastIndexOf('@'))) {
      const taken = takeAttempt(held);
      await noteFailure(request, logger, taken?.place ? taken : undefined);
      return reject(403, 'Username does not match the address of record');
    }
    // A place among the source's failures is taken before the hook is asked (see AbuseGuard.beginAttempt),
    // usually by the screen already, in its round trip.
    const attempt = takeAttempt(held) ?? await deps.abuse.beginAttempt(request.sourceAddress);
    if (!attempt.admitted) return { status: 503, headers: { 'Retry-After': '5', 'X-Reason': 'Too many authentications in progress' }, cause: 'auth-in-progress' };
    let decision: AuthDecision;
    try {
      decision = await deps.authenticator.authenticate(account, request, credentials, req.headers, logger);
    } catch (err) {
      deps.abuse.endAttempt(request.sourceAddress, attempt);
      throw err;
    }
    if (decision.kind === 'refused' && !decision.banSeconds) {
      await noteFailure(request, logger, attempt);
      return { status: 403, headers: { ...decision.headers, 'X-Reason': decision.reason } };
    }
    deps.abuse.endAttempt(request.sourceAddress, attempt);
    if (decision.kind === 'refused') {
      countHookBan(deps.metrics);
      await deps.abuse.ban(request.sourceAddress, decision.banSeconds ?? 0);
      return { status: 403, headers: { ...decision.headers, 'X-Reason': decision.reason } };
    }
    if (decision.kind === 'failed') {
      const headers: Record<string, string> = {};
      if (decision.reason) headers['X-Reason'] = decision.reason;
      if (decision.retryAfter) headers['Retry-After'] = String(decision.retryAfter);
      return { status: decision.status, headers, cause: decision.cause };
    }
    if (request.type === 'query') return query(request);
    // Devices are counted only once authenticated (jambonz 0.9.7): an unauthenticated REGISTER learns
    // nothing about the account's limit and triggers no alert.
    if (deps.hosting && request.type === 'register') {
      const limit = await deps.deviceLimits.check(account, request.aor, request.realm);
      if (!limit.allowed) return { status: 503, reason: 'Max Devices Registered', cause: 'max-devices' };
    }
    return request.type === 'unregister' ? unregister(request, decision.grant) : register(request, decision.grant, cap);
  }

  /**
   * A REGISTER carrying the credentials of one of the account's auth trunks is acknowledged and not stored
   * (AuthTrunkRegistrar); undefined when the credentials are no trunk's. 503 when MySQL cannot say.
   */
  async function asAuthTrunk(account: Account, request: RegisterRequest, credentials: DigestCredentials,
    logger: Logger): Promise<Answer | undefined> {
    try {
      const trunk = await deps.authTrunks.match(account, credentials);
      if (!trunk) return undefined;
      logger.info({ carrier: trunk.voipCarrierSid, name: trunk.name }, 'REGISTER carried an auth trunk\'s credentials; acknowledged, not stored');
      return { ...trunkAcknowledgement(request), authTrunk: trunk.voipCarrierSid };
    } catch (err) {
      logger.error({ err: (err as Error).message, account: account.accountSid }, 'auth trunk lookup failed');
      return { ...outageAnswer('mysql'), detail: (err as Error).message };
    }
  }

  async function noteFailure(request: RegisterRequest, logger: Logger, attempt?: AuthAttempt): Promise<void> {
    deps.metrics?.authFailed();
    if (await deps.abuse.recordFailure(request.sourceAddress, request.aor, attempt)) {
      deps.metrics?.banned();
      logger.warn({ source: request.sourceAddress, aor: request.aor }, 'source banned after repeated authentication failures');
    }
  }

  /**
   * Is the source banned, and may the request take the refresh fast path? A REGISTER that may answers both
   * in one Redis call (BindingStore.refresh); any other asks only about the ban. Both fail open: with
   * Redis away the request goes on to full authentication, which then says what is wrong.
   */
  async function screen(request: RegisterRequest, cap: number, logger: Logger, withCredentials: boolean): Promise<Screened> {
    // Deciding on the fast path needs the account, and a realm not in the account cache costs a MySQL
    // query: a banned source (spraying made-up realms, say) is turned away before that query.
    const banCheckedFirst = !deps.accounts.isCached(request.realm);
    if (banCheckedFirst && await deps.abuse.isBanned(request.sourceAddress)) return { banned: true };
    const question = await fastRefreshQuestion(request, cap);
    if (!question) return { banned: banCheckedFirst ? false : await deps.abuse.isBanned(request.sourceAddress) };
    // With credentials, a request that is no refresh will be authenticated: the script takes its place too.
    const plan = withCredentials ? deps.abuse.planAttempt(request.sourceAddress) : undefined;
    try {
      const result = await deps.bindings.refresh(request.aor, request.realm, { ...question, reserve: plan }, now());
      if (!result.ok) {
        if (result.banned) return { banned: true };
        const attempt = plan && result.reserved !== undefined ? deps.abuse.attemptOf(plan, result.reserved) : undefined;
        return { banned: false, attempt };
      }
      return { banned: false, fast: { ...answerFor(request, result.bindings, new Set([question.key])), fastPath: true } };
    } catch (err) {
      // Extended but not confirmed by the replicas (REGISTRAR_WAIT_REPLICAS): authenticating again would not help.
      if (err instanceof DependencyUnavailable) throw err;
      logger.warn({ err: (err as Error).message }, 'registration lookup failed; authenticating fully');
      return { banned: false };
    }
  }

  /**
   * A device refreshing its one binding from the binding's address:port with the binding's Contact, well
   * before it expires, was authenticated moments ago: the binding may be extended without a challenge if
   * Redis agrees, whatever the Call-ID (a rebooted phone starts a new one; the reference answers it from
   * its cache too). The lifetime granted at the last authentication stands, since re-applying storm jitter
   * on every refresh would ratchet it down.
   */
  async function fastRefreshQuestion(request: RegisterRequest, cap: number): Promise<RefreshRequest | undefined> {
    const contact = request.contacts[0];
    if (request.type !== 'register' || !contact || request.contacts.length !== 1) return undefined;
    const account = await deps.accounts.findBySipRealm(request.realm).catch(() => undefined);
    if (!account?.isActive) return undefined;
    return {
      key: contact.key,
      contact: contact.uri,
      callId: request.callId,
      cseq: request.cseq,
      source: sourceOf(request),
      sourceAddress: request.sourceAddress,
      minRemainingMs: deps.natExpires * 1000,
      grantIfUnknown: cap,
      grantCeiling: Math.min(requestedFor(contact, request, deps.defaultExpires), deps.expiryPolicy.maxExpires),
    };
  }

  /** `cap`: the requested lifetime after the registrar's bounds and storm jitter. */
  async function register(request: RegisterRequest, grant: Grant, cap: number): Promise<Answer> {
    const upserts = request.contacts.map((contact) => {
      const requested = requestedFor(contact, request, deps.defaultExpires);
      const granted = requested === 0 ? 0 : grantedExpires(grant, Math.min(requested, cap));
      return bindingInput(request, contact, grant, granted);
    });
    return applied(request, await deps.bindings.applyForAnswer(request.aor, request.realm, { upserts }, now()),
      new Set(upserts.map((u) => u.key)));
  }

  async function unregister(request: RegisterRequest, grant: Grant): Promise<Answer> {
    const change = request.contacts.length === 0
      ? { upserts: [], removeAll: { callId: request.callId, cseq: request.cseq } }
      : { upserts: request.contacts.map((contact) => bindingInput(request, contact, grant, 0)) };
    const result = await deps.bindings.applyForAnswer(request.aor, request.realm, change, now());
    const answer = applied(request, result, new Set());
    if (answer.status === 200) {
      answer.headers = { ...answer.headers, Expires: '0' };
      answer.headers.Contact ??= request.contactHeader;
      answer.expires = 0;
    }
    return answer;
  }

  /**
   * A REGISTER without Contact asks which bindings its AoR has (RFC 3261 §10.2.3): a 200 lists each live
   * one with the time it has left, and nothing is written.
   */
  async function query(request: RegisterRequest): Promise<Answer> {
    const bindings = await deps.bindings.current(request.aor, now());
    const headers: Record<string, string> = {};
    if (bindings.length > 0) headers.Contact = contactList(bindings, (b) => b.remaining);
    return { status: 200, headers };
  }

  function applied(request: RegisterRequest, result: ApplyResult<BindingSummary>, ownKeys: Set<string>): Answer {
    if (result.ok) return answerFor(request, result.bindings, ownKeys);
    if (result.reason === 'out-of-order') return { ...reject(500, 'Out of order CSeq for this binding'), cause: 'out-of-order-cseq' };
    return reject(403, `Too many bindings for this address of record (limit ${result.limit})`);
  }

  /**
   * 200 OK listing every live binding of the AoR with its remaining lifetime (RFC 3261 §10.3 step 8);
   * the device's own bindings behind a NAT are told the short NAT interval.
   */
  function answerFor(request: RegisterRequest, bindings: BindingSummary[], ownKeys: Set<string>): Answer {
    const told = (b: BindingSummary) => (ownKeys.has(b.key) ? advertisedExpires(withContact(request, b), b.remaining, deps.natExpires) : b.remaining);
    const own = bindings.find((b) => ownKeys.has(b.key) && b.key === request.contacts[0]?.key);
    const expires = own ? told(own) : 0;
    const headers: Record<string, string> = { Expires: String(expires) };
    if (bindings.length > 0) headers.Contact = contactList(bindings, told);
    if (request.path && own) headers.Path = request.path.join(', ');
    return { status: 200, headers, expires };
  }

  function bindingInput(request: RegisterRequest, contact: RequestContact, grant: Grant, granted: number): BindingInput {
    return dropUndefined({
      key: contact.key,
      contact: contact.uri,
      expires: granted,
      callId: request.callId,
      cseq: request.cseq,
      q: contact.q,
      instanceId: contact.instanceId,
      regId: contact.regId,
      path: request.path,
      source: sourceOf(request),
      transport: request.transport,
      userAgent: request.userAgent,
      legacy: buildRecord(request, contact, grant, granted),
    });
  }

  function buildRecord(request: RegisterRequest, contact: RequestContact, grant: Grant, granted: number): RegistrationRecord {
    const { sbcAddress, privateSbcAddress } = deps.sbcIdentity();
    return dropUndefined({
      contact: contact.uri,
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

/**
 * A contact's requested lifetime: its own expires parameter, else the Expires header, else the registrar's
 * default (RFC 3261 §10.3 step 7, for each contact).
 */
function requestedFor(contact: RequestContact, request: RegisterRequest, defaultExpires: number): number {
  return contact.expires ?? request.expiresHeader ?? defaultExpires;
}

function sourceOf(request: RegisterRequest): string {
  return `${request.sourceAddress}:${request.sourcePort}`;
}

/** The Contact header value of a 200: each binding with the expiry it is told (RFC 3261 §10.3 step 8). */
function contactList(bindings: BindingSummary[], told: (binding: BindingSummary) => number): string {
  return bindings.map((b) => `<${b.contact}>;expires=${told(b)}`).join(', ');
}

/** The request as seen from one stored binding, for the NAT rule. */
function withContact(request: RegisterRequest, binding: BindingSummary): RegisterRequest {
  // Usually the binding is the request's own Contact, already parsed.
  if (binding.contact === request.contactUri) return request;
  const uri = parseSipUri(binding.contact);
  return { ...request, contactHost: uri.ok ? uri.value.host : undefined, contactPort: uri.ok ? uri.value.port : undefined };
}

/**
 * A promise whose failure is held until unsettle() rethrows it, so a check started early but not needed
 * (the request was answered before) does not end as an unhandled rejection.
 */
function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then((value) => ({ value }), (error: unknown) => ({ error }));
}

async function unsettle<T>(settled: Promise<{ value: T } | { error: unknown }>): Promise<T> {
  const outcome = await settled;
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

function reject(status: number, xReason: string): Answer {
  return { status, headers: { 'X-Reason': xReason } };
}

function proxyOf(request: RegisterRequest): string {
  const host = request.sourceAddress.includes(':') ? `[${request.sourceAddress}]` : request.sourceAddress;
  return `sip:${host}:${request.sourcePort}`;
}

/** Leaves out absent fields so that stored JSON carries no `null`s (a plain loop: this runs twice per REGISTER). */
function dropUndefined<T extends object>(value: T): T {
  const kept: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    if (field !== undefined) kept[name] = field;
  }
  return kept as T;
}

/** Every answer of this handler, through the ledger that sends, counts and logs it with the request's facts. */
function send(res: SrfResponse, ctx: RequestContext, answer: Answer, request: RegisterRequest | undefined,
  answers: AnswerLedger): void {
  answers.answer('REGISTER', res, ctx, answer, {
    aor: request?.aor,
    source: request ? `${request.sourceAddress}:${request.sourcePort}` : undefined,
    transport: request?.transport,
    expires: answer.expires,
    authTrunk: answer.authTrunk,
  });
}

/** A ban the registration hook asked for: an authentication failure that bans at once. */
function countHookBan(metrics: RegistrarMetrics | undefined): void {
  metrics?.authFailed();
  metrics?.banned();
}
