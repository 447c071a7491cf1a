import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random secret of `bytes` bytes (default 32), URL-safe base64 (no padding). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A random identifier of `bytes` bytes (default 16) as lower-case hex, e.g. a uuid4-like session id. */
export function randomHex(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

/** Lower-case hex SHA-256 of a UTF-8 string: how secrets (cookies, tokens, codes) are stored. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compares two strings in time independent of where they differ (length may leak). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
