import http from 'node:http';
import https from 'node:https';
import type { RegistrationHook } from '../db/accounts';
import { signHookBody, GET_HOOK_SIGNED_PAYLOAD } from './signature';
import type { DigestCredentials } from '../sip/digest';

/**
 * What jambonz sends a registration hook: where the REGISTER came from, and its digest fields exactly as
 * parsed from the Authorization header.
 */
export interface HookAuthRequest extends DigestCredentials {
  source_address: string;
  source_port: number;
  method: string;
  headers?: Record<string, unknown>;
  /** The expiry asked for; absent for a query (a REGISTER without Contact), which asks for none. */
  expires?: number;
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
/** A hook reply larger than this is refused: a registration hook answers with a small JSON object. */
const MAX_REPLY_BYTES = 64 * 1024;

interface HttpReply {
  status: number;
  body: string;
}

/**
 * Calls registration hooks as jambonz does (JSON POST or query-string GET, Basic auth, a
 * Jambonz-Signature over the body) over keep-alive connections, and classifies the outcome without
 * throwing so the registrar can map each case to one SIP answer. Plain node:http: on the REGISTER hot
 * path a general-purpose HTTP client cost more CPU than the rest of the request.
 */
export class RegistrationHookClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly now: () => number;

  constructor(private readonly options: HookClientOptions) {
    this.now = options.now ?? Date.now;
  }

  async authenticate(hook: RegistrationHook, webhookSecret: string | undefined, request: HookAuthRequest): Promise<HookOutcome> {
    const started = this.now();
    const elapsed = () => this.now() - started;
    const isGet = hook.method === 'GET';
    const payload: HookAuthRequest = isGet ? withoutHeaders(request) : request;
    const body = isGet ? undefined : JSON.stringify(payload);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    if (webhookSecret) {
      const signed = body ?? GET_HOOK_SIGNED_PAYLOAD;
      headers['Jambonz-Signature'] = signHookBody(signed, webhookSecret, Math.floor(this.now() / 1000));
    }
    if (this.options.userAgent) headers['User-Agent'] = this.options.userAgent;
    if (hook.username && hook.password) {
      headers.Authorization = `Basic ${Buffer.from(`${hook.username}:${hook.password}`).toString('base64')}`;
    }
    try {
      const reply = await this.send(isGet ? withQuery(hook.url, payload) : hook.url, hook.method, headers, body);
      if (reply.status !== 200) return { kind: 'http-status', status: reply.status, latencyMs: elapsed() };
      return parseReply(reply.body, elapsed());
    } catch (err) {
      return { kind: 'unreachable', reason: (err as Error).message, latencyMs: elapsed() };
    }
  }

  private send(target: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      const url = new URL(target);
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(url, {
        method, headers, agent: secure ? this.httpsAgent : this.httpAgent, timeout: this.options.timeoutMs,
      }, (res) => collect(res, resolve, reject));
      // `timeout` above is per socket inactivity; this bounds the whole exchange (a hook trickling bytes).
      const deadline = setTimeout(() => req.destroy(new Error('timeout')), this.options.timeoutMs);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code ?? err.message)));
      req.on('close', () => clearTimeout(deadline));
      req.end(body);
    });
  }
}

function collect(res: http.IncomingMessage, resolve: (reply: HttpReply) => void, reject: (err: Error) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_REPLY_BYTES) res.destroy(new Error('reply too large'));
    else chunks.push(chunk);
  });
  res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
  res.on('error', reject);
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

