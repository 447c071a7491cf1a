/**
 * The `query` parameter of the ESGF search API: a subset of Lucene syntax, turned into a
 * {@link FacetExpr} of the facet index.
 *
 * Supported (anything else is a 400 naming `query`):
 * - `*` and `*:*` — everything;
 * - bare terms and `"quoted text"` — every letters/digits token of the term (case-insensitive)
 *   must equal a token of a text field's value (project, model, experiment and variable
 *   names, long names, experiment titles, standard names, grids…); a trailing `*` makes the
 *   last token a prefix (`temp*`). A quoted phrase is matched as all its tokens, not as a
 *   phrase. Identifiers (id, instance_id, title…) are not text: use `field:value`;
 * - `field:value` (exact, case-sensitive), `field:"value with spaces"`, `field:prefix*`,
 *   `field:*` (has a value) for facet and identifier fields, e.g. `id:CMIP6.CMIP.*`;
 * - `field:[a TO b]` (inclusive, `*` = open) for number and date fields (`datetime_start`,
 *   `datetime_stop`, `timestamp`/`_timestamp`, `version`, `*_degrees`, `size`); dates are ISO
 *   8601 (`2005-01-01T00:00:00Z`) or Solr `NOW±nUNIT`;
 * - `text:term` — the same as a bare term; `type:Dataset|File` — all or nothing;
 * - `AND`, `OR`, `NOT` (upper case), `&&`, `||`, `-term`, `+term`, parentheses. Juxtaposed
 *   clauses are ANDed (ESGF's default operator); NOT binds tightest, then AND, then OR.
 */
import { AppError, type FacetExpr } from '@eucp/core';
import { ESGF_FACET_FIELDS, ESGF_KEY_FIELDS, ESGF_NUMBER_FIELDS, type EsgfRecordType } from './esgf-index.js';

/** The ESGF-style 400: names the parameter and the reason (fields `parameter`, `reason`). */
export function badParam(parameter: string, reason: string): AppError {
  return new AppError('SEARCH_INVALID_PARAMETER', `${parameter}: ${reason}`, { parameter, reason });
}

const STRING_FIELDS = new Set([...ESGF_FACET_FIELDS, ...ESGF_KEY_FIELDS]);
const NUMBER_FIELDS = new Set(ESGF_NUMBER_FIELDS.map((f) => f.name));
/** Names in queries that mean an indexed number field of another name. */
const NUMBER_ALIASES: Readonly<Record<string, string>> = { _timestamp: 'timestamp', version: 'version_number' };

const UNITS: Readonly<Record<string, (d: Date, k: number) => void>> = {
  YEAR: (d, k) => d.setUTCFullYear(d.getUTCFullYear() + k),
  MONTH: (d, k) => d.setUTCMonth(d.getUTCMonth() + k),
  DAY: (d, k) => d.setUTCDate(d.getUTCDate() + k),
  HOUR: (d, k) => d.setUTCHours(d.getUTCHours() + k),
  MINUTE: (d, k) => d.setUTCMinutes(d.getUTCMinutes() + k),
  SECOND: (d, k) => d.setUTCSeconds(d.getUTCSeconds() + k),
};

/**
 * A date parameter in milliseconds since the epoch: ISO 8601 (`YYYY-MM-DD`, optionally
 * `THH:MM[:SS[.s]]` and `Z`, always UTC) or Solr date math `NOW`, `NOW-1YEAR`, `NOW+2DAYS-3HOURS`.
 * Returns null when it is neither.
 */
export function parseSolrDate(v: string, nowMs: number): number | null {
  const math = /^NOW((?:[+-]\d+(?:YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?)*)$/.exec(v);
  if (math) {
    const d = new Date(nowMs);
    for (const m of math[1]!.matchAll(/([+-]\d+)([A-Z]+?)S?(?=[+-]|$)/g)) UNITS[m[2]!]!(d, Number(m[1]));
    return d.getTime();
  }
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?$/.test(v)) return null;
  const ms = Date.parse(v.includes('T') && !v.endsWith('Z') ? `${v}Z` : v);
  return Number.isNaN(ms) ? null : ms;
}

/** A bound of a number field: `*` (open), a number, or a date. */
export function parseBound(parameter: string, v: string, nowMs: number): number | undefined {
  if (v === '*') return undefined;
  if (/^[+-]?\d+(\.\d+)?$/.test(v)) return Number(v);
  const ms = parseSolrDate(v, nowMs);
  if (ms === null) throw badParam(parameter, `"${v}" is neither a number nor a date (YYYY-MM-DDTHH:MM:SSZ or NOW-1YEAR)`);
  return ms;
}

type Tok =
  | { readonly k: '(' | ')' | 'AND' | 'OR' | 'NOT' }
  | { readonly k: 'term'; readonly field: string | null; readonly value: string; readonly quoted: boolean; readonly range: readonly [string, string] | null };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  const bare = (from: number, stop: RegExp): [string, number] => {
    let s = '';
    let j = from;
    for (; j < q.length && !stop.test(q[j]!); j++) s += q[j] === '\\' && j + 1 < q.length ? q[++j] : q[j];
    return [s, j];
  };
  const quoted = (from: number): [string, number] => {
    const end = q.indexOf('"', from + 1);
    if (end < 0) throw badParam('query', 'unclosed quote');
    return [q.slice(from + 1, end), end + 1];
  };
  let i = 0;
  while (i < q.length) {
    const ch = q[i]!;
    if (/\s/.test(ch)) i++;
    else if (ch === '(' || ch === ')') {
      out.push({ k: ch });
      i++;
    } else if (q.startsWith('&&', i) || q.startsWith('||', i)) {
      out.push({ k: ch === '&' ? 'AND' : 'OR' });
      i += 2;
    } else if ((ch === '-' || ch === '!' || ch === '+') && i + 1 < q.length && !/[\s)]/.test(q[i + 1]!)) {
      if (ch !== '+') out.push({ k: 'NOT' });
      i++;
    } else if (ch === '"') {
      const [value, j] = quoted(i);
      out.push({ k: 'term', field: null, value, quoted: true, range: null });
      i = j;
    } else {
      const [word, j] = bare(i, /[\s()":]/);
      if (q[j] !== ':') {
        if (word === 'AND' || word === 'OR' || word === 'NOT') out.push({ k: word });
        else out.push({ k: 'term', field: null, value: word, quoted: false, range: null });
        i = Math.max(j, i + 1);
        continue;
      }
      let k = j + 1;
      if (q[k] === '"') {
        const [value, e] = quoted(k);
        out.push({ k: 'term', field: word, value, quoted: true, range: null });
        i = e;
      } else if (q[k] === '[' || q[k] === '{') {
        const end = q.indexOf(q[k] === '[' ? ']' : '}', k);
        if (q[k] === '{') throw badParam('query', 'exclusive ranges {a TO b} are not supported; use [a TO b]');
        const parts = end < 0 ? [] : q.slice(k + 1, end).trim().split(/\s+TO\s+/);
        if (parts.length !== 2) throw badParam('query', `malformed range after "${word}:" (expected [a TO b])`);
        out.push({ k: 'term', field: word, value: '', quoted: false, range: [parts[0]!, parts[1]!] });
        i = end + 1;
      } else {
        const [value, e] = bare(k, /[\s()]/);
        if (value === '') throw badParam('query', `no value after "${word}:"`);
        out.push({ k: 'term', field: word, value, quoted: false, range: null });
        i = e;
        k = e;
      }
    }
  }
  return out;
}

const NOTHING: FacetExpr = { op: 'or', args: [] };

function termExpr(t: Extract<Tok, { k: 'term' }>, type: EsgfRecordType, nowMs: number): FacetExpr {
  const { field, value, quoted, range } = t;
  if (field === null || field === 'text') return !quoted && value === '*' ? { op: 'all' } : { op: 'text', text: value };
  if (field === '*' && value === '*') return { op: 'all' };
  if (field === 'type') return value === type ? { op: 'all' } : NOTHING;
  const numberField = NUMBER_ALIASES[field] ?? (NUMBER_FIELDS.has(field) ? field : null);
  if (range || (numberField && !STRING_FIELDS.has(field))) {
    if (!numberField) throw badParam('query', `"${field}" is not a number or date field; ranges need one`);
    const [lo, hi] = range ?? [value, value];
    return { op: 'range', field: numberField, min: parseBound('query', lo, nowMs), max: parseBound('query', hi, nowMs) };
  }
  if (!STRING_FIELDS.has(field)) throw badParam('query', `unknown field "${field}"`);
  if (!quoted && value.endsWith('*')) return { op: 'prefix', field, prefix: value.slice(0, -1) };
  return { op: 'eq', field, values: [value] };
}

/** Parses the `query` parameter; throws the ESGF-style 400 naming `query`. */
export function parseTextQuery(q: string, type: EsgfRecordType, nowMs: number): FacetExpr {
  const toks = tokenize(q);
  let pos = 0;
  const peek = (): Tok | undefined => toks[pos];
  const unary = (): FacetExpr => {
    const t = toks[pos++];
    if (!t) throw badParam('query', 'ends where a term was expected');
    if (t.k === 'NOT') return { op: 'not', arg: unary() };
    if (t.k === '(') {
      const e = disjunction();
      if (toks[pos++]?.k !== ')') throw badParam('query', 'unbalanced parentheses');
      return e;
    }
    if (t.k === 'term') return termExpr(t, type, nowMs);
    throw badParam('query', `unexpected "${t.k}"`);
  };
  const conjunction = (): FacetExpr => {
    const args = [unary()];
    for (let t = peek(); t && t.k !== ')' && t.k !== 'OR'; t = peek()) {
      if (t.k === 'AND') pos++;
      args.push(unary());
    }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  };
  const disjunction = (): FacetExpr => {
    const args = [conjunction()];
    while (peek()?.k === 'OR') {
      pos++;
      args.push(conjunction());
    }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  };
  if (toks.length === 0) return { op: 'all' };
  const e = disjunction();
  if (pos < toks.length) throw badParam('query', 'unbalanced parentheses');
  return e;
}
