/**
 * What lifetime a registration gets, before the hook has its say: RFC 3261 §10.3 lets a registrar refuse
 * too-short intervals (423 with Min-Expires) and shorten long ones. Storm control takes a random slice off
 * long lifetimes so that devices which registered together (after an outage) spread their refreshes.
 */
export interface ExpiryPolicy {
  minExpires: number;
  maxExpires: number;
  jitterPercent: number;
  /** Lifetimes below this are not randomised: short ones are refreshed often anyway. */
  jitterFloor: number;
}

export type ExpiryDecision =
  | { kind: 'too-brief'; minExpires: number }
  | { kind: 'granted'; expires: number };

export function decideExpires(requested: number, policy: ExpiryPolicy, random: () => number = Math.random): ExpiryDecision {
  if (requested === 0) return { kind: 'granted', expires: 0 };
  if (requested < policy.minExpires) return { kind: 'too-brief', minExpires: policy.minExpires };
  const bounded = Math.min(requested, policy.maxExpires);
  if (policy.jitterPercent <= 0 || bounded < policy.jitterFloor) return { kind: 'granted', expires: bounded };
  const cut = Math.floor(random() * bounded * (policy.jitterPercent / 100));
  return { kind: 'granted', expires: Math.max(policy.minExpires, bounded - cut) };
}
