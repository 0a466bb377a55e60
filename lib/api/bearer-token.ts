import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an Authorization header carries `Bearer <token>`. Both sides are hashed first so the comparison
 * takes the same time whatever the length or the first differing byte of what was sent.
 */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  const sent = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
  const equal = timingSafeEqual(digest(sent ?? ''), digest(token));
  return sent !== undefined && equal;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
