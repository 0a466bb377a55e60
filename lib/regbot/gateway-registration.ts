/**
 * The registration of one gateway: REGISTER, answer challenges, learn the granted expiry, refresh before
 * it runs out, back off on failures, and un-REGISTER when asked. One From tag for its whole life, one
 * Call-ID per Contact (callIdOf), a CSeq that only grows (see nextCseq).
 */
import { randomBytes } from 'node:crypto';
import type { RegbotConfig } from '../config/config';
import type { Logger } from '../ops/logger';
import { dropExpiredHolds, holdFor, Holds, roundOrder, triesNextAddress } from './address-rotation';
import { answerChallenge, ChallengeCounters } from './digest-responder';
import type { EphemeralGateways } from './ephemeral-gateways';
import { addressKey, GatewayAddress, GatewayAddresses } from './gateway-addresses';
import { buildRegister, callIdOf, contactAddress, ContactContext, requestUriOf } from './register-request-builder';
import type { FinalResponse, RegisterSender, SendResult } from './register-sender';
import type { SendSlots } from './send-slots';
import type { StatusWriter } from './register-status';
import { aorOf, nextHopTo, RegistrationTarget, resolvesOwnAddresses } from './registration-target';
import {
  Random, failureDelayMs, forbiddenDelayMs, grantedExpires, parseRetryAfter, refreshDelayMs, requestedExpires,
} from './refresh-schedule';

export interface RegistrationDeps {
  sender: RegisterSender;
  /** Bounds the REGISTER transactions open at once across every gateway; none: no bound. */
  slots?: SendSlots;
  status: StatusWriter;
  ephemeral?: EphemeralGateways;
  /** Resolves gateway host names so a round can fail over between addresses; without it drachtio resolves. */
  addresses?: GatewayAddresses;
  contactContext: () => ContactContext;
  sbcAddress: () => string | undefined;
  config: RegbotConfig;
  userAgent: string;
  logger: Logger;
  random: Random;
  now: () => number;
  /** REGISTER_RESPONSE_REMOVE threshold reached: disable the carrier and alert. */
  onThreshold: (target: RegistrationTarget, reason: string) => Promise<void>;
  /** Every change of `state` (for the state-change log line); never called with from === to. */
  onStateChange?: (registration: GatewayRegistration, from: RegistrationState, to: RegistrationState) => void;
}

/** 423 answers followed per attempt; a carrier that keeps raising Min-Expires is broken. */
const MAX_INTERVAL_TOO_BRIEF = 2;

interface Exchange {
  result: SendResult;
  /** Where it went; undefined when drachtio chose (IP literal, outbound proxy, unresolved name). */
  address: GatewayAddress | undefined;
  firstCseq: number;
  contact: string;
  callId: string;
  expires: number;
  /** The status of a final response that ended the exchange without being `result` (a challenge we could not answer). */
  refusedStatus?: number;
}

export interface Inheritance {
  /** Consecutive REGISTER_RESPONSE_REMOVE failures (the reference carries them over too). */
  removeFailures: number;
  /** Last CSeq used (any Call-ID of the gateway). */
  cseq: number;
  lastOutcome: Outcome | undefined;
}

/** A final response ("200 OK") or why none came, and when (ms). */
export interface Outcome {
  reason: string;
  at: number;
}

export type RegistrationState = 'idle' | 'registering' | 'registered' | 'failed' | 'stopped';

export class GatewayRegistration {
  private readonly fromTag = randomBytes(6).toString('hex');
  private cseq = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private carrierMinExpires: number | undefined;
  private consecutiveFailures = 0;
  private registeredContact: string | undefined;
  /** The address that answered the last 200: refreshes go there first, where the binding lives. */
  private sticky: GatewayAddress | undefined;
  private readonly holds: Holds = new Map();
  private currentState: RegistrationState = 'idle';
  nextAttemptAt: number | undefined;
  /** The last outcome reported (for `regbot status`). */
  lastOutcome: Outcome | undefined;

  private removeFailures: number;

  constructor(readonly target: RegistrationTarget, private readonly deps: RegistrationDeps) {
    this.removeFailures = 0;
  }

  get state(): RegistrationState {
    return this.currentState;
  }

  set state(next: RegistrationState) {
    const previous = this.currentState;
    this.currentState = next;
    if (previous !== next) this.deps.onStateChange?.(this, previous, next);
  }

  /** Called before start() when this registration replaces an earlier one of the same gateway. */
  continueFrom(inherited: Inheritance): void {
    this.removeFailures = inherited.removeFailures;
    this.cseq = Math.max(this.cseq, inherited.cseq);
    this.lastOutcome = inherited.lastOutcome;
  }

  /** What a replacing registration of the same gateway carries on: the failure count, and the CSeq. */
  inheritance(): Inheritance {
    return { removeFailures: this.removeFailures, cseq: this.cseq, lastOutcome: this.lastOutcome };
  }

  /** The first REGISTER goes out after `delayMs` (regbot starts it when the pacer grants a turn). */
  start(delayMs = 0): void {
    this.schedule(delayMs);
  }

  /**
   * Stops refreshing. With `unregister`, a binding we hold is removed with Expires: 0 (not on a hand-over
   * to another instance: it registers the same Contact, and our Expires: 0 would remove its binding).
   */
  async stop(opts: { unregister: boolean }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'stopped';
    clearTimeout(this.timer);
    await this.inFlight;
    if (opts.unregister && this.registeredContact) await this.unregister(this.registeredContact);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.nextAttemptAt = this.deps.now() + delayMs;
    this.timer = setTimeout(() => {
      this.inFlight = this.attempt().catch((err: Error) => {
        this.deps.logger.error({ err: err.message, gatewaySid: this.target.gatewaySid }, 'regbot: registration attempt crashed');
        this.schedule(this.failureDelay(undefined));
      }).finally(() => { this.inFlight = undefined; });
    }, delayMs);
  }

  private async attempt(): Promise<void> {
    this.state = 'registering';
    const expires = requestedExpires(this.deps.config.defaultExpires, this.carrierMinExpires);
    const contact = contactAddress(this.target, this.deps.contactContext());
    const round = await this.roundOfAddresses();
    for (let index = 0; ; index++) {
      const exchange = await this.exchange(contact, expires, round[index]);
      if (this.stopped) return; // retired meanwhile: the outcome belongs to no one (as in the reference)
      if (exchange.result.ok && exchange.result.response.status === 200) return this.onSuccess(exchange, exchange.result.response);
      if (!this.moveOn(exchange, round[index + 1])) return this.onFailure(exchange);
    }
  }

  /**
   * The addresses of this round, in the order to try them; `[undefined]` leaves the choice to drachtio:
   * IP literals and outbound proxies as always, and a name our DNS could not resolve (drachtio may).
   */
  private async roundOfAddresses(): Promise<(GatewayAddress | undefined)[]> {
    const { addresses } = this.deps;
    if (!addresses || !resolvesOwnAddresses(this.target)) return [undefined];
    const resolved = await addresses.addressesOf(this.target);
    const now = this.deps.now();
    dropExpiredHolds(this.holds, now);
    return resolved.length > 0 ? roundOrder(resolved, this.sticky, this.holds, now) : [undefined];
  }

  /**
   * After a failed exchange: true to go on at once with `next` (408, 503, no answer, and an address left
   * in the round; not a backoff step). Otherwise the round is over and the caller backs off; when every
   * address has failed this way, the next round resolves the name again.
   */
  private moveOn(failed: Exchange, next: GatewayAddress | undefined): boolean {
    this.sticky = undefined;
    if (!failed.address) return false;
    holdFor(failed.result, failed.address, this.holds, this.deps.now());
    if (!triesNextAddress(failed.result)) return false;
    if (!next) {
      this.deps.addresses?.forget(this.target);
      return false;
    }
    this.deps.logger.warn({
      aor: aorOf(this.target), gatewaySid: this.target.gatewaySid, address: addressKey(failed.address),
      reason: outcomeOf(failed.result), next: addressKey(next),
    }, 'regbot: gateway address failed; trying the next one');
    return true;
  }

  /** One REGISTER with its digest retries and 423 retries, ending in a final response or an error. */
  private async exchange(contact: string, requested: number, address: GatewayAddress | undefined): Promise<Exchange> {
    const counters: ChallengeCounters = { challenges: 0, stale: 0 };
    let expires = requested;
    let credentials: { header: 'Authorization' | 'Proxy-Authorization'; value: string } | undefined;
    let tooBrief = 0;
    const firstCseq = this.nextCseq();
    let cseq = firstCseq;
    const callId = callIdOf(this.target.gatewaySid, contact);
    const nextHop = address ? nextHopTo(address, this.target.transport) : undefined;
    for (;;) {
      const release = await this.deps.slots?.acquire(cseq !== firstCseq);
      let result: SendResult;
      try {
        result = await this.deps.sender.send(buildRegister({
          target: this.target, contact, expires, callId, cseq, fromTag: this.fromTag,
          userAgent: this.deps.userAgent, credentials, nextHop,
        }));
      } finally {
        release?.();
      }
      const retry = result.ok ? this.retryFor(result.response, counters, expires, tooBrief) : undefined;
      if (!retry) return { result, address, firstCseq, contact, callId, expires };
      if (retry.kind === 'fail') {
        return { result: { ok: false, reason: retry.reason }, address, firstCseq, contact, callId, expires, refusedStatus: result.ok ? result.response.status : undefined };
      }
      if (retry.kind === 'auth') credentials = retry.credentials;
      else {
        tooBrief++;
        expires = retry.expires;
        if (expires > 0) this.carrierMinExpires = expires;
      }
      cseq = this.nextCseq();
    }
  }

  private retryFor(response: FinalResponse, counters: ChallengeCounters, expires: number, tooBrief: number):
    | { kind: 'auth'; credentials: { header: 'Authorization' | 'Proxy-Authorization'; value: string } }
    | { kind: 'expires'; expires: number }
    | { kind: 'fail'; reason: string }
    | undefined {
    if (response.status === 401 || response.status === 407) {
      const answer = answerChallenge({
        status: response.status,
        challengeHeader: response.header(response.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate'),
        username: this.target.username,
        password: this.target.password,
        uri: requestUriOf(this.target),
        counters,
      });
      if (!answer.ok) return counters.challenges > 1 ? undefined : { kind: 'fail', reason: `${response.status} ${answer.reason}` };
      return { kind: 'auth', credentials: { header: answer.header, value: answer.value } };
    }
    if (response.status === 423 && expires > 0 && tooBrief < MAX_INTERVAL_TOO_BRIEF) {
      const minExpires = parseRetryAfter(response.header('Min-Expires'));
      if (minExpires !== undefined && minExpires > expires) return { kind: 'expires', expires: minExpires };
    }
    return undefined;
  }

  /**
   * CSeq = max(previous + 1, unix seconds). Carriers refuse a REGISTER whose CSeq is not above the last one
   * for the Call-ID; the Call-ID is the same after a restart or a hand-over to another instance (callIdOf),
   * so the clock keeps the new sequence above the old one.
   */
  private nextCseq(): number {
    this.cseq = Math.max(this.cseq + 1, Math.floor(this.deps.now() / 1000));
    return this.cseq;
  }

  private async onSuccess(exchange: Exchange, response: FinalResponse): Promise<void> {
    const { config } = this.deps;
    const expires = grantedExpires({
      contactHeader: response.header('Contact'), expiresHeader: response.header('Expires'),
      ourContact: exchange.contact, requested: exchange.expires, minExpires: config.minExpires,
    });
    this.state = 'registered';
    this.consecutiveFailures = 0;
    this.removeFailures = 0;
    this.registeredContact = exchange.contact;
    this.sticky = exchange.address;
    const delay = refreshDelayMs(expires, config.refreshFraction, config.refreshJitter, this.deps.random);
    this.schedule(delay);
    this.deps.logger.info({
      aor: aorOf(this.target), gatewaySid: this.target.gatewaySid, expires, refreshInMs: delay,
      address: exchange.address ? addressKey(exchange.address) : undefined,
    }, 'regbot: registered');
    await this.report(exchange, `${response.status} ${response.reason}`, true, expires, delay);
  }

  private async onFailure(exchange: Exchange): Promise<void> {
    const response = exchange.result.ok ? exchange.result.response : undefined;
    const reason = outcomeOf(exchange.result);
    this.state = 'failed';
    this.consecutiveFailures++;
    this.registeredContact = undefined;
    if (response && this.deps.config.responseRemove.includes(response.status)) {
      this.removeFailures++;
      if (this.removeFailures >= this.deps.config.failureThreshold) return this.giveUp(exchange, reason);
    }
    const delay = this.failureDelay(response);
    this.schedule(delay);
    this.deps.logger.warn({ aor: aorOf(this.target), gatewaySid: this.target.gatewaySid, reason, retryInMs: delay },
      'regbot: registration failed');
    await this.report(exchange, reason, false, 0, delay);
  }

  private failureDelay(response: FinalResponse | undefined): number {
    const { config, random } = { config: this.deps.config, random: this.deps.random };
    if (response?.status === 403) return forbiddenDelayMs(config.forbiddenRetryInterval, random);
    return failureDelayMs({
      failures: Math.max(this.consecutiveFailures, 1), baseMs: config.retryBaseMs, capMs: config.failureRetryInterval * 1000,
      retryAfterSec: parseRetryAfter(response?.header('Retry-After')), random,
    });
  }

  private async giveUp(exchange: Exchange, reason: string): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    this.deps.logger.warn({ aor: aorOf(this.target), gatewaySid: this.target.gatewaySid, reason, failures: this.removeFailures },
      'regbot: failure threshold reached; disabling the carrier');
    await this.report(exchange, reason, false, 0, undefined);
    await this.deps.onThreshold(this.target, reason);
  }

  /** register_status is batched (DbStatusWriter); eph-gw-ip, which inbound calls from reg trunks need, is not held up by it. */
  private async report(exchange: Exchange, reason: string, ok: boolean, expires: number, nextInMs: number | undefined): Promise<void> {
    const now = this.deps.now();
    this.lastOutcome = { reason, at: now };
    const ephemeral = this.target.trunkType === 'reg' && this.deps.ephemeral
      ? this.deps.ephemeral.update(this.target, expires, now).catch((err: Error) =>
        this.deps.logger.warn({ err: err.message, gatewaySid: this.target.gatewaySid }, 'regbot: could not update eph-gw-ip'))
      : undefined;
    await this.deps.status.write(this.target.carrierSid, {
      ok, reason, status: exchange.result.ok ? exchange.result.response.status : exchange.refusedStatus, cseq: exchange.firstCseq, callId: exchange.callId, expires, now, nextInMs,
      sbcAddress: this.deps.sbcAddress(), sipGatewaySid: this.target.gatewaySid,
    });
    await ephemeral;
  }

  /** To the address holding the binding; no failover, since no other address has it. */
  private async unregister(contact: string): Promise<void> {
    const exchange = await this.exchange(contact, 0, this.sticky);
    const outcome = outcomeOf(exchange.result);
    this.registeredContact = undefined;
    this.deps.logger.info({ aor: aorOf(this.target), gatewaySid: this.target.gatewaySid, outcome }, 'regbot: unregistered');
  }
}

/** `503 Service Unavailable`, or why no response came. */
function outcomeOf(result: SendResult): string {
  return result.ok ? `${result.response.status} ${result.response.reason}` : result.reason;
}
