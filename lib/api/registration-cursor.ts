/**
 * The opaque `cursor` of GET /api/registrations: where the previous page ended, bound to the query that
 * made it, so a cursor from another realm or search (or made up) is refused rather than read wrongly.
 */
import type { RegistrationPosition } from '../store/registration-store';
import { ApiError } from './api-reply';

export interface CursorQuery {
  realm?: string;
  q?: string;
}

interface CursorBody {
  v: 1;
  /** the query: realm and user prefix ('' for none) */
  r: string;
  q: string;
  /** the position: expiry (ms) and AoR */
  e: number;
  a: string;
}

const MAX_CURSOR_LENGTH = 2048;

export function encodeCursor(query: CursorQuery, position: RegistrationPosition): string {
  const body: CursorBody = { v: 1, r: query.realm ?? '', q: query.q ?? '', e: position.expiresAt, a: position.aor };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeCursor(raw: string | null, query: CursorQuery): RegistrationPosition | undefined {
  if (raw === null || raw === '') return undefined;
  const body = raw.length <= MAX_CURSOR_LENGTH && /^[A-Za-z0-9_-]+$/.test(raw) ? parse(raw) : undefined;
  if (!body) throw new ApiError(400, 'invalid cursor');
  if (body.r !== (query.realm ?? '') || body.q !== (query.q ?? '')) {
    throw new ApiError(400, 'cursor belongs to another query (realm or q changed): start again without a cursor');
  }
  return { expiresAt: body.e, aor: body.a };
}

function parse(raw: string): CursorBody | undefined {
  try {
    const body = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<CursorBody>;
    const valid = body.v === 1 && typeof body.r === 'string' && typeof body.q === 'string'
      && typeof body.e === 'number' && Number.isSafeInteger(body.e) && typeof body.a === 'string';
    return valid ? body as CursorBody : undefined;
  } catch {
    return undefined;
  }
}
