/** What a successful authentication allows: the fields stored with the binding. */
export interface Grant {
  /** Seconds granted by the hook; undefined or 0 means "what the device asked for". */
  expires?: number;
  callHook?: unknown;
  callStatusHook?: unknown;
  allowDirectAppCalling: boolean;
  allowDirectQueueCalling: boolean;
  allowDirectUserCalling: boolean;
}

export type AuthDecision =
  | { kind: 'granted'; grant: Grant }
  /**
   * The device's credentials were refused: 403 with an X-Reason (and any headers the hook added);
   * `banSeconds` when the hook asked for the source to be blacklisted for a while.
   */
  | { kind: 'refused'; reason: string; headers: Record<string, string>; banSeconds?: number }
  /**
   * Authentication could not be completed: answer `status` (hook status passthrough, 500, 503);
   * `cause`: the outcome line's short word for it.
   */
  | { kind: 'failed'; status: number; reason?: string; retryAfter?: number; cause?: string };

/** The granted lifetime: the hook's value when it gave one, never more than the device asked for. */
export function grantedExpires(grant: Grant, requested: number): number {
  if (grant.expires && grant.expires > 0) return Math.min(grant.expires, requested);
  return requested;
}

export function grantFromHookReply(reply: Record<string, unknown>): Grant {
  const expires = Number(reply.expires);
  return {
    expires: Number.isFinite(expires) && expires > 0 ? Math.floor(expires) : undefined,
    callHook: reply.call_hook ?? undefined,
    callStatusHook: reply.call_status_hook ?? undefined,
    allowDirectAppCalling: isTruthy(reply.allow_direct_app_calling),
    allowDirectQueueCalling: isTruthy(reply.allow_direct_queue_calling),
    allowDirectUserCalling: isTruthy(reply.allow_direct_user_calling),
  };
}

/** Hooks written in other languages send 1 or "true" as often as true; "false" and "0" mean false. */
function isTruthy(value: unknown): boolean {
  if (typeof value === 'string') return !/^(|0|false|no)$/i.test(value.trim());
  return Boolean(value);
}
