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

/** Scheme, host and path only; an application-relative path ("/hooks/call") keeps its path. */
function withoutSecrets(url: string): HookForDisplay | null {
  if (url.startsWith('/')) return { url: url.split(/[?#]/)[0] };
  try {
    const parsed = new URL(url);
    return { url: `${parsed.protocol}//${parsed.host}${parsed.pathname}` };
  } catch {
    return null;
  }
}
