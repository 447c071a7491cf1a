import type { FastifyRequest } from 'fastify';
import { AppError } from '@eucp/core';

/** Media type that opts into the pagination envelope (JupyterHub 2.0+). */
export const PAGINATION_MEDIA_TYPE = 'application/jupyterhub-pagination+json';
/** Page size with the envelope when `limit` is not given. */
export const DEFAULT_PAGE_LIMIT = 50;
/** Largest page; also the default page size without the envelope. */
export const MAX_PAGE_LIMIT = 200;

export interface PageRequest {
  offset: number;
  limit: number;
  /** The client asked for `{items, _pagination}` instead of a bare list. */
  envelope: boolean;
}

export interface PaginationEnvelope<T> {
  items: T[];
  _pagination: {
    offset: number;
    limit: number;
    total: number;
    next: { offset: number; limit: number; url: string } | null;
  };
}

function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return first(v[0]);
  return typeof v === 'string' ? v : undefined;
}

/** True if the `Accept` header lists the pagination media type (among others). */
export function acceptsPagination(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => part.split(';')[0]!.trim().toLowerCase() === PAGINATION_MEDIA_TYPE);
}

function parseInteger(raw: string, name: string): number {
  if (!/^\s*[+-]?\d{1,15}\s*$/.test(raw)) {
    throw new AppError('INVALID_INPUT', 'Invalid argument type, offset and limit must be integers.', { field: name });
  }
  return Math.abs(Number(raw));
}

/**
 * Reads `offset` and `limit` as JupyterHub does: absolute values, `limit` capped at 200
 * and at least 1, default 50 with the envelope and 200 without; non-integers ⇒
 * `INVALID_INPUT` (400).
 */
export function parsePagination(req: FastifyRequest): PageRequest {
  const q = (req.query ?? {}) as Record<string, unknown>;
  const envelope = acceptsPagination(req.headers.accept);
  const rawOffset = first(q.offset);
  const rawLimit = first(q.limit);
  const offset = rawOffset === undefined || rawOffset === '' ? 0 : parseInteger(rawOffset, 'offset');
  let limit = rawLimit === undefined || rawLimit === '' ? (envelope ? DEFAULT_PAGE_LIMIT : MAX_PAGE_LIMIT) : parseInteger(rawLimit, 'limit');
  limit = Math.min(MAX_PAGE_LIMIT, Math.max(1, limit));
  return { offset, limit, envelope };
}

/**
 * Absolute URL of the next page: the request URL as the client used it (scheme and host
 * from the request) with every query parameter kept and `offset`/`limit` replaced.
 */
export function nextPageUrl(req: FastifyRequest, offset: number, limit: number): string {
  const [path, query = ''] = req.url.split('?', 2) as [string, string?];
  const params = new URLSearchParams(query);
  params.set('offset', String(offset));
  params.set('limit', String(limit));
  return `${req.protocol}://${req.headers.host ?? 'localhost'}${path}?${params.toString()}`;
}

/** The response for one page: a bare list, or the envelope when the client asked for it. */
export function paginated<T>(req: FastifyRequest, page: PageRequest, items: T[], total: number): T[] | PaginationEnvelope<T> {
  if (!page.envelope) return items;
  const nextOffset = page.offset + page.limit;
  return {
    items,
    _pagination: {
      offset: page.offset, limit: page.limit, total,
      next: nextOffset < total ? { offset: nextOffset, limit: page.limit, url: nextPageUrl(req, nextOffset, page.limit) } : null,
    },
  };
}
