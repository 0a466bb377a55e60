/**
 * The operator HTTP API (/api/...) and page (/), on the ops server's port when HTTP_API_TOKEN is set.
 * Every /api request must carry `Authorization: Bearer <token>`; the page itself holds no data and loads
 * without it. Input errors are 4xx JSON, a dependency that fails is a 503: the API never answers 500 for
 * something the caller sent.
 */
import type http from 'node:http';
import type { FsCommands } from '../cli/fs-commands';
import type { Logger } from '../ops/logger';
import type { AuthGuardStore } from '../store/auth-guard-store';
import type { RegisterStatsStore } from '../store/register-stats-store';
import { ApiError, sendApiJson } from './api-reply';
import { bearerTokenMatches } from './bearer-token';
import type { ClusterView } from './cluster-view';
import { isPageAsset, servePageAsset } from './operator-page';
import type { RegistrationsView } from './registrations-view';
import { aorParam, ipParam, limitParam, realmParam, userPrefixParam } from './request-input';

export interface OperatorApiDeps {
  token: string;
  registrations: RegistrationsView;
  cluster: ClusterView;
  guard: AuthGuardStore;
  fs: FsCommands;
  stats: RegisterStatsStore;
  logger: Logger;
}

/** Handles the request and resolves true when it is the API's or the page's; false leaves it to the ops server. */
export type OpsRequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;

type Method = 'GET' | 'POST' | 'DELETE';
type Handler = (params: string[], query: URLSearchParams) => Promise<unknown>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<Method, Handler>>;
}

/** Bans listed at most; `total` says how many there are. */
const MAX_BANS_LISTED = 1000;
/** The charts' hour. */
const CHART_MINUTES = 60;

export function createOperatorApi(deps: OperatorApiDeps): OpsRequestHandler {
  const routes = buildRoutes(deps);
  return async (req, res) => {
    const url = parseUrl(req.url);
    if (!url) return false;
    if (isPageAsset(url.pathname)) {
      await servePageAsset(req, res, url.pathname);
      return true;
    }
    if (url.pathname !== '/api' && !url.pathname.startsWith('/api/')) return false;
    try {
      sendApiJson(res, 200, await answer(req, url, routes, deps));
    } catch (err) {
      if (err instanceof ApiError) {
        sendApiJson(res, err.status, { error: err.message }, err.headers);
      } else {
        deps.logger.warn({ err: (err as Error).message, path: url.pathname }, 'operator API request failed');
        sendApiJson(res, 503, { error: 'unavailable: Redis or MySQL did not answer' });
      }
    }
    return true;
  };
}

function parseUrl(raw: string | undefined): URL | undefined {
  try {
    return new URL(raw ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

async function answer(req: http.IncomingMessage, url: URL, routes: Route[], deps: OperatorApiDeps): Promise<unknown> {
  if (!bearerTokenMatches(req.headers.authorization, deps.token)) {
    deps.logger.debug({ path: url.pathname, remote: req.socket.remoteAddress }, 'operator API: missing or wrong token');
    throw new ApiError(401, 'a valid bearer token is required', { 'WWW-Authenticate': 'Bearer realm="sip-sidecar"' });
  }
  for (const route of routes) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    const handler = route.methods[req.method as Method];
    if (!handler) throw new ApiError(405, 'method not allowed', { Allow: Object.keys(route.methods).join(', ') });
    return handler(match.slice(1), url.searchParams);
  }
  throw new ApiError(404, 'no such API endpoint');
}

function buildRoutes(deps: OperatorApiDeps): Route[] {
  const { registrations, cluster, guard, fs, stats, logger } = deps;
  return [
    { pattern: /^\/api\/registrations$/, methods: {
      GET: (_params, query) => {
        const realm = realmParam(query.get('realm'));
        const q = userPrefixParam(query.get('q'));
        return registrations.list({ realm, q, limit: limitParam(query.get('limit')), cursor: query.get('cursor') });
      },
    } },
    { pattern: /^\/api\/realms$/, methods: { GET: () => registrations.realms() } },
    { pattern: /^\/api\/registrations\/([^/]+)$/, methods: { GET: ([aor]) => registrations.detail(aorParam(aor)) } },
    { pattern: /^\/api\/carriers$/, methods: { GET: () => cluster.carriers() } },
    { pattern: /^\/api\/cluster$/, methods: { GET: () => cluster.cluster() } },
    { pattern: /^\/api\/stats$/, methods: { GET: async () => ({ minutes: await stats.recent(CHART_MINUTES) }) } },
    { pattern: /^\/api\/bans$/, methods: { GET: async () => bansReply(await guard.listBans(MAX_BANS_LISTED)) } },
    { pattern: /^\/api\/bans\/([^/]+)$/, methods: {
      DELETE: async ([raw]) => {
        const ip = ipParam(raw);
        if (!(await guard.unban(ip))) throw new ApiError(404, 'this address is not banned');
        logger.info({ ip }, 'operator API: ban lifted');
        return { ip, unbanned: true };
      },
    } },
    { pattern: /^\/api\/feature-servers\/([^/]+)\/drain$/, methods: {
      POST: ([raw]) => drain(fs, ipParam(raw), true, logger),
      DELETE: ([raw]) => drain(fs, ipParam(raw), false, logger),
    } },
  ];
}

/** As `fs drain` / `fs undrain` of the CLI. */
async function drain(fs: FsCommands, ip: string, on: boolean, logger: Logger): Promise<object> {
  const reply = on ? await fs.drain(ip) : await fs.undrain(ip);
  if (!reply.success) throw new ApiError(400, String(reply.error));
  logger.info({ server: ip }, on ? 'operator API: feature server drained' : 'operator API: feature server undrained');
  return { server: ip, drained: reply.drained };
}

function bansReply(list: Awaited<ReturnType<AuthGuardStore['listBans']>>): object {
  return {
    total: list.total,
    bans: list.bans.map((ban) => ({
      ip: ban.ip,
      remainingSeconds: Math.ceil(ban.remainingMs / 1000),
      why: ban.why,
      aor: ban.aor ?? null,
      failures: ban.failures ?? null,
      bannedAt: ban.at === undefined ? null : new Date(ban.at).toISOString(),
    })),
  };
}
