import type { SipProtocol } from '../sip/hostports';

/** A REGISTER that passed the reference's pre-checks, reduced to what the registrar decides on. */
export interface RegisterRequest {
  /** `user@host` of the To URI: the key of the binding. */
  aor: string;
  /** Host of the To URI: the account lookup key and the digest realm. */
  realm: string;
  /** Contact header text exactly as received, echoed in the 200. Empty for a query. */
  contactHeader: string;
  /** First Contact URI exactly as sent (stored as `contact`). `*` for `Contact: *`, empty for a query. */
  contactUri: string;
  contactHost?: string;
  contactPort?: number;
  /**
   * The expiry the device asked for (first Contact's expires param, else the Expires header), or the
   * registrar's default when it asked for none; 0 for a query, which asks for none.
   */
  expires: number;
  /** `query`: no Contact header, the device asks for its bindings (RFC 3261 §10.2.3). */
  type: 'register' | 'unregister' | 'query';
  transport?: SipProtocol;
  sourceAddress: string;
  sourcePort: number;
  receivedOn?: string;
  callId: string;
  cseq: number;
  /** Every Contact of the request (empty for `Contact: *` and for a query). */
  contacts: RequestContact[];
  /** The Expires header, for contacts without their own expires parameter. */
  expiresHeader?: number;
  /** Path header values (RFC 3327) when the device sent them and supports path. */
  path?: string[];
  authorization?: string;
}

export interface RequestContact {
  /** The binding's identity in its AoR (bindingKeyFor), worked out once at parse time. */
  key: string;
  uri: string;
  host?: string;
  port?: number;
  expires?: number;
  q?: number;
  instanceId?: string;
  regId?: number;
}

export type ParsedRegister =
  | { ok: true; request: RegisterRequest }
  | { ok: false; status: number; reason?: string };
