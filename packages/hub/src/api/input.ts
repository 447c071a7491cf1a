import { AppError } from '@eucp/core';
import type { z } from 'zod';

/**
 * Parses a JSON request body with a zod schema; `undefined` (no body) is parsed as `{}`.
 * Throws `INVALID_INPUT` naming the first offending field.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body === undefined || body === null ? {} : body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.');
  throw new AppError('INVALID_INPUT', field ? `"${field}": ${issue.message}` : issue.message, field ? { field } : {});
}

/** First value of a query parameter (fastify gives arrays for repeated keys). */
export function queryParam(query: unknown, key: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[key];
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' ? x : undefined;
}

/** JupyterHub's flag rule: present with any value except `0`/`false` means true. */
export function queryFlag(query: unknown, key: string): boolean {
  const v = queryParam(query, key);
  return v !== undefined && !['0', 'false'].includes(v.toLowerCase());
}
