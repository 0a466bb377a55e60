import type { RegisterRequest } from './register-request.types';

/**
 * A UDP device whose Contact does not name the address its packets come from sits behind a NAT: its
 * pinhole closes within minutes, so it is told to refresh often while its binding keeps the granted
 * lifetime. Connection-oriented transports keep their flow open and are never shortened.
 */
export function isBehindNat(request: RegisterRequest): boolean {
  if (request.transport !== 'udp') return false;
  if (request.contactHost === undefined) return false;
  const contactPort = request.contactPort ?? 5060;
  return stripBrackets(request.contactHost) !== request.sourceAddress || contactPort !== request.sourcePort;
}

export function advertisedExpires(request: RegisterRequest, grantedExpires: number, natExpires: number): number {
  return isBehindNat(request) ? Math.min(grantedExpires, natExpires) : grantedExpires;
}

function stripBrackets(host: string): string {
  return host.replace(/^\[|\]$/g, '');
}
