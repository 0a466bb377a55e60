import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { keys } from './keys';
import type { RegistrationRecord } from './registration-store';
import { BINDING_SCRIPT, REFRESH_SCRIPT } from './binding-script';
import type { DurableWrites } from './durable-writes';
import type { AttemptPlan } from './auth-guard-store';

/**
 * Several bindings per AoR (RFC 3261 §10.3, RFC 5626), kept in the hash `bindings:<aor>`, with the
 * legacy single record `user:<aor>` and the `active-user` zsets mirroring the most recently updated
 * live binding so that sbc-outbound, feature-server and api-server keep working unchanged.
 *
 * Every apply/list/refresh is one Lua script call (see binding-script.ts): the CSeq check, the limit,
 * the hash and the mirror change together or not at all.
 */

/** One Contact of a REGISTER as the store needs it. */
export interface BindingInput {
  /** Binding identity, from bindingKeyFor(): instance id (+ reg-id) when present, else the Contact URI. */
  key: string;
  /** The Contact URI as sent. */
  contact: string;
  /** Granted seconds; 0 removes this binding. */
  expires: number;
  callId: string;
  cseq: number;
  q?: number;
  instanceId?: string;
  regId?: number;
  /** Path header values (RFC 3327), in the order received. */
  path?: string[];
  /** Packet source, 'ip:port'. */
  source: string;
  transport?: string;
  /** The REGISTER's User-Agent (shortened), for operators. */
  userAgent?: string;
  /**
   * The jambonz `user:<aor>` record to mirror while this binding is the most recently updated live
   * one. Its expiryTime is overwritten with this binding's expiry (now + expires*1000) so the record,
   * its TTL and the zset scores can never disagree.
   */
  legacy: RegistrationRecord;
}

/** What a 200 OK needs of each live binding. */
export interface BindingSummary {
  key: string;
  /** The Contact URI as sent. */
  contact: string;
  /** ms since epoch */
  expiresAt: number;
  /** Seconds left at `now`, rounded up: what a 200 OK lists as the Contact's expires. */
  remaining: number;
}

export interface StoredBinding extends Omit<BindingInput, 'legacy' | 'expires'>, BindingSummary {
  /** ms since epoch, the `now` of the apply that wrote it */
  updatedAt: number;
  legacy: RegistrationRecord;
}

/** A REGISTER that may extend its binding without authentication (see BindingStore.refresh). */
export interface RefreshRequest {
  key: string;
  /** The Contact URI as sent; must be the one stored. */
  contact: string;
  /** Any Call-ID: the binding takes it. With the stored one, `cseq` must be above the stored CSeq. */
  callId: string;
  cseq: number;
  /** Packet source 'ip:port'; must be the one stored. */
  source: string;
  /** Packet source address: a banned one is refused first (`banned-source:<ip>`, as AuthGuardStore.isBanned). */
  sourceAddress: string;
  /** A binding with no more than this left (ms) is not extended: the device re-authenticates. */
  minRemainingMs: number;
  /** Seconds to grant when the binding does not record what its last authentication granted. */
  grantIfUnknown: number;
  /** The most seconds to grant (the request's own lifetime and the registrar's maximum). */
  grantCeiling: number;
  /**
   * A request with credentials: when it is no refresh, its authentication's place among the source's failures
   * is taken in the same script (see AuthGuardStore.attemptPlan) and the result says whether it was.
   */
  reserve?: AttemptPlan;
}

export type RefreshResult =
  | { ok: true; bindings: BindingSummary[] }
  /**
   * Not the same device and flow, or too close to expiry: no binding changed. `reserved` answers `reserve`:
   * true when the place was taken, false when the source's window is full; undefined when not asked.
   */
  | { ok: false; why: string; banned?: undefined; reserved?: boolean }
  /** The source is banned: nothing was looked at or changed. */
  | { ok: false; why: 'banned'; banned: true; reserved?: undefined };

export interface BindingChange {
  /** Contacts to add, refresh (expires > 0) or remove (expires 0), first Contact of the REGISTER first. */
  upserts: BindingInput[];
  /** `Contact: *` with Expires 0: removes every binding. Exclusive with upserts (RFC 3261 §10.2.2). */
  removeAll?: { callId: string; cseq: number };
}

export type ApplyResult<B extends BindingSummary = StoredBinding> =
  /** Live bindings after the change, most recently updated first; `evicted` lists keys dropped for the limit. */
  | { ok: true; bindings: B[]; evicted: string[] }
  /** Same Call-ID and a CSeq not above the stored one (RFC 3261 §10.3 steps 6-7): nothing changed. */
  | { ok: false; reason: 'out-of-order'; key: string }
  /** The change would exceed the limit and cannot be made to fit: nothing changed. */
  | { ok: false; reason: 'too-many'; limit: number };

/**
 * 'evict-oldest': drop the least recently updated bindings not touched by this change.
 * 'reject': refuse a change that adds a new key beyond the limit (refreshes always pass).
 */
export type OverflowPolicy = 'evict-oldest' | 'reject';

export interface BindingStoreOptions {
  maxBindings: number;
  overflow: OverflowPolicy;
  /**
   * REGISTRAR_WAIT_REPLICAS: the changes a REGISTER is answered on (applyForAnswer, refresh) go over its
   * connection and are confirmed by enough replicas before they resolve.
   */
  durable?: DurableWrites;
}

/** CSeq is a 32-bit unsigned integer (RFC 3261 §8.1.1.5). */
const MAX_CSEQ = 2 ** 32 - 1;

export class BindingStore {
  private readonly script = new LuaScript(BINDING_SCRIPT);
  private readonly refreshScript = new LuaScript(REFRESH_SCRIPT);

  constructor(private readonly redis: Redis, private readonly opts: BindingStoreOptions) {
    if (!Number.isInteger(opts.maxBindings) || opts.maxBindings < 1) {
      throw new RangeError(`maxBindings must be a positive integer, got ${opts.maxBindings}`);
    }
  }

  /** Applies one REGISTER's change to the AoR's bindings atomically; see ApplyResult. */
  async apply(aor: string, realm: string, change: BindingChange, now = Date.now()): Promise<ApplyResult> {
    const reply = await this.runApply(aor, realm, change, now, 'full');
    return toResult(reply, this.opts.maxBindings, (raw) => raw.map((value) => parseStored(value, now)));
  }

  /**
   * apply() answering with summaries only: what the REGISTER handler needs, at a fraction of the cost.
   * With durable writes on, a change resolves only once enough replicas hold it (see DurableWrites).
   */
  async applyForAnswer(aor: string, realm: string, change: BindingChange, now = Date.now()): Promise<ApplyResult<BindingSummary>> {
    const durable = this.opts.durable;
    const reply = await this.runApply(aor, realm, change, now, 'summary', durable?.connection);
    const result = toResult(reply, this.opts.maxBindings, (raw) => parseSummaries(raw, now));
    if (result.ok) await durable?.confirm();
    return result;
  }

  /**
   * The refresh fast path in one round trip: extends the binding `request.key` by what its last full
   * registration granted (capped by `grantCeiling`) when the request comes from the binding's source with
   * its Contact, whatever the Call-ID (the binding takes the request's Call-ID and CSeq), and answers with
   * the AoR's live bindings; otherwise changes nothing. See REFRESH_SCRIPT.
   */
  async refresh(aor: string, realm: string, request: RefreshRequest, now = Date.now()): Promise<RefreshResult> {
    assertCseq(request.cseq);
    const durable = this.opts.durable;
    const reserve = request.reserve;
    const scriptKeyList = [...scriptKeys(aor, realm), keys.bannedSource(request.sourceAddress)];
    if (reserve) scriptKeyList.push(reserve.key);
    const reply = await this.refreshScript.run(durable?.connection ?? this.redis, scriptKeyList, [
      ...this.commonArgv(aor, now, 'summary'),
      request.key,
      request.callId,
      String(request.cseq),
      request.source,
      request.contact,
      String(request.minRemainingMs),
      String(request.grantIfUnknown),
      String(request.grantCeiling),
      ...(reserve ? [String(reserve.windowMs), String(reserve.threshold), reserve.member] : []),
    ]);
    if (!Array.isArray(reply)) throw new Error('unexpected refresh script reply');
    const [status, , bindings] = reply as unknown[];
    if (status === 'banned') return { ok: false, why: 'banned', banned: true };
    if (status === 'no') {
      const reserved = reply[2] === 'reserved' ? true : reply[2] === 'full' ? false : undefined;
      return { ok: false, why: String(reply[1]), reserved };
    }
    if (status !== 'ok' || !isStringArray(bindings)) throw new Error('unexpected refresh script reply');
    await durable?.confirm();
    return { ok: true, bindings: parseSummaries(bindings, now) };
  }

  /**
   * The AoR's live bindings, most recently updated first. Expired ones are pruned and, when that
   * changes which binding is the newest, `user:<aor>` is re-mirrored; otherwise nothing is written.
   * The realm zset is the AoR's host part, as the REGISTER handler derives it.
   */
  async list(aor: string, now = Date.now()): Promise<StoredBinding[]> {
    const result = await this.apply(aor, realmOf(aor), { upserts: [] }, now);
    // An empty change can be neither out of order nor over the limit.
    return result.ok ? result.bindings : [];
  }

  /**
   * Read only, for operator views: the AoR's live bindings, most recently updated first. Unlike list() it
   * neither prunes nor re-mirrors, so reading many AoRs writes nothing.
   */
  async peek(aor: string, now = Date.now()): Promise<StoredBinding[]> {
    const values = Object.values(await this.redis.hgetall(keys.bindings(aor)));
    const bindings = values.flatMap((raw) => {
      try {
        const binding = parseStored(raw, now);
        return binding.expiresAt > now ? [binding] : [];
      } catch {
        return [];
      }
    });
    return bindings.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /**
   * The AoR's live bindings, most recently updated first, read without writing anything: a REGISTER without
   * Contact (a query, RFC 3261 §10.2.3) must change nothing, so expired values are skipped, not pruned. An
   * AoR known only from its `user:<aor>` record (registered through the reference before the switch) is
   * listed from that record. One round trip.
   */
  async current(aor: string, now = Date.now()): Promise<BindingSummary[]> {
    const replies = await this.redis.pipeline().hgetall(keys.bindings(aor)).get(keys.user(aor)).exec();
    const [hashReply, legacyReply] = replies ?? [];
    if (hashReply?.[0] || legacyReply?.[0]) throw hashReply?.[0] ?? legacyReply?.[0];
    const hash = (hashReply?.[1] ?? {}) as Record<string, string>;
    const live = Object.values(hash).map((raw) => readSummary(raw, now)).filter((b): b is SummaryWithSeq => b !== undefined);
    if (live.length === 0 && Object.keys(hash).length === 0) return legacySummary(legacyReply?.[1], now);
    live.sort((a, b) => b.seq - a.seq || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return live.map(({ seq: _seq, ...summary }) => summary);
  }

  /**
   * `user:<aor>` expires with the newest binding, possibly before an older one of the same AoR. This
   * finds mirrors whose expiry has passed (their zset score) and re-mirrors each AoR from its hash, so
   * the record comes back pointing at the binding still alive. Run it before the zset pruner, which
   * removes exactly those members. Returns how many AoRs it looked at.
   */
  async remirrorLapsed(now = Date.now(), batch = 200): Promise<number> {
    const members = await this.redis.zrangebyscore(keys.activeUsers, '-inf', now, 'LIMIT', 0, batch);
    const prefix = keys.user('');
    const aors = members.filter((m) => m.startsWith(prefix)).map((m) => m.slice(prefix.length));
    await Promise.all(aors.map((aor) => this.list(aor, now)));
    return aors.length;
  }

  private runApply(aor: string, realm: string, change: BindingChange, now: number, form: ReplyForm,
    connection = this.redis): Promise<unknown> {
    validateChange(change);
    const removeAll = change.removeAll;
    return this.script.run(connection, scriptKeys(aor, realm), [
      ...this.commonArgv(aor, now, form),
      removeAll ? '1' : '0',
      removeAll?.callId ?? '',
      String(removeAll?.cseq ?? 0),
      String(change.upserts.length),
      ...change.upserts.flatMap((input) => upsertArgv(input, now)),
    ]);
  }

  private commonArgv(aor: string, now: number, form: ReplyForm): string[] {
    return [String(now), String(this.opts.maxBindings), this.opts.overflow, keys.user(aor), form];
  }
}

type ReplyForm = 'full' | 'summary';

function scriptKeys(aor: string, realm: string): string[] {
  return [keys.bindings(aor), keys.user(aor), keys.activeUsers, keys.activeUsersOfRealm(realm)];
}

/** Loads the script by SHA and falls back to sending it whole when the server has not seen it. */
class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, scriptKeys: string[], argv: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, scriptKeys.length, ...scriptKeys, ...argv);
    } catch (err) {
      // After a restart or a sentinel failover the script cache is empty; EVAL also re-caches it.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, scriptKeys.length, ...scriptKeys, ...argv);
    }
  }
}

function realmOf(aor: string): string {
  return aor.slice(aor.lastIndexOf('@') + 1);
}

/** Misuse is a programming error in the caller, so it throws instead of being refused like a REGISTER. */
function validateChange(change: BindingChange): void {
  if (change.removeAll) {
    if (change.upserts.length > 0) throw new TypeError('removeAll cannot be combined with upserts');
    assertCseq(change.removeAll.cseq);
  }
  for (const input of change.upserts) {
    if (!input.key) throw new TypeError('binding key is empty');
    if (!Number.isInteger(input.expires) || input.expires < 0) {
      throw new RangeError(`expires must be a non-negative integer, got ${input.expires}`);
    }
    assertCseq(input.cseq);
  }
}

function assertCseq(cseq: number): void {
  if (!Number.isInteger(cseq) || cseq < 0 || cseq > MAX_CSEQ) throw new RangeError(`invalid CSeq ${cseq}`);
}

/** The six script arguments of one upsert; the value JSON starts with `{"key"` for the script's splice. */
function upsertArgv(input: BindingInput, now: number): string[] {
  const expiresAt = input.expires > 0 ? now + input.expires * 1000 : 0;
  const { legacy, expires: _expires, key, ...rest } = input;
  const value = JSON.stringify({
    key,
    ...rest,
    expiresAt,
    updatedAt: now,
    legacy: JSON.stringify({ ...legacy, expiryTime: expiresAt }),
  });
  return [key, input.callId, String(input.cseq), String(expiresAt), input.contact, value];
}

function toResult<B extends BindingSummary>(reply: unknown, limit: number,
  parse: (bindings: string[]) => B[]): ApplyResult<B> {
  if (!Array.isArray(reply)) throw new Error('unexpected binding script reply');
  const [status, first, second] = reply as unknown[];
  if (status === 'out-of-order') return { ok: false, reason: 'out-of-order', key: String(first) };
  if (status === 'too-many') return { ok: false, reason: 'too-many', limit };
  if (status !== 'ok' || !isStringArray(first) || !isStringArray(second)) {
    throw new Error('unexpected binding script reply');
  }
  return { ok: true, evicted: first, bindings: parse(second) };
}

/** The script's 'summary' reply: flat triples key, Contact URI, expiresAt. */
function parseSummaries(flat: string[], now: number): BindingSummary[] {
  if (flat.length % 3 !== 0) throw new Error('malformed binding summary');
  const bindings: BindingSummary[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    const expiresAt = Number(flat[i + 2]);
    bindings.push({ key: flat[i], contact: flat[i + 1], expiresAt, remaining: remainingSeconds(expiresAt, now) });
  }
  return bindings;
}

function remainingSeconds(expiresAt: number, now: number): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 1000));
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

interface SummaryWithSeq extends BindingSummary {
  seq: number;
}

/** A live binding's summary from its stored value; undefined when expired or unreadable (the scripts prune those). */
function readSummary(raw: string, now: number): SummaryWithSeq | undefined {
  let value: Partial<StoredValue>;
  try {
    value = JSON.parse(raw) as Partial<StoredValue>;
  } catch {
    return undefined;
  }
  const { key, contact, expiresAt, seq } = value;
  if (typeof key !== 'string' || typeof contact !== 'string' || typeof expiresAt !== 'number' || expiresAt <= now) return undefined;
  return { key, contact, expiresAt, remaining: remainingSeconds(expiresAt, now), seq: typeof seq === 'number' ? seq : 0 };
}

/** The one binding a reference-written `user:<aor>` record stands for, if it is live. */
function legacySummary(text: unknown, now: number): BindingSummary[] {
  if (typeof text !== 'string') return [];
  let record: Partial<RegistrationRecord>;
  try {
    record = JSON.parse(text) as Partial<RegistrationRecord>;
  } catch {
    return [];
  }
  const { contact, expiryTime } = record;
  if (typeof contact !== 'string' || typeof expiryTime !== 'number' || expiryTime <= now) return [];
  return [{ key: contact, contact, expiresAt: expiryTime, remaining: remainingSeconds(expiryTime, now) }];
}

/** A hash value as written by upsertArgv plus the script's `seq`, which stays internal. */
interface StoredValue extends Omit<StoredBinding, 'remaining' | 'legacy'> {
  seq?: number;
  legacy: string;
}

function parseStored(raw: string, now: number): StoredBinding {
  const value = JSON.parse(raw) as StoredValue;
  if (typeof value.key !== 'string' || typeof value.expiresAt !== 'number' || typeof value.legacy !== 'string') {
    throw new Error('malformed stored binding');
  }
  const { seq: _seq, legacy, ...binding } = value;
  return {
    ...binding,
    remaining: remainingSeconds(value.expiresAt, now),
    legacy: JSON.parse(legacy) as RegistrationRecord,
  };
}
