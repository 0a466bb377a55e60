/**
 * The operations HTTP server: /health (the process is alive), /ready (drachtio connected, MySQL and
 * Redis answering), /metrics (Prometheus) and /regbot (this instance's carrier registrations). Plain
 * node:http: a few GET routes do not need a framework.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger';

/** A dependency /ready checks: resolves when it answers, rejects (or hangs) when it does not. */
export type ReadinessCheck = () => Promise<void>;

export interface OpsServerOptions {
  port: number;
  host?: string;
  checks: Record<string, ReadinessCheck>;
  /** Each check gets this long before it counts as down: a load balancer probe must not hang. */
  checkTimeoutMs?: number;
  metrics: { render(): Promise<string>; contentType: string };
  /** GET /regbot: this instance's carrier registrations (no credentials in it); 404 without it. */
  regbot?: () => object;
  /** Asked first (the operator API and page): resolves true when it answered the request. */
  operator?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
  logger: Logger;
}

export interface OpsServer {
  /** The bound port (the kernel's choice when `port` is 0). */
  readonly port: number;
  close(): Promise<void>;
}

type CheckResult = { name: string; ok: true } | { name: string; ok: false; reason: string };

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    void route(req, res, options).catch((err: Error) => {
      options.logger.error({ err: err.message, url: req.url }, 'ops http request failed');
      if (!res.headersSent) sendJson(res, 500, { status: 'error' });
    });
  });
  // Health checks come every few seconds from the same prober; idle keep-alive sockets must not hold close().
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port }, 'ops http server listening (/health, /ready, /metrics)');
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function route(req: http.IncomingMessage, res: http.ServerResponse, options: OpsServerOptions): Promise<void> {
  if (options.operator && await options.operator(req, res)) return;
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendJson(res, 405, { status: 'method not allowed' });
    return;
  }
  switch (path) {
    case '/health':
      sendJson(res, 200, { status: 'ok' });
      return;
    case '/ready':
      await ready(res, options);
      return;
    case '/metrics':
      res.writeHead(200, { 'Content-Type': options.metrics.contentType });
      res.end(await options.metrics.render());
      return;
    case '/regbot':
      if (options.regbot) sendJson(res, 200, options.regbot());
      else sendJson(res, 404, { status: 'not found' });
      return;
    default:
      sendJson(res, 404, { status: 'not found' });
  }
}

async function ready(res: http.ServerResponse, options: OpsServerOptions): Promise<void> {
  const timeoutMs = options.checkTimeoutMs ?? 1500;
  const results = await Promise.all(
    Object.entries(options.checks).map(([name, check]) => runCheck(name, check, timeoutMs)),
  );
  const down = results.filter((result): result is Extract<CheckResult, { ok: false }> => !result.ok);
  const checks = Object.fromEntries(results.map((result) => [result.name, result.ok ? 'ok' : result.reason]));
  if (down.length === 0) {
    sendJson(res, 200, { status: 'ready', checks });
  } else {
    sendJson(res, 503, { status: 'not ready', notReady: down.map((result) => result.name), checks });
  }
}

async function runCheck(name: string, check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return { name, ok: true };
  } catch (err) {
    return { name, ok: false, reason: describe(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A short reason for the probe's JSON: the error code (ECONNREFUSED, ETIMEDOUT...) when there is one.
 * Full driver messages can carry user names and hosts, which an unauthenticated endpoint should not show.
 */
function describe(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[A-Z_0-9]+$/.test(code)) return code;
  const message = err instanceof Error ? err.message : '';
  return message === 'timeout' || message === 'disconnected' ? message : 'unavailable';
}

function sendJson(res: http.ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export interface ReadinessDeps {
  drachtio: { readonly connected: boolean };
  db: { ping(): Promise<void> };
  redis: { readonly status: string; ping(): Promise<unknown> };
}

/** What /ready needs: drachtio connected, one MySQL round trip, one Redis round trip. */
export function readinessChecks(deps: ReadinessDeps): Record<string, ReadinessCheck> {
  return {
    drachtio: async () => {
      if (!deps.drachtio.connected) throw new Error('disconnected');
    },
    mysql: () => deps.db.ping(),
    redis: async () => {
      // While ioredis reconnects a PING would sit in its offline queue until the timeout; say so at once.
      if (deps.redis.status !== 'ready') throw new Error('disconnected');
      await deps.redis.ping();
    },
  };
}
