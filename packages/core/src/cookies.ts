/**
 * A tiny cookie parser/serializer (RFC 6265 subset), shared by the hub and the lab
 * server. We avoid `@fastify/cookie`: its `cookie@2` dependency needs Node 22.
 */

export interface CookieOptions {
  path?: string;
  httpOnly?: boolean;
  sameSite?: 'Lax' | 'Strict' | 'None';
  secure?: boolean;
  /** Lifetime in seconds; omitted = session cookie; 0 = delete. */
  maxAgeSeconds?: number;
}

const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a `Cookie` request header (string or the array Node gives for repeated
 * headers). The first occurrence of a name wins (the most specific path comes first).
 * Values that are not valid percent-encoding are kept as sent.
 */
export function parseCookies(header: string | readonly string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  const text = typeof header === 'string' ? header : header.join('; ');
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      out.set(name, value);
    }
  }
  return out;
}

/** One `Set-Cookie` header value. Throws `TypeError` for a name that is not a cookie token. */
export function serializeCookie(name: string, value: string, opts: CookieOptions = {}): string {
  if (!NAME.test(name)) throw new TypeError(`Invalid cookie name ${JSON.stringify(name)}`);
  const parts = [`${name}=${encodeURIComponent(value)}`];
  if (opts.maxAgeSeconds !== undefined) {
    const s = Math.max(0, Math.floor(opts.maxAgeSeconds));
    parts.push(`Max-Age=${s}`);
    if (s === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  parts.push(`Path=${opts.path ?? '/'}`);
  if (opts.httpOnly) parts.push('HttpOnly');
  if (opts.secure) parts.push('Secure');
  if (opts.sameSite) parts.push(`SameSite=${opts.sameSite}`);
  return parts.join('; ');
}

/** A `Set-Cookie` value that deletes the cookie (same path and flags as when it was set). */
export function clearCookie(name: string, opts: Omit<CookieOptions, 'maxAgeSeconds'> = {}): string {
  return serializeCookie(name, '', { ...opts, maxAgeSeconds: 0 });
}

/** Adds `Set-Cookie` values to a reply, keeping the ones already set. */
export function appendSetCookie(
  reply: { getHeader(name: string): unknown; header(name: string, value: unknown): unknown },
  values: readonly string[],
): void {
  const prev = reply.getHeader('set-cookie');
  const list = prev === undefined ? [] : Array.isArray(prev) ? (prev as string[]) : [String(prev)];
  reply.header('set-cookie', [...list, ...values]);
}
