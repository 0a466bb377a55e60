import pino, { Logger } from 'pino';
import type { LogLevel } from '../config/config';

export type { Logger };

/**
 * Field names that may carry a secret anywhere in a logged object. pino's redaction works on paths, so
 * the names are listed at the depths where our objects put them (a hook, an account, a request's headers).
 */
const SECRET_FIELDS = [
  'password', 'secret', 'authorization', 'proxy-authorization', 'webhook_secret',
  'register_password', 'encryptionSecret', 'Authorization', 'Proxy-Authorization',
];

export function redactPaths(): string[] {
  const paths: string[] = [];
  for (const field of SECRET_FIELDS) {
    const key = /^[A-Za-z_]+$/.test(field) ? field : `["${field}"]`;
    const join = (prefix: string) => (key.startsWith('[') ? `${prefix}${key}` : `${prefix}.${key}`);
    paths.push(key, join('*'), join('*.*'), join('*.*.*'));
  }
  return paths;
}

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sip-sidecar' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: '[redacted]' },
    },
    destination,
  );
}
