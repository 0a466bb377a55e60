import http from 'node:http';
import https from 'node:https';
import axios, { AxiosInstance, AxiosError } from 'axios';
import type { RegistrationHook } from '../db/accounts';
import { signHookBody, GET_HOOK_SIGNED_PAYLOAD } from './signature';

/** What jambonz sends a registration hook: the digest fields of the REGISTER and where it came from. */
export interface HookAuthRequest {
  source_address: string;
  source_port: number;
  method: string;
  headers?: Record<string, unknown>;
  expires: number;
  scheme: 'digest';
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  algorithm: string;
  response: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
}

export type HookOutcome =
  | { kind: 'reply'; reply: Record<string, unknown>; latencyMs: number }
  | { kind: 'http-status'; status: number; latencyMs: number }
  | { kind: 'invalid-body'; reason: string; latencyMs: number }
  | { kind: 'unreachable'; reason: string; latencyMs: number };

export interface HookClientOptions {
  timeoutMs: number;
  userAgent?: string;
  now?: () => number;
}

/**
 * Calls registration hooks as jambonz does (JSON POST or query-string GET, Basic auth, a
 * Jambonz-Signature over the body) over keep-alive connections, and classifies the outcome without
 * throwing so the registrar can map each case to one SIP answer.
 */
export class RegistrationHookClient {
  private readonly http: AxiosInstance;
  private readonly now: () => number;

  constructor(private readonly options: HookClientOptions) {
    this.now = options.now ?? Date.now;
    this.http = axios.create({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
      timeout: options.timeoutMs,
      // Every status is an outcome to classify, not an exception; redirects are not followed for a POST.
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: 'text',
      transformResponse: (data: unknown) => data,
    });
  }

  async authenticate(hook: RegistrationHook, webhookSecret: string | undefined, request: HookAuthRequest): Promise<HookOutcome> {
    const started = this.now();
    const elapsed = () => this.now() - started;
    const isGet = hook.method === 'GET';
    const payload: HookAuthRequest = isGet ? withoutHeaders(request) : request;
    const body = isGet ? undefined : JSON.stringify(payload);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (webhookSecret) {
      const signed = body ?? GET_HOOK_SIGNED_PAYLOAD;
      headers['Jambonz-Signature'] = signHookBody(signed, webhookSecret, Math.floor(this.now() / 1000));
    }
    if (this.options.userAgent) headers['User-Agent'] = this.options.userAgent;
    try {
      const response = await this.http.request<string>({
        url: isGet ? withQuery(hook.url, payload) : hook.url,
        method: hook.method,
        data: body,
        headers,
        auth: hook.username && hook.password ? { username: hook.username, password: hook.password } : undefined,
      });
      if (response.status !== 200) return { kind: 'http-status', status: response.status, latencyMs: elapsed() };
      return parseReply(response.data, elapsed());
    } catch (err) {
      return { kind: 'unreachable', reason: describeNetworkError(err), latencyMs: elapsed() };
    }
  }
}

function withoutHeaders(request: HookAuthRequest): HookAuthRequest {
  const copy = { ...request };
  delete copy.headers;
  return copy;
}

function withQuery(url: string, payload: HookAuthRequest): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(payload)) {
    if (value !== undefined) params.append(key, String(value));
  }
  return `${url}${url.includes('?') ? '&' : '?'}${params.toString()}`;
}

function parseReply(text: string, latencyMs: number): HookOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'invalid-body', reason: 'hook reply is not JSON', latencyMs };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { kind: 'invalid-body', reason: 'hook reply is not a JSON object', latencyMs };
  }
  const reply = parsed as Record<string, unknown>;
  if (typeof reply.status !== 'string') return { kind: 'invalid-body', reason: 'hook reply has no status', latencyMs };
  return { kind: 'reply', reply, latencyMs };
}

function describeNetworkError(err: unknown): string {
  if (err instanceof AxiosError) {
    if (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT') return 'timeout';
    return err.code ?? err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
