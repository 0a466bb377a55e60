/**
 * The jambonz encrypted-secret format (jambonz-schema.md §12), used for `clients.password` and a
 * few other columns: JSON `{"iv":"<32 hex>","content":"<hex>"}`, AES-256-CBC with PKCS#7 padding,
 * or AES-256-CTR when LEGACY_CRYPTO is set. The key is the first 32 characters of the base64
 * SHA-256 digest of the secret, used as 32 ASCII bytes (not base64-decoded) — odd, but it is what
 * api-server writes, so it is what we must read.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export type SecretCipherErrorCode = 'NO_SECRET' | 'MALFORMED_VALUE' | 'BAD_IV' | 'BAD_CONTENT' | 'DECRYPT_FAILED';

export class SecretCipherError extends Error {
  constructor(
    readonly code: SecretCipherErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretCipherError';
  }
}

export interface CipherOptions {
  /** AES-256-CTR instead of CBC, as api-server does when LEGACY_CRYPTO is set. */
  legacy?: boolean;
}

export interface EncryptOptions extends CipherOptions {
  /** Fixed IV for reproducible test vectors; by default every value gets a fresh random IV. */
  iv?: Buffer;
}

const IV_BYTES = 16;
const BLOCK_HEX_CHARS = 32;

/** ENCRYPTION_SECRET when set and non-empty, else JWT_SECRET, as the reference chooses. */
export function cipherSecretFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env.ENCRYPTION_SECRET || env.JWT_SECRET || undefined;
}

/** LEGACY_CRYPTO set to any non-empty value selects CTR mode. */
export function isLegacyCrypto(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env.LEGACY_CRYPTO);
}

export function deriveSecretKey(secret: string): Buffer {
  if (typeof secret !== 'string' || secret === '') {
    throw new SecretCipherError('NO_SECRET', 'no encryption secret (ENCRYPTION_SECRET or JWT_SECRET) configured');
  }
  const keyText = createHash('sha256').update(secret, 'utf8').digest('base64').substring(0, 32);
  return Buffer.from(keyText, 'ascii');
}

function cipherName(options: CipherOptions | undefined): 'aes-256-ctr' | 'aes-256-cbc' {
  return options?.legacy ? 'aes-256-ctr' : 'aes-256-cbc';
}

/** Produces the stored JSON text, in the writer's key order and without whitespace. */
export function encryptSecret(plain: string, secret: string, options?: EncryptOptions): string {
  const key = deriveSecretKey(secret);
  const iv = options?.iv ?? randomBytes(IV_BYTES);
  if (iv.length !== IV_BYTES) throw new SecretCipherError('BAD_IV', `IV must be ${IV_BYTES} bytes`);
  const cipher = createCipheriv(cipherName(options), key, iv);
  const content = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return JSON.stringify({ iv: iv.toString('hex'), content: content.toString('hex') });
}

/**
 * Decrypts a stored value. Every failure (not JSON, missing or non-hex fields, wrong length, bad
 * padding from a wrong key, plaintext that is not UTF-8) is a SecretCipherError with a code; the
 * registrar answers 500 for it, as the reference does for a decryption exception.
 */
export function decryptSecret(stored: string, secret: string, options?: CipherOptions): string {
  const key = deriveSecretKey(secret);
  const { iv, content } = readStoredValue(stored, options);
  const plain = runDecipher(cipherName(options), key, iv, content);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    // CTR has no padding check, so a wrong key shows up here as bytes that are not text
    throw new SecretCipherError('DECRYPT_FAILED', 'decrypted secret is not valid UTF-8 (wrong key?)');
  }
}

function readStoredValue(stored: string, options: CipherOptions | undefined): { iv: Buffer; content: Buffer } {
  const parsed = parseJsonObject(stored);
  const { iv, content } = parsed;
  if (typeof iv !== 'string' || !/^[0-9A-Fa-f]{32}$/.test(iv)) {
    throw new SecretCipherError('BAD_IV', 'stored secret has no valid 16-byte hex "iv"');
  }
  if (typeof content !== 'string' || !/^(?:[0-9A-Fa-f]{2})*$/.test(content)) {
    throw new SecretCipherError('BAD_CONTENT', 'stored secret has no valid hex "content"');
  }
  if (!options?.legacy && (content.length === 0 || content.length % BLOCK_HEX_CHARS !== 0)) {
    throw new SecretCipherError('BAD_CONTENT', 'CBC content must be a non-empty multiple of 16 bytes');
  }
  return { iv: Buffer.from(iv, 'hex'), content: Buffer.from(content, 'hex') };
}

function parseJsonObject(stored: string): Record<string, unknown> {
  if (typeof stored !== 'string') throw new SecretCipherError('MALFORMED_VALUE', 'stored secret is not a string');
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    throw new SecretCipherError('MALFORMED_VALUE', 'stored secret is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretCipherError('MALFORMED_VALUE', 'stored secret is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function runDecipher(name: string, key: Buffer, iv: Buffer, content: Buffer): Buffer {
  try {
    const decipher = createDecipheriv(name, key, iv);
    return Buffer.concat([decipher.update(content), decipher.final()]);
  } catch {
    throw new SecretCipherError('DECRYPT_FAILED', 'could not decrypt stored secret (wrong key or corrupt value)');
  }
}
