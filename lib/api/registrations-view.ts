/**
 * GET /api/registrations and /api/registrations/<aor>: live registrations read from Redis (the `active-user`
 * zsets for the order, `bindings:<aor>` for the devices, `user:<aor>` for registrations another sidecar
 * wrote without bindings). Nothing here writes.
 */
import type { BindingStore, StoredBinding } from '../store/binding-store';
import type { RegistrationPosition, RegistrationRecord, RegistrationStore } from '../store/registration-store';
import { ApiError } from './api-reply';
import { hookForDisplay } from './hook-display';
import { decodeCursor, encodeCursor } from './registration-cursor';

export interface RegistrationListQuery {
  realm?: string;
  q?: string;
  limit: number;
  cursor: string | null;
}

export interface RegistrationSummary {
  aor: string;
  /** live bindings (devices) of the AoR */
  bindings: number;
  /** the most recently refreshed binding's Contact, source ip:port, transport and User-Agent */
  contact: string;
  source?: string;
  transport?: string;
  userAgent?: string;
  expiresAt: string;
  expiresIn: number;
}

/** Realms listed at most by GET /api/realms. */
const MAX_REALMS = 1000;

export class RegistrationsView {
  constructor(private readonly registrations: RegistrationStore, private readonly bindings: BindingStore,
    private readonly accountRealms: (max: number) => Promise<string[]>) {}

  /** Every account's SIP realm (MySQL) with its live registrations (Redis), and the cluster's total. */
  async realms(now = Date.now()): Promise<object> {
    const realms = await this.accountRealms(MAX_REALMS);
    const [counts, total] = await Promise.all([this.registrations.countRealms(realms, now), this.registrations.countAll(now)]);
    return { total, realms: realms.map((realm, i) => ({ realm, registrations: counts[i] })) };
  }

  async list(query: RegistrationListQuery, now = Date.now()): Promise<object> {
    const after = decodeCursor(query.cursor, query);
    const page = await this.registrations.page({ realm: query.realm, userPrefix: query.q, after, limit: query.limit }, now);
    const found = await Promise.all(page.entries.map((entry) => this.summary(entry, now)));
    const registrations = found.filter((row): row is RegistrationSummary => row !== undefined);
    return {
      realm: query.realm ?? null,
      q: query.q ?? null,
      limit: query.limit,
      registrations,
      nextCursor: page.next ? encodeCursor(query, page.next) : null,
    };
  }

  async detail(aor: string, now = Date.now()): Promise<object> {
    const [bindings, record] = await Promise.all([this.bindings.peek(aor, now), this.registrations.get(aor)]);
    const newest = bindings[0]?.legacy ?? (record && record.expiryTime > now ? record : undefined);
    if (!newest) throw new ApiError(404, 'no live registration for this address of record');
    return {
      aor,
      bindings: bindings.length > 0 ? bindings.map((binding) => bindingView(binding, now)) : [legacyBindingView(newest, now)],
      grant: {
        callHook: hookForDisplay(newest.callHook),
        callStatusHook: hookForDisplay(newest.callStatusHook),
        allowDirectAppCalling: newest.allow_direct_app_calling === true,
        allowDirectQueueCalling: newest.allow_direct_queue_calling === true,
        allowDirectUserCalling: newest.allow_direct_user_calling === true,
      },
      sbcAddress: newest.sbcAddress ?? null,
    };
  }

  private async summary(entry: RegistrationPosition, now: number): Promise<RegistrationSummary | undefined> {
    const bindings = await this.bindings.peek(entry.aor, now);
    const newest = bindings[0];
    if (newest) {
      const expiresAt = Math.max(...bindings.map((binding) => binding.expiresAt));
      return { aor: entry.aor, bindings: bindings.length, contact: newest.contact, source: newest.source,
        transport: newest.transport, userAgent: newest.userAgent, ...expiry(expiresAt, now) };
    }
    // Written by a sidecar that keeps no bindings hash (jambonz's): the one record is the registration.
    const record = await this.registrations.get(entry.aor);
    if (!record || record.expiryTime <= now) return undefined;
    return { aor: entry.aor, bindings: 1, contact: record.contact, source: sourceOfProxy(record.proxy),
      transport: record.protocol, ...expiry(record.expiryTime, now) };
  }
}

function bindingView(binding: StoredBinding, now: number): object {
  return {
    contact: binding.contact,
    instanceId: binding.instanceId ?? null,
    regId: binding.regId ?? null,
    q: binding.q ?? null,
    source: binding.source,
    transport: binding.transport ?? null,
    path: binding.path ?? [],
    userAgent: binding.userAgent ?? null,
    callId: binding.callId,
    cseq: binding.cseq,
    updatedAt: new Date(binding.updatedAt).toISOString(),
    ...expiry(binding.expiresAt, now),
  };
}

function legacyBindingView(record: RegistrationRecord, now: number): object {
  return {
    contact: record.contact, instanceId: null, regId: null, q: null, source: sourceOfProxy(record.proxy) ?? null,
    transport: record.protocol ?? null, path: [], userAgent: null, callId: record.callId ?? null, cseq: null, updatedAt: null,
    ...expiry(record.expiryTime, now),
  };
}

function expiry(expiresAt: number, now: number): { expiresAt: string; expiresIn: number } {
  return { expiresAt: new Date(expiresAt).toISOString(), expiresIn: Math.max(0, Math.ceil((expiresAt - now) / 1000)) };
}

/** `sip:203.0.113.5:5060` → `203.0.113.5:5060`. */
function sourceOfProxy(proxy: string | undefined): string | undefined {
  return proxy?.replace(/^sips?:/i, '') || undefined;
}
