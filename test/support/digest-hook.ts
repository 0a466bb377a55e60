/**
 * A registration hook that checks the digest as a customer's real one does: it rebuilds the device's
 * Authorization from the fields the service posts and verifies it against the user's password. Third-party
 * clients compute their digests themselves, so a hook that said "ok" to anything would prove nothing.
 */
import type { HookHandler, RecordedRequest } from './hook-server';
import { parseAuthorization, verifyResponse } from '../../lib/sip/digest';

const QUOTED = ['username', 'realm', 'nonce', 'uri', 'response', 'cnonce', 'opaque'];
const TOKENS = ['algorithm', 'qop', 'nc'];

/** True when the hook request carries a digest response that `password` produces. */
export function hookDigestMatches(req: RecordedRequest, password: string): boolean {
  const body = (req.json ?? req.query) as Record<string, string | undefined>;
  const params = [
    ...QUOTED.filter((k) => body[k] !== undefined).map((k) => `${k}="${body[k] ?? ''}"`),
    ...TOKENS.filter((k) => body[k] !== undefined).map((k) => `${k}=${body[k] ?? ''}`),
  ];
  const credentials = parseAuthorization(`Digest ${params.join(', ')}`);
  return credentials.ok && verifyResponse(credentials.value, { password, method: String(body.method ?? 'REGISTER') });
}

/** `{"status":"ok"}` for a user of `passwords` whose digest is right, `{"status":"fail"}` otherwise. */
export function passwordCheckingHook(passwords: Record<string, string>): HookHandler {
  return (req) => {
    const username = String(((req.json ?? req.query) as Record<string, unknown>).username ?? '');
    const password = passwords[username];
    return { body: { status: password !== undefined && hookDigestMatches(req, password) ? 'ok' : 'fail' } };
  };
}
