import pino, { Logger } from 'pino';
import type { LogLevel } from '../config/config';

export type { Logger };

/** Keys whose values are never logged, at any depth (compared case-insensitively). */
const SECRET_KEYS = new Set([
  'password', 'secret', 'authorization', 'proxy-authorization', 'webhook_secret', 'webhooksecret',
  'register_password', 'encryptionsecret', 'encryption_secret', 'jwt_secret', 'auth',
]);
const MAX_DEPTH = 5;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Returns `value` with every secret-named field replaced by "[redacted]". Objects without secrets are
 * returned as they are, so the common log line costs one walk and no copy. (pino's path-based redaction
 * needs a wildcard path per depth and name, and cost more than the rest of a REGISTER's logging.)
 */
export function censorSecrets<T>(value: T, depth = 0): T {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const censored = censorSecrets(item, depth + 1);
      if (censored !== item) (copy ??= [...value])[index] = censored;
    });
    return (copy ?? value) as T;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = value[key];
    const censored = SECRET_KEYS.has(key.toLowerCase()) && item !== undefined ? '[redacted]' : censorSecrets(item, depth + 1);
    if (censored !== item) (copy ??= { ...value })[key] = censored;
  }
  return (copy ?? value) as T;
}

export interface LoggerHandle {
  logger: Logger;
  /** Writes out anything buffered; call before exiting. */
  flush(): void;
}

/**
 * JSON lines on stdout, written in batches every 100 ms (or per 64 KB) instead of one write(2) per line,
 * which under load costs more than the work being logged.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): LoggerHandle {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'sip-sidecar' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { log: (object) => censorSecrets(object) },
  };
  if (destination) return { logger: pino(options, destination), flush: () => undefined };
  const stdout = pino.destination({ dest: 1, sync: false });
  // The batch is written BATCH_INTERVAL_MS after its first line: a timer only while lines wait, so an idle
  // process is not woken ten times a second for nothing.
  let timer: NodeJS.Timeout | undefined;
  const batcher = new LineBatcher((text) => stdout.write(text), BATCH_BYTES, () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      batcher.flush();
    }, BATCH_INTERVAL_MS).unref();
  });
  return {
    logger: pino(options, batcher),
    flush: () => {
      clearTimeout(timer);
      timer = undefined;
      batcher.flush();
      try {
        stdout.flushSync();
      } catch {
        // not ready yet (nothing written): nothing to flush
      }
    },
  };
}

const BATCH_INTERVAL_MS = 100;
const BATCH_BYTES = 64 * 1024;

/**
 * Collects log lines and passes them on joined, once per batch. sonic-boom's own buffering (its
 * minLength) measures the chunk it is filling with Buffer.byteLength on every line, which copies the
 * chunk each time; under a burst of log lines those copies were most of the service's allocations, and
 * as they outlived young-generation collections they grew the old generation: regbot registering 5,000
 * trunks at once peaked near 220 MB RSS.
 */
export class LineBatcher {
  private lines: string[] = [];
  private length = 0;

  /** `onFirstLine`: called when a line arrives in an empty batch (to schedule its flush). */
  constructor(private readonly out: (text: string) => void, private readonly maxLength: number,
    private readonly onFirstLine: () => void = () => undefined) {}

  write(line: string): boolean {
    if (this.lines.length === 0) this.onFirstLine();
    this.lines.push(line);
    this.length += line.length;
    if (this.length >= this.maxLength) this.flush();
    return true;
  }

  flush(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.join('');
    this.lines = [];
    this.length = 0;
    this.out(text);
  }
}
