/**
 * The operator CLI's wire format: one JSON object per line each way over the Unix socket. Action names,
 * request fields and replies follow jambonz's sidecar CLI (`{"action":"fs-drain","server":"10.0.0.5"}` →
 * `{"success":true,"action":"drain","server":"10.0.0.5","drained":[...]}`), so its scripts keep working.
 */

export const FS_ACTIONS = ['fs-drain', 'fs-undrain', 'fs-drained', 'fs-available', 'fs-list'] as const;
/** The reference's runtime configuration store (its client sends set, get and list; add and remove are socket-only). */
export const CONFIG_ACTIONS = ['set', 'get', 'list', 'add', 'remove'] as const;
export const REGISTRATION_ACTIONS = ['registrations-list', 'registrations-show'] as const;
/** Ours (the reference has no regbot commands). */
export const REGBOT_ACTIONS = ['regbot-status'] as const;

export type CliAction = (typeof FS_ACTIONS)[number] | (typeof CONFIG_ACTIONS)[number]
  | (typeof REGISTRATION_ACTIONS)[number] | (typeof REGBOT_ACTIONS)[number];

/** A JSON value as it came over the socket (runtime configuration values may be of any JSON type). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface CliRequest {
  action: CliAction;
  server?: string;
  /** Runtime configuration: the key, the value of `set`, the item of `add` and `remove`. */
  key?: string;
  value?: JsonValue;
  item?: JsonValue;
  realm?: string;
  aor?: string;
  limit?: number;
}

export interface CliReply {
  success: boolean;
  error?: string;
  [field: string]: unknown;
}

/** Longest request line accepted; a client sending more is told so and disconnected. */
export const MAX_REQUEST_BYTES = 64 * 1024;

const ACTIONS: readonly string[] = [...FS_ACTIONS, ...CONFIG_ACTIONS, ...REGISTRATION_ACTIONS, ...REGBOT_ACTIONS];

/** A request line, or the reply to send back when it is not one (the reference's error strings). */
export function parseRequest(line: string): { request: CliRequest } | { reply: CliReply } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { reply: { success: false, error: 'Invalid command' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { reply: { success: false, error: 'Invalid command' } };
  }
  const fields = value as Record<string, unknown>;
  if (typeof fields.action !== 'string' || !ACTIONS.includes(fields.action)) {
    return { reply: { success: false, error: 'Unknown action' } };
  }
  return {
    request: {
      action: fields.action as CliAction,
      server: optionalString(fields.server),
      key: optionalString(fields.key),
      // JSON.parse yields only JSON values, so these casts hold.
      value: fields.value as JsonValue | undefined,
      item: fields.item as JsonValue | undefined,
      realm: optionalString(fields.realm),
      aor: optionalString(fields.aor),
      limit: typeof fields.limit === 'number' && Number.isInteger(fields.limit) && fields.limit > 0 ? fields.limit : undefined,
    },
  };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
