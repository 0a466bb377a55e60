/**
 * A real HTTP server on 127.0.0.1 standing in for a customer's registration hook. It records every request
 * and answers with whatever the current test configured (status, body, headers, delay, or a dropped
 * connection). Keep-alive is on, as with a real web server, so the client's connection reuse is exercised.
 */
import crypto from 'node:crypto';
import http, { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Wakeups } from './wakeups';

export interface RecordedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  /** Query parameters; repeated names give arrays. */
  query: Record<string, string | string[]>;
  /** The request target as sent (path and query). */
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
  receivedAt: number;
}

export interface HookResponse {
  /** Default 200. */
  status?: number;
  /** An object is sent as JSON; a string is sent as is (e.g. to test a non-JSON reply). */
  body?: unknown;
  delayMs?: number;
  headers?: Record<string, string>;
  /** Destroy the connection without answering (a transport failure for the client). */
  drop?: boolean;
}

export type HookHandler = (req: RecordedRequest) => HookResponse | Promise<HookResponse>;

export interface HookServer {
  port: number;
  /** http://127.0.0.1:<port><path>; path defaults to /auth. */
  url(path?: string): string;
  requests: RecordedRequest[];
  /** Sets the reply for the following requests (a fixed reply or a function of the request). */
  respondWith(reply: HookResponse | HookHandler): void;
  /** Resolves once at least `count` requests have been recorded. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Forgets recorded requests and restores the default reply (200 {"status":"ok"}). */
  reset(): void;
  stop(): Promise<void>;
}

const DEFAULT_REPLY: HookResponse = { status: 200, body: { status: 'ok' } };

export async function startHookServer(port = 0): Promise<HookServer> {
  const requests: RecordedRequest[] = [];
  const wakeups = new Wakeups();
  const timers = new Set<NodeJS.Timeout>();
  let reply: HookResponse | HookHandler = DEFAULT_REPLY;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = record(req, Buffer.concat(chunks).toString('utf8'));
      requests.push(recorded);
      wakeups.notify();
      void answer(recorded, res);
    });
  });
  server.keepAliveTimeout = 5000;

  async function answer(recorded: RecordedRequest, res: http.ServerResponse): Promise<void> {
    let spec: HookResponse;
    try {
      spec = typeof reply === 'function' ? await reply(recorded) : reply;
    } catch (err) {
      spec = { status: 500, body: `hook handler threw: ${String(err)}` };
    }
    const send = (): void => {
      if (spec.drop) res.socket?.destroy();
      else writeReply(res, spec);
    };
    if (!spec.delayMs) return send();
    const timer = setTimeout(() => {
      timers.delete(timer);
      send();
    }, spec.delayMs);
    timers.add(timer);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;

  return {
    port: actualPort,
    url: (path = '/auth') => `http://127.0.0.1:${actualPort}${path}`,
    requests,
    respondWith: (next) => {
      reply = next;
    },
    waitForRequests: (count, timeoutMs = 5000) => wakeups.until(() => (requests.length >= count ? requests.slice() : undefined),
      timeoutMs, () => `waiting for ${count} hook request(s), got ${requests.length}`),
    reset: () => {
      requests.length = 0;
      reply = DEFAULT_REPLY;
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would otherwise hold close() open for keepAliveTimeout.
        server.closeAllConnections();
      });
    },
  };
}

function record(req: http.IncomingMessage, rawBody: string): RecordedRequest {
  const parsed = new URL(req.url ?? '/', 'http://hook.invalid');
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(parsed.searchParams.keys())) {
    const all = parsed.searchParams.getAll(key);
    query[key] = all.length === 1 ? all[0] : all;
  }
  return {
    method: req.method ?? '',
    path: parsed.pathname,
    query,
    url: req.url ?? '/',
    headers: req.headers,
    rawBody,
    json: parseJson(rawBody),
    receivedAt: Date.now(),
  };
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function writeReply(res: http.ServerResponse, spec: HookResponse): void {
  const isRaw = typeof spec.body === 'string';
  const body = spec.body === undefined ? '' : isRaw ? (spec.body as string) : JSON.stringify(spec.body);
  const headers: Record<string, string> = {
    'content-type': isRaw ? 'text/plain' : 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...spec.headers,
  };
  res.writeHead(spec.status ?? 200, headers);
  res.end(body);
}

// ---------------------------------------------------------------------------------------------------------
// Jambonz-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

export function jambonzSignature(secret: string, rawBody: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${hmacHex(secret, String(t), rawBody)}`;
}

function hmacHex(secret: string, t: string, rawBody: string): string {
  return crypto.createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex');
}

export function parseJambonzSignature(header: string): { t: string; v1: string[] } | undefined {
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') t = value;
    else if (key === 'v1') v1.push(value);
  }
  return t && /^\d+$/.test(t) && v1.length ? { t, v1 } : undefined;
}

/**
 * True when the header signs `rawBody` (exactly as received) with `secret`. For a GET hook jambonz signs the
 * string "null". With `maxAgeSec` the timestamp must also be that recent.
 */
export function verifyJambonzSignature(
  header: string | string[] | undefined,
  rawBody: string,
  secret: string,
  maxAgeSec?: number,
): boolean {
  const parsed = typeof header === 'string' ? parseJambonzSignature(header) : undefined;
  if (!parsed) return false;
  if (maxAgeSec !== undefined && Math.abs(Date.now() / 1000 - Number(parsed.t)) > maxAgeSec) return false;
  // Signed over the timestamp text exactly as sent.
  const expected = Buffer.from(hmacHex(secret, parsed.t, rawBody), 'hex');
  return parsed.v1.some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}
