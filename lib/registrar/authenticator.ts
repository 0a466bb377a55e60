import type { Account } from '../db/accounts';
import type { Database } from '../db/database';
import { findClient } from '../db/clients';
import type { RegistrationHookClient, HookOutcome } from '../hook/registration-hook-client';
import { decryptSecret } from '../crypto/secret-cipher';
import { verifyResponse, DigestCredentials } from '../sip/digest';
import { AlertType, Alerter } from '../ops/alerts';
import type { Logger } from '../ops/logger';
import type { RegistrarMetrics } from '../ops/metrics';
import type { RegisterRequest } from './register-request.types';
import { AuthDecision, grantFromHookReply } from './grant';
import { isValidSipStatus } from './sip-status';
import type { HookGuard } from '../hook/hook-guard';
import { outageAnswer } from '../ops/outage';

const INVALID_CREDENTIALS = 'Invalid credentials';

export interface AuthenticatorOptions {
  encryptionSecret?: string;
  legacyCrypto: boolean;
  /** Retry-After (seconds) sent with the 503 when the hook cannot be reached. */
  hookRetryAfter: number;
}

/**
 * Checks a REGISTER's digest credentials: through the account's registration hook when it has one,
 * otherwise against the account's `clients` rows. Every outcome is a decision, never an exception.
 */
export class Authenticator {
  constructor(
    private readonly db: Database,
    private readonly hooks: RegistrationHookClient,
    private readonly guard: HookGuard,
    private readonly alerter: Alerter,
    private readonly options: AuthenticatorOptions,
    private readonly metrics?: RegistrarMetrics,
  ) {}

  async authenticate(account: Account, request: RegisterRequest, credentials: DigestCredentials,
    headers: Record<string, unknown>, logger: Logger): Promise<AuthDecision> {
    return account.registrationHook
      ? this.viaHook(account, request, credentials, headers, logger)
      : this.viaClients(account, credentials, logger);
  }

  private async viaHook(account: Account, request: RegisterRequest, credentials: DigestCredentials,
    headers: Record<string, unknown>, logger: Logger): Promise<AuthDecision> {
    const hook = account.registrationHook!;
    const admission = this.guard.admit(hook.url);
    if (admission !== 'allowed') {
      logger.warn({ url: hook.url, admission }, 'registration hook not called (circuit open or too many calls in flight)');
      this.metrics?.hookSkipped();
      return this.unavailable();
    }
    let outcome: HookOutcome | undefined;
    try {
      outcome = await this.callHook(account, request, credentials, headers);
    } finally {
      this.guard.release(hook.url, outcome === undefined || isHookFailure(outcome));
    }
    logger.debug({ url: hook.url, outcome: outcome.kind, latencyMs: outcome.latencyMs }, 'registration hook answered');
    this.metrics?.hookCalled(outcome);
    return this.decideOnHookOutcome(account, hook.url, outcome, request, logger);
  }

  private callHook(account: Account, request: RegisterRequest, credentials: DigestCredentials,
    headers: Record<string, unknown>): Promise<HookOutcome> {
    return this.hooks.authenticate(account.registrationHook!, account.webhookSecret, {
      source_address: request.sourceAddress,
      source_port: request.sourcePort,
      method: 'REGISTER',
      headers,
      // A query asks for no expiry; 0 would read as an unregister to a hook that tracks presence.
      expires: request.type === 'query' ? undefined : request.expires,
      scheme: 'digest',
      username: credentials.username,
      realm: credentials.realm,
      nonce: credentials.nonce,
      uri: credentials.uri,
      algorithm: credentials.algorithm,
      response: credentials.response,
      qop: credentials.qop,
      nc: credentials.nc,
      cnonce: credentials.cnonce,
      opaque: credentials.opaque,
    });
  }

  /** 503 with Retry-After and an X-Reason, as for every dependency outage. */
  private unavailable(): AuthDecision {
    const answer = outageAnswer('hook', this.options.hookRetryAfter);
    return { kind: 'failed', status: 503, retryAfter: this.options.hookRetryAfter, reason: answer.headers['X-Reason'], cause: answer.cause };
  }

  /** Hook alerts go out once per period per hook and type, not once per REGISTER. */
  private alertOnce(type: string, url: string, alert: Parameters<Alerter['write']>[0]): void {
    if (this.guard.shouldAlert(`${type} ${url}`)) this.alerter.write({ ...alert, alert_type: type });
  }

  private decideOnHookOutcome(account: Account, url: string, outcome: HookOutcome, request: RegisterRequest,
    logger: Logger): AuthDecision {
    const alertTags = { account_sid: account.accountSid, service_provider_sid: account.serviceProviderSid, url };
    switch (outcome.kind) {
      case 'reply':
        return decideOnHookReply(outcome.reply, request);
      case 'http-status':
        this.alertOnce(AlertType.WEBHOOK_STATUS_FAILURE, url, { ...alertTags, status: outcome.status,
          message: `${url} returned ${outcome.status}` });
        // jambonz passes the hook's HTTP status on as the SIP status when it is one.
        return { kind: 'failed', status: isValidSipStatus(outcome.status) ? outcome.status : 500, cause: 'hook-status' };
      case 'invalid-body':
        logger.error({ url, reason: outcome.reason }, 'registration hook reply unusable');
        this.alertOnce(AlertType.WEBHOOK_STATUS_FAILURE, url, { ...alertTags,
          message: `${url} returned an invalid response: ${outcome.reason}` });
        return { kind: 'failed', status: 500, reason: 'Invalid registration hook response', cause: 'hook-invalid-response' };
      case 'unreachable':
        logger.error({ url, reason: outcome.reason }, 'registration hook unreachable');
        this.alertOnce(AlertType.WEBHOOK_CONNECTION_FAILURE, url, { ...alertTags, message: `${url} ${outcome.reason}`,
          detail: outcome.reason });
        return this.unavailable();
    }
  }

  private async viaClients(account: Account, credentials: DigestCredentials, logger: Logger): Promise<AuthDecision> {
    const client = await findClient(this.db, account.accountSid, credentials.username);
    if (!client || !client.isActive || !client.encryptedPassword) return refused(INVALID_CREDENTIALS);
    if (!this.options.encryptionSecret) {
      logger.error('clients auth needs ENCRYPTION_SECRET or JWT_SECRET to decrypt the stored password');
      return { kind: 'failed', status: 500, cause: 'no-encryption-secret' };
    }
    let password: string;
    try {
      password = decryptSecret(client.encryptedPassword, this.options.encryptionSecret, { legacy: this.options.legacyCrypto });
    } catch (err) {
      logger.error({ clientSid: client.clientSid, err: (err as Error).message }, 'cannot decrypt client password');
      return { kind: 'failed', status: 500, cause: 'undecryptable-password' };
    }
    if (!verifyResponse(credentials, { password, method: 'REGISTER' })) return refused(INVALID_CREDENTIALS);
    return {
      kind: 'granted',
      grant: {
        allowDirectAppCalling: client.allowDirectAppCalling,
        allowDirectQueueCalling: client.allowDirectQueueCalling,
        allowDirectUserCalling: client.allowDirectUserCalling,
      },
    };
  }
}

function decideOnHookReply(reply: Record<string, unknown>, request: RegisterRequest): AuthDecision {
  const status = String(reply.status).toLowerCase();
  if (status === 'ok') return { kind: 'granted', grant: grantFromHookReply(reply) };
  const reason = reply.blacklist === true
    ? `detected potential spammer from ${request.sourceAddress}:${request.sourcePort}`
    : INVALID_CREDENTIALS;
  const banSeconds = typeof reply.blacklist === 'number' && reply.blacklist > 0 ? reply.blacklist : undefined;
  return { kind: 'refused', reason, headers: safeHeaders(reply.headers), banSeconds };
}

/** What counts against the circuit breaker: the hook not answering, or answering with a server error. */
function isHookFailure(outcome: HookOutcome): boolean {
  return outcome.kind === 'unreachable' || (outcome.kind === 'http-status' && outcome.status >= 500);
}

/** Hook-supplied headers for the 403: string values only, and nothing that could inject a header. */
function safeHeaders(value: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) return headers;
  for (const [name, headerValue] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) continue;
    if (typeof headerValue !== 'string' && typeof headerValue !== 'number') continue;
    const text = String(headerValue);
    if (/[\r\n]/.test(text)) continue;
    headers[name] = text;
  }
  return headers;
}

function refused(reason: string): AuthDecision {
  return { kind: 'refused', reason, headers: {} };
}
