/**
 * The JSON answer of `GET /esg-search/search` in the shape of ESGF's
 * `format=application/solr+json` (esgf-compat.md §2, the esg_fastapi fixtures): Solr's
 * `responseHeader` (status, QTime, echoed params), `response` (numFound, start, maxScore,
 * docs) and `facet_counts` (flat `[value, count, …]` arrays in `facet_fields`).
 */
import type { FacetSearchResult } from '@eucp/core';
import type { EsgDoc } from './esgf-index.js';
import type { EsgfSearchRequest } from './esgf-query.js';

/** ESGF's JSON search response. */
export interface EsgSearchResponse {
  responseHeader: { status: 0; QTime: number; params: Record<string, string | string[]> };
  response: { numFound: number; start: number; maxScore: number; docs: Record<string, unknown>[] };
  facet_counts: {
    facet_queries: Record<string, never>;
    facet_fields: Record<string, (string | number)[]>;
    facet_ranges: Record<string, never>;
    facet_intervals: Record<string, never>;
    facet_heatmaps: Record<string, never>;
  };
}

const globCache = new Map<string, RegExp>();
function glob(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    if (globCache.size < 1000) globCache.set(pattern, re);
  }
  return re;
}

/**
 * A doc limited to `fields` (null = all; `*` globs allowed, e.g. `variable*`), with
 * `score: 1` as Solr adds for `fl=…,score` (every match scores the same here). Fields a doc
 * lacks are left out, as Solr does.
 */
export function projectDoc(doc: EsgDoc, fields: readonly string[] | null): Record<string, unknown> {
  if (fields === null) return { ...doc, score: 1 };
  const out: Record<string, unknown> = {};
  const globs = fields.filter((f) => f.includes('*')).map(glob);
  for (const f of fields) if (!f.includes('*') && f in doc) out[f] = doc[f];
  if (globs.length) for (const k of Object.keys(doc)) if (globs.some((g) => g.test(k))) out[k] = doc[k];
  out['score'] = 1;
  return out;
}

/** Presents a search result; `docOf` maps an index ordinal to its doc. */
export function esgfResponse(
  req: EsgfSearchRequest,
  result: FacetSearchResult,
  docOf: (ordinal: number) => EsgDoc,
  qTimeMs: number,
): EsgSearchResponse {
  return {
    responseHeader: { status: 0, QTime: qTimeMs, params: req.echo },
    response: {
      numFound: result.numFound,
      start: req.offset,
      maxScore: result.numFound > 0 ? 1 : 0,
      docs: result.ids.map((i) => projectDoc(docOf(i), req.fields)),
    },
    facet_counts: {
      facet_queries: {},
      facet_fields: result.facetCounts,
      facet_ranges: {},
      facet_intervals: {},
      facet_heatmaps: {},
    },
  };
}
