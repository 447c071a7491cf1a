/**
 * `GET /esg-search/search`: the ESGF search API over the hub's catalog (esgf-compat.md §2),
 * for Dataset and File records (`type=File&dataset_id=…` lists a dataset's files). No
 * login needed: open data is searchable by anyone; what a caller may not see is removed by
 * the optional visibility filter, as one bitset AND inside the index, before counting and
 * paging, so neither docs nor facet counts reveal hidden records.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Bitset } from '@eucp/core';
import type { HubContext } from '../context.js';
import type { AuthContext } from '../auth/types.js';
import type { EsgfCorpus, EsgfIndexProvider, EsgfRecordType } from './esgf-index.js';
import { parseEsgfSearch } from './esgf-query.js';
import { esgfResponse } from './esgf-response.js';

/** What a visibility filter is asked. */
export interface EsgfVisibilityQuery {
  /** Null for anonymous requests. */
  readonly caller: AuthContext | null;
  readonly type: EsgfRecordType;
  readonly corpus: EsgfCorpus;
  /** `list`: may the caller know the record exists; `read`: may they read its data (`readable=true`). */
  readonly purpose: 'list' | 'read';
}

/**
 * Which records of a corpus the caller may see, as a bitset over its ordinals (length
 * `ceil(corpus.index.size / 32)` words); undefined = all of them. Contract: build it per
 * distinct value, not per doc — e.g. `corpus.index.matchWhere('instance_id', (id) =>
 * policyRegex.test(id))` — and cache it per (corpus, caller's grants): a corpus object is
 * immutable, so it can key a WeakMap. Called once per request, also for anonymous callers.
 */
export type EsgfVisibilityFilter = (q: EsgfVisibilityQuery) => Bitset | undefined | Promise<Bitset | undefined>;

/** Options of the catalog routes. */
export interface EsgfRouteOptions {
  /** Hides records; without it everything is visible (the permissions helper supplies it). */
  readonly filter?: EsgfVisibilityFilter;
}

/** The mask for a request, or undefined when nothing is hidden. */
export async function visibilityMask(
  opts: EsgfRouteOptions,
  req: FastifyRequest,
  type: EsgfRecordType,
  corpus: EsgfCorpus,
  purpose: 'list' | 'read',
): Promise<Bitset | undefined> {
  return opts.filter ? await opts.filter({ caller: req.auth ?? null, type, corpus, purpose }) : undefined;
}

/** The raw query string of a request (repeated parameters kept in order). */
export function searchParamsOf(req: FastifyRequest): URLSearchParams {
  const at = req.url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : req.url.slice(at + 1));
}

/**
 * Registers `GET /esg-search/search`. `provider` supplies the current corpora (see
 * esgf-index.ts); `opts.filter` hides what a caller may not see. Malformed parameters
 * answer 400 `SEARCH_INVALID_PARAMETER` with `parameter` and `reason`.
 */
export async function registerEsgfSearch(app: FastifyInstance, ctx: HubContext, provider: EsgfIndexProvider, opts: EsgfRouteOptions = {}): Promise<void> {
  const log = ctx.log.child({ component: 'esgf-search' });
  app.get('/esg-search/search', async (req, reply) => {
    const t0 = performance.now();
    const search = parseEsgfSearch(searchParamsOf(req), ctx.now());
    const snapshot = await provider.current();
    const corpus = search.type === 'File' ? snapshot.files : snapshot.datasets;
    const mask = await visibilityMask(opts, req, search.type, corpus, search.readable ? 'read' : 'list');
    const result = corpus.index.search({
      where: search.where,
      mask,
      facets: search.facets,
      offset: search.offset,
      limit: search.limit,
      sort: search.sort ? { field: 'timestamp', descending: true } : undefined,
    });
    const qTime = Math.round(performance.now() - t0);
    const body = esgfResponse(search, result, (i) => corpus.doc(i), qTime);
    log.debug({ type: search.type, numFound: result.numFound, qTimeMs: qTime }, 'search');
    reply.header('Cache-Control', 'no-store');
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
  });
}
