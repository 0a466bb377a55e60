import type Redis from 'ioredis';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import type { Alerter } from '../ops/alerts';
import type { Logger } from '../ops/logger';
import type { RegistrarMetrics } from '../ops/metrics';
import type { SipHandler } from '../drachtio/sip-router';
import type { AnswerLedger } from '../drachtio/answer-ledger';
import type { RegistrationStore } from '../store/registration-store';
import type { BindingStore } from '../store/binding-store';
import { AuthGuardStore } from '../store/auth-guard-store';
import { RegistrationHookClient } from '../hook/registration-hook-client';
import { HookGuard } from '../hook/hook-guard';
import { NonceIssuer, nonceSecret } from '../sip/nonce';
import { AccountDirectory } from './account-directory';
import { DeviceLimitCheck } from './device-limit-check';
import { AuthTrunkRegistrar } from './auth-trunk-registrar';
import { Authenticator } from './authenticator';
import { DigestGate } from './digest-gate';
import { AbuseGuard } from './abuse-guard';
import { RateLimiter } from './rate-limiter';
import { createRegisterHandler, SbcIdentity } from './register-handler';

export interface RegistrarClients {
  db: Database;
  redis: Redis;
  store: RegistrationStore;
  bindings: BindingStore;
  alerter: Alerter;
  logger: Logger;
  sbcIdentity: () => SbcIdentity;
  metrics?: RegistrarMetrics;
  answers: AnswerLedger;
}

/** Builds the REGISTER handler and everything it depends on from the configuration. */
export function createRegistrar(config: Config, clients: RegistrarClients): SipHandler {
  const settings = config.registrar;
  const { db, redis, store, alerter, logger } = clients;
  if (!config.encryptionSecret) {
    logger.warn('neither ENCRYPTION_SECRET nor JWT_SECRET is set: accounts without a registration hook cannot authenticate');
  }
  const key = nonceSecret(settings.nonceSecret, config.encryptionSecret);
  if (!key.shared) {
    logger.warn('REGISTRAR_NONCE_SECRET is not set (nor ENCRYPTION_SECRET/JWT_SECRET): nonces are valid only on this '
      + 'process, so with several sidecars behind one drachtio-server some REGISTERs will be challenged twice');
  }
  if (settings.defaultExpires < settings.minExpires) {
    logger.warn({ defaultExpires: settings.defaultExpires, minExpires: settings.minExpires },
      'REGISTRAR_DEFAULT_EXPIRES is below REGISTRAR_MIN_EXPIRES: a REGISTER asking for no expiry gets 423 Interval Too Brief');
  }
  const guardStore = new AuthGuardStore(redis);
  const hookGuard = new HookGuard({
    maxInFlight: settings.hookMaxInFlight,
    breakerFailures: settings.hookBreakerFailures,
    breakerCooldownMs: settings.hookBreakerCooldownMs,
    alertPeriodMs: settings.hookAlertPeriodMs,
  });
  const hooks = new RegistrationHookClient({ timeoutMs: settings.hookTimeoutMs, userAgent: config.httpUserAgent });
  return createRegisterHandler({
    hosting: config.hosting,
    natExpires: settings.natExpires,
    accounts: new AccountDirectory(db, settings.accountCacheTtlMs, settings.accountCacheMax),
    bindings: clients.bindings,
    authenticator: new Authenticator(db, hooks, hookGuard, alerter, {
      encryptionSecret: config.encryptionSecret,
      legacyCrypto: config.legacyCrypto,
      hookRetryAfter: settings.hookRetryAfter,
    }, clients.metrics),
    deviceLimits: new DeviceLimitCheck(db, store, alerter),
    authTrunks: new AuthTrunkRegistrar(db, settings.accountCacheTtlMs, settings.accountCacheMax),
    digest: new DigestGate(new NonceIssuer(key.secret, settings.nonceLifetime), guardStore, settings.offerSha256),
    abuse: new AbuseGuard(guardStore, new RateLimiter(settings.rateLimitPerSec, settings.rateLimitBurst), {
      windowMs: settings.authFailureWindowSec * 1000,
      perSource: settings.authFailuresPerSource,
      perAor: settings.authFailuresPerAor,
      banMs: settings.banSeconds * 1000,
    }),
    requireUsernameMatch: settings.requireUsernameMatch,
    defaultExpires: settings.defaultExpires,
    expiryPolicy: {
      minExpires: settings.minExpires,
      maxExpires: settings.maxExpires,
      jitterPercent: settings.expiresJitterPercent,
      jitterFloor: 300,
    },
    sbcIdentity: clients.sbcIdentity,
    metrics: clients.metrics,
    answers: clients.answers,
    // With no offline queue every command fails at once while ioredis is not ready.
    redisReady: () => redis.status === 'ready',
  });
}
