import type { Logger } from '../ops/logger';
import type { CliReply, JsonValue } from './protocol';

/** Keys the store holds at most, and items one `add` list holds at most: the socket is operator-only, but bounded. */
export const MAX_CONFIG_KEYS = 1000;
export const MAX_LIST_ITEMS = 1000;

/**
 * The runtime configuration of jambonz's sidecar CLI (`set`, `get`, `list`, and the socket-only `add` and `remove`):
 * free-form keys with JSON values, held in this process's memory only (not in Redis, not seen by the other
 * instances, gone at restart). As in the reference, nothing in the service reads it: a setting changes no
 * behaviour. It exists so that operators' scripts that set, read or list values keep working.
 */
export class ConfigCommands {
  private readonly values = new Map<string, JsonValue>();

  constructor(private readonly logger: Logger) {}

  /** A missing value is an empty string: the reference's client leaves `value` out when it is `""`. */
  set(key: string | undefined, value: JsonValue | undefined): CliReply {
    if (!key) return { success: false, error: 'set requires key and value' };
    const full = this.full(key);
    if (full) return full;
    const stored = value ?? '';
    this.values.set(key, stored);
    // The key only: a value may be a credential an operator stored.
    this.logger.info({ key }, 'runtime config set');
    return { success: true, key, value: stored };
  }

  /** An unset key answers without `value`, as the reference does (its client prints `key = undefined`). */
  get(key: string | undefined): CliReply {
    if (!key) return { success: false, error: 'get requires key' };
    return { success: true, key, value: this.values.get(key) };
  }

  list(): CliReply {
    return { success: true, config: Object.fromEntries(this.values) };
  }

  /** Appends `item` to the list at `key` unless it is there already; a comma-separated string counts as a list. */
  add(key: string | undefined, item: JsonValue | undefined): CliReply {
    if (!key || item === undefined) return { success: false, error: 'add requires key and item' };
    const array = this.listAt(key);
    const added = !array.includes(item);
    if (added) {
      const full = this.full(key) ?? (array.length >= MAX_LIST_ITEMS ? { success: false, error: `${key} holds ${MAX_LIST_ITEMS} items already` } : undefined);
      if (full) return full;
      array.push(item);
      this.values.set(key, array);
      this.logger.info({ key }, 'runtime config item added');
    }
    return { success: true, key, item, array, added };
  }

  remove(key: string | undefined, item: JsonValue | undefined): CliReply {
    if (!key || item === undefined) return { success: false, error: 'remove requires key and item' };
    const before = this.listAt(key);
    const array = before.filter((existing) => existing !== item);
    const removed = array.length !== before.length;
    if (removed) {
      this.values.set(key, array);
      this.logger.info({ key }, 'runtime config item removed');
    }
    return { success: true, key, item, array, removed };
  }

  /** The value at `key` as a list: a list as is, a string split at commas, anything else (or nothing) empty. */
  private listAt(key: string): JsonValue[] {
    const value = this.values.get(key);
    if (Array.isArray(value)) return [...value];
    if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    return [];
  }

  private full(key: string): CliReply | undefined {
    if (this.values.has(key) || this.values.size < MAX_CONFIG_KEYS) return undefined;
    return { success: false, error: `runtime config holds ${MAX_CONFIG_KEYS} keys already` };
  }
}
