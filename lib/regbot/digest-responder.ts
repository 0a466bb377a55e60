/**
 * Answers a carrier's 401/407 for one registration attempt. drachtio-srf's built-in retry echoes a qop
 * list verbatim, knows only MD5 and retries once, so we do it ourselves with lib/sip/digest: the
 * strongest algorithm offered, `auth` out of a qop list, opaque carried, stale=true answered at once
 * without counting as a failure, and a bound on the number of challenges.
 */
import {
  DigestAlgorithm, DigestChallenge, buildAuthorization, parseChallenges, randomCnonce,
} from '../sip/digest';

/** Non-stale challenges answered per attempt: one is normal, a second survives a carrier's nonce glitch. */
export const MAX_CHALLENGES = 2;
/** stale=true re-challenges answered per attempt, so a broken carrier cannot loop us forever. */
export const MAX_STALE = 3;

const STRENGTH: Record<DigestAlgorithm, number> = {
  MD5: 1, 'MD5-sess': 1, 'SHA-256': 2, 'SHA-256-sess': 2, 'SHA-512-256': 3, 'SHA-512-256-sess': 3,
};

export interface ChallengeCounters {
  challenges: number;
  stale: number;
}

export interface DigestAnswerInput {
  status: 401 | 407;
  /** Every WWW-Authenticate / Proxy-Authenticate value of the response. */
  challengeHeader: string | undefined;
  username: string;
  password: string;
  uri: string;
  counters: ChallengeCounters;
  cnonce?: string;
}

export type DigestAnswer =
  | { ok: true; header: 'Authorization' | 'Proxy-Authorization'; value: string; stale: boolean; algorithm: DigestAlgorithm }
  | { ok: false; reason: string };

/** The header to add to the retry, or why we give up. Increments `counters`. */
export function answerChallenge(input: DigestAnswerInput): DigestAnswer {
  const challengeName = input.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
  if (!input.challengeHeader) return { ok: false, reason: `${input.status} without ${challengeName}` };
  const parsed = parseChallenges(input.challengeHeader);
  if (!parsed.ok) return { ok: false, reason: `unusable ${challengeName}: ${parsed.reason}` };
  const challenge = strongest(parsed.value);
  const limit = countChallenge(input.counters, challenge.stale);
  if (limit) return { ok: false, reason: limit };
  const value = buildAuthorization({
    challenge,
    username: input.username,
    password: input.password,
    method: 'REGISTER',
    uri: input.uri,
    cnonce: input.cnonce ?? randomCnonce(),
  });
  const header = input.status === 401 ? 'Authorization' : 'Proxy-Authorization';
  return { ok: true, header, value, stale: challenge.stale, algorithm: challenge.algorithm };
}

/** RFC 8760 lets a server offer several algorithms; we take the strongest, the first among equals. */
export function strongest(challenges: readonly DigestChallenge[]): DigestChallenge {
  return challenges.reduce((best, next) => (STRENGTH[next.algorithm] > STRENGTH[best.algorithm] ? next : best));
}

function countChallenge(counters: ChallengeCounters, stale: boolean): string | undefined {
  // A stale challenge after our answer means only "new nonce, same credentials fine": not a failure.
  if (stale && counters.challenges > 0) {
    counters.stale++;
    return counters.stale > MAX_STALE ? 'too many stale challenges' : undefined;
  }
  counters.challenges++;
  return counters.challenges > MAX_CHALLENGES ? 'challenged again after answering: credentials refused' : undefined;
}
