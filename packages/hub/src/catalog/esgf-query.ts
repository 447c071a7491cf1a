/**
 * Parsing of `GET /esg-search/search` parameters (esgf-compat.md §2) into a facet-index
 * query, with ESGF's semantics:
 * - `type=Dataset` (default) | `File`; `Aggregation` and others are a 400;
 * - facet constraints: the same name repeated or a comma list = OR, different names = AND,
 *   `name!=value` negates (several negations are ANDed); exact, case-sensitive values. Any
 *   indexed facet or identifier field may be constrained (`dataset_id`, `id`, `instance_id`,
 *   `master_id`, `tracking_id`, `checksum`, `data_node`…); others are a 400;
 * - `latest`, `replica`, `retracted`, `distrib`, `sort`: `true|false` (any case); `distrib`
 *   and `shards` are accepted and ignored (the index is local); `sort=true` orders by
 *   `timestamp` descending, as ESGF does;
 * - `version` (digits, a leading `v` is dropped), `min_version`/`max_version` (inclusive);
 * - `start`/`end` (overlap with `datetime_start`/`datetime_stop`), `from`/`to` (on the
 *   record `timestamp`), `bbox=[west,south,east,north]` (overlap with the `*_degrees`);
 * - `limit` (default 10, at most 10 000, 0 = counts only), `offset` (default 0);
 * - `fields`: comma list or `*` (default), `score` is always returned, `*` globs allowed;
 * - `facets`: comma list or `*` (the default facet list); counts are flat and lexically
 *   sorted, all values with count ≥ 1; unknown facet fields are a 400. Repeated `facets`
 *   or `fields` parameters are merged (ESGF keeps only the last);
 * - `format`: `application/solr+json` (the default here: we answer JSON only);
 * - `query`: see esgf-text-query.ts;
 * - `readable=true` (our extension): only records the caller may read, not just list.
 * An empty value, a repeated single-valued keyword, bad characters in a name, or the
 * geo keywords ESGF itself rejects (`lat`, `lon`, `location`, `radius`, `polygon`) are a 400.
 */
import { z } from 'zod';
import type { FacetExpr } from '@eucp/core';
import { ESGF_DEFAULT_FACETS, ESGF_FACET_FIELDS, ESGF_KEY_FIELDS, type EsgfRecordType } from './esgf-index.js';
import { badParam, parseBound, parseSolrDate, parseTextQuery } from './esgf-text-query.js';

export { badParam } from './esgf-text-query.js';

/** Default and maximum `limit` (ESGF: 10 and 10 000). */
export const ESGF_DEFAULT_LIMIT = 10;
export const ESGF_MAX_LIMIT = 10_000;

/** A parsed search. */
export interface EsgfSearchRequest {
  readonly type: EsgfRecordType;
  /** All constraints ANDed. */
  readonly where: FacetExpr;
  readonly facets: readonly string[];
  /** Fields to return (may hold `*` globs); null = all. `score` is added by the presenter. */
  readonly fields: readonly string[] | null;
  readonly limit: number;
  readonly offset: number;
  /** `sort=true`: by `timestamp`, newest first. */
  readonly sort: boolean;
  /** Our extension `readable=true`. */
  readonly readable: boolean;
  /** What Solr would echo in `responseHeader.params`. */
  readonly echo: Record<string, string | string[]>;
}

const SINGLE = ['type', 'limit', 'offset', 'format', 'distrib', 'sort', 'latest', 'replica', 'retracted', 'query', 'start', 'end', 'from', 'to', 'bbox', 'min_version', 'max_version', 'readable'];
const KEYWORDS = new Set([...SINGLE, 'facets', 'fields', 'shards']);
const UNSUPPORTED = new Set(['lat', 'lon', 'location', 'radius', 'polygon']);
const CONSTRAINABLE = new Set([...ESGF_FACET_FIELDS, ...ESGF_KEY_FIELDS]);
const COUNTABLE = new Set([...ESGF_FACET_FIELDS, ...ESGF_KEY_FIELDS]);

const bool = z.string().toLowerCase().pipe(z.enum(['true', 'false'], { message: 'must be true or false' }));
const count = (max: number, tooMany: string) =>
  z.string().regex(/^\d+$/, 'must be a non-negative integer').transform(Number).pipe(z.number().max(max, tooMany));
const recordType = z.enum(['Dataset', 'File'], { message: 'must be Dataset or File' });
const format = z.literal('application/solr+json', { message: 'only application/solr+json is supported' });
const fieldList = z.string().regex(/^[A-Za-z0-9_.*]+(\s*,\s*[A-Za-z0-9_.*]+)*$/, 'must be a comma-separated list of field names');

function check<T>(parameter: string, schema: z.ZodType<T>, value: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw badParam(parameter, `${r.error.issues[0]?.message ?? 'invalid'} (got "${value}")`);
  return r.data;
}

const quote = (v: string): string => `"${v.replace(/(["\\])/g, '\\$1')}"`;

/** Parses the query string of a search; throws `SEARCH_INVALID_PARAMETER` (400) naming the parameter and the reason. */
export function parseEsgfSearch(params: URLSearchParams, nowMs: number): EsgfSearchRequest {
  const byName = new Map<string, string[]>();
  for (const [name, value] of params) {
    if (!/^[A-Za-z0-9_.]+!?$/.test(name)) throw badParam(name, 'invalid character(s) in the parameter name');
    if (value.trim() === '') throw badParam(name, 'empty value');
    byName.set(name, [...(byName.get(name) ?? []), value]);
  }
  const one = (name: string): string | undefined => {
    const v = byName.get(name);
    if (v && v.length > 1) throw badParam(name, 'given more than once');
    return v?.[0];
  };
  const list = (name: string): string[] | undefined => byName.get(name)?.flatMap((v) => check(name, fieldList, v.trim()).split(/\s*,\s*/));

  const type = check('type', recordType, one('type') ?? 'Dataset');
  const fmt = one('format');
  if (fmt !== undefined) check('format', format, fmt);
  const limit = check('limit', count(ESGF_MAX_LIMIT, `Too many records requested, maximum allowed value is limit=${ESGF_MAX_LIMIT}`), one('limit') ?? String(ESGF_DEFAULT_LIMIT));
  const offset = check('offset', count(Number.MAX_SAFE_INTEGER, 'too large'), one('offset') ?? '0');
  const flag = (name: string): boolean | undefined => {
    const v = one(name);
    return v === undefined ? undefined : check(name, bool, v) === 'true';
  };
  flag('distrib');
  const sort = flag('sort') ?? false;
  const readable = flag('readable') ?? false;

  const where: FacetExpr[] = [];
  const fq: string[] = [`type:${type}`];
  const q: string[] = [];
  const query = one('query');
  if (query !== undefined && query.trim() !== '*' && query.trim() !== '*:*') {
    where.push(parseTextQuery(query, type, nowMs));
    q.push(query);
  }
  for (const name of ['latest', 'replica', 'retracted']) {
    const v = flag(name);
    if (v === undefined) continue;
    where.push({ op: 'eq', field: name, values: [String(v)] });
    fq.push(`${name}:${v}`);
  }
  const range = (field: string, min: number | undefined, max: number | undefined, echo: string): void => {
    where.push({ op: 'range', field, min, max });
    q.push(echo);
  };
  const minV = one('min_version');
  const maxV = one('max_version');
  for (const [name, v] of [['min_version', minV], ['max_version', maxV]] as const) {
    if (v !== undefined && !/^v?\d+$/.test(v)) throw badParam(name, `must be a version number YYYYMMDD (got "${v}")`);
  }
  if (minV !== undefined || maxV !== undefined) {
    const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v.replace(/^v/, '')));
    range('version_number', num(minV), num(maxV), `version:[${num(minV) ?? '*'} TO ${num(maxV) ?? '*'}]`);
  }
  const date = (name: string): number | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    const ms = parseSolrDate(v, nowMs);
    if (ms === null) throw badParam(name, `must be a date YYYY-MM-DDTHH:MM:SSZ or Solr date math such as NOW-1YEAR (got "${v}")`);
    return ms;
  };
  const [start, end, from, to] = ['start', 'end', 'from', 'to'].map(date);
  if (start !== undefined) range('datetime_stop', start, undefined, `datetime_stop:[${one('start')} TO *]`);
  if (end !== undefined) range('datetime_start', undefined, end, `datetime_start:[* TO ${one('end')}]`);
  if (from !== undefined || to !== undefined) range('timestamp', from, to, `timestamp:[${one('from') ?? '*'} TO ${one('to') ?? '*'}]`);
  const bbox = one('bbox');
  if (bbox !== undefined) {
    const m = /^\[?\s*([^,\]]+)\s*,\s*([^,\]]+)\s*,\s*([^,\]]+)\s*,\s*([^,\]]+)\s*\]?$/.exec(bbox);
    const c = m ? m.slice(1).map((x) => parseBound('bbox', x.trim(), nowMs)) : [];
    if (c.length !== 4 || c.some((x) => x === undefined)) throw badParam('bbox', `must be [west,south,east,north] in degrees (got "${bbox}")`);
    const [w, s, e, n] = c as number[];
    range('east_degrees', w, undefined, `east_degrees:[${w} TO *]`);
    range('north_degrees', s, undefined, `north_degrees:[${s} TO *]`);
    range('west_degrees', undefined, e, `west_degrees:[* TO ${e}]`);
    range('south_degrees', undefined, n, `south_degrees:[* TO ${n}]`);
  }

  for (const [name, raw] of byName) {
    if (KEYWORDS.has(name)) continue;
    if (UNSUPPORTED.has(name)) throw badParam(name, 'Unsupported parameter');
    const negate = name.endsWith('!');
    const field = negate ? name.slice(0, -1) : name;
    if (!CONSTRAINABLE.has(field)) throw badParam(name, `"${field}" is not a searchable field`);
    let values = raw.flatMap((v) => v.split(/\s*,\s*/)).map((v) => v.trim()).filter((v) => v !== '');
    if (values.length === 0) throw badParam(name, 'empty value');
    if (field === 'version') {
      const bad = values.find((v) => !/^v?\d+$/.test(v));
      if (bad !== undefined) throw badParam(name, `must be a version number YYYYMMDD (got "${bad}")`);
      values = values.map((v) => v.replace(/^v/, ''));
    }
    const eq: FacetExpr = { op: 'eq', field, values };
    where.push(negate ? { op: 'not', arg: eq } : eq);
    if (negate) fq.push(...values.map((v) => `-${field}:${quote(v)}`));
    else fq.push(values.map((v) => `${field}:${quote(v)}`).join(' || '));
  }

  let facets = list('facets') ?? [];
  if (facets.includes('*')) facets = [...ESGF_DEFAULT_FACETS];
  facets = [...new Set(facets)];
  const unknown = facets.find((f) => !COUNTABLE.has(f));
  if (unknown !== undefined) throw badParam('facets', `"${unknown}" is not a facet field`);
  const requested = list('fields');
  const fields = requested === undefined || requested.includes('*') ? null : [...new Set(requested)];

  const echo: Record<string, string | string[]> = {
    q: q.length ? q.join(' AND ') : '*:*',
    fq: fq.length === 1 ? fq[0]! : fq,
    rows: String(limit),
    start: String(offset),
    facet: 'true',
    ...(facets.length ? { 'facet.field': facets.length === 1 ? facets[0]! : facets } : {}),
    'facet.sort': 'lex',
    'facet.mincount': '1',
    'facet.limit': '-1',
    wt: 'json',
    fl: fields ? [...fields.filter((f) => f !== 'score'), 'score'].join(',') : '*,score',
    ...(sort ? { sort: 'timestamp desc' } : {}),
  };
  return { type, where: { op: 'and', args: where }, facets, fields, limit, offset, sort, readable, echo };
}
