/**
 * A call hook as the API may show it: where it points and with which method. The stored grant can carry
 * the hook's user name and password (jambonz's `{url, method, username, password}`) and a URL may hold
 * credentials in its user-info or query: none of that leaves the service.
 */
export interface HookForDisplay {
  url: string;
  method?: string;
}

export function hookForDisplay(hook: unknown): HookForDisplay | null {
  if (typeof hook === 'string') return withoutSecrets(hook);
  if (!hook || typeof hook !== 'object') return null;
  const { url, method } = hook as { url?: unknown; method?: unknown };
  if (typeof url !== 'string') return null;
  const shown = withoutSecrets(url);
  if (shown && typeof method === 'string' && /^[A-Za-z]{1,10}$/.test(method)) shown.method = method.toUpperCase();
  return shown;
}

/** Where a relative hook URL is resolved, only to take it apart; never shown. */
const RELATIVE_BASE = 'http://relative.invalid';

/**
 * Scheme, host and path only; an application-relative path ("/hooks/call") keeps its path. Everything goes
 * through the URL parser: a scheme-relative "//user:pass@host/..." (or "/\\user:pass@host", which parsers read
 * the same way) is a host with user-info, not a path to show as it is.
 */
function withoutSecrets(url: string): HookForDisplay | null {
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(url);
  if (!absolute && !url.startsWith('/')) return null;
  try {
    const parsed = new URL(url, RELATIVE_BASE);
    if (!absolute && parsed.origin === RELATIVE_BASE) return { url: parsed.pathname };
    return { url: `${absolute ? parsed.protocol : ''}//${parsed.host}${parsed.pathname}` };
  } catch {
    return null;
  }
}
