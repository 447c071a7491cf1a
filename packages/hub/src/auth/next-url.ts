const PROBE_ORIGIN = 'http://hub.invalid';

/**
 * Accepts a post-login `next` target only if it is a same-origin relative path:
 * starts with a single `/`, has no backslash, no control or whitespace characters (which
 * browsers strip, turning `/\t/evil` into `//evil`), and resolves to the same origin.
 * Returns the path as the URL parser normalises it (non-ASCII percent-encoded, so it is
 * safe in a `Location` header), or null (caller falls back to `/hub/home`).
 */
export function safeNextUrl(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 4096) return null;
  if (!raw.startsWith('/') || raw.startsWith('//')) return null;
  if (/[\\\s\x00-\x1f\x7f]/.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw, PROBE_ORIGIN);
  } catch {
    return null;
  }
  return url.origin === PROBE_ORIGIN ? url.pathname + url.search + url.hash : null;
}
