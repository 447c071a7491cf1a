import type { IncomingHttpHeaders } from 'node:http';
import { safeEqual } from './crypto.js';

/** Request headers that may carry the anti-forgery token (JupyterHub's name first). */
export const CSRF_HEADER_NAMES = ['x-xsrftoken', 'x-csrf-token'] as const;

/** Methods that change state and therefore need an anti-forgery token under cookie auth. */
export function isStateChangingMethod(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
}

/** The anti-forgery token sent in a header, if any. */
export function csrfTokenFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  for (const name of CSRF_HEADER_NAMES) {
    const v = headers[name];
    if (typeof v === 'string' && v) return v;
  }
  return undefined;
}

/** True if `presented` is a non-empty string equal to `expected` (constant time). */
export function csrfMatches(expected: string | null | undefined, presented: unknown): boolean {
  return typeof expected === 'string' && expected.length > 0 && typeof presented === 'string' && safeEqual(expected, presented);
}
