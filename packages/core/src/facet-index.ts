/**
 * An in-memory faceted index over up to millions of records (ESGF-style search documents),
 * immutable once built.
 *
 * Storage, per field kind (see {@link FacetFieldSpec}):
 * - `facet`/`key`: a dictionary of the distinct values in lexical (UTF-16 code unit) order;
 *   per value a posting list: a {@link Bitset} when the value is frequent (in ≥ 1/32 of the
 *   records, where a bitset is smaller than a list of 32-bit ordinals), else a run in one
 *   shared sorted `Uint32Array` (CSR). `facet` fields also keep a column of codes per record
 *   (`Uint8Array`/`Uint16Array`/`Uint32Array` by cardinality; CSR when a record has several
 *   values) for counting passes and for reading values back.
 * - `number`: sorted distinct values and a column of codes, for ranges and ordering.
 * - free text: the values of `facet` fields marked `text` are tokenised once per distinct
 *   value (not per record): token → (field, code) pairs whose postings answer a term.
 *
 * Queries are boolean expressions ({@link FacetExpr}) evaluated to bitsets: AND across
 * clauses, OR within a clause, NOT for negation. Facet counts over the match set use, per
 * field and query, the cheaper of (a) popcount of the intersection with each value's
 * bitset (plus a pass over the short posting lists) and (b) a counting pass over the
 * matching ordinals through the column; the cost model is `chooseScan` (facet-count.ts).
 *
 * The default order is the insertion order (ordinal); a `number` field can order instead
 * (ties by ordinal). Pure: no I/O. Errors: `AppError('INVALID_INPUT')` for unknown fields,
 * a field of the wrong kind or bad paging values.
 */
import {
  andInto, andNotInto, bitsetAdd, bitsetCount, bitsetHas, bitsetPage, bitsetToIdsInto, bitsetWords, emptyBitset, fillAll,
  notInPlace, orInto, type Bitset,
} from './facet-bitset.js';
import {
  invalid, lowerBound, textTokens, FieldsBuilder, type BuiltFields, type FacetFieldKind, type FacetFieldSpec, type NumberField, type StringField,
} from './facet-build.js';
import { chooseScan, countByPostings, countByScan, orPostings } from './facet-count.js';

export * from './facet-bitset.js';
export { textTokens, type FacetFieldKind, type FacetFieldSpec } from './facet-build.js';

/**
 * A query. `eq`: the field has any of `values` (exact, case-sensitive); `prefix`: any value
 * starting with `prefix`; `range`: a `number` field within `[min, max]` (inclusive, either
 * open); `text`: every token of `text` (letters/digits runs, case-insensitive) equals a token
 * of a text field's value, a trailing `*` making the last token a prefix; `bits`: a given set.
 * Records without a value never match `eq`, `prefix`, `range` (so `not eq` includes them).
 */
export type FacetExpr =
  | { readonly op: 'all' }
  | { readonly op: 'eq'; readonly field: string; readonly values: readonly string[] }
  | { readonly op: 'prefix'; readonly field: string; readonly prefix: string }
  | { readonly op: 'range'; readonly field: string; readonly min?: number; readonly max?: number }
  | { readonly op: 'text'; readonly text: string }
  | { readonly op: 'and'; readonly args: readonly FacetExpr[] }
  | { readonly op: 'or'; readonly args: readonly FacetExpr[] }
  | { readonly op: 'not'; readonly arg: FacetExpr }
  | { readonly op: 'bits'; readonly bits: Bitset };

/** A search: filter, caller mask, page and facet counts. */
export interface FacetSearch {
  /** Default: all records. */
  readonly where?: FacetExpr;
  /** Records the caller may see (ANDed with the match before counting and paging). */
  readonly mask?: Bitset;
  /** `facet`/`key` fields to count over the match set. */
  readonly facets?: readonly string[];
  /** Default 0. */
  readonly offset?: number;
  /** Default 10; 0 = counts only. */
  readonly limit?: number;
  /** Order by a `number` field (missing values last, ties by ordinal); default: ordinal order. */
  readonly sort?: { readonly field: string; readonly descending?: boolean };
  /** Force a counting strategy (tests, benchmarks); default `auto`. */
  readonly countStrategy?: 'auto' | 'bitsets' | 'scan';
}

/** What a search found. */
export interface FacetSearchResult {
  readonly numFound: number;
  /** Ordinals of the requested page, in order. */
  readonly ids: readonly number[];
  /** Per requested facet: `[value, count, value, count, …]`, values in lexical order, counts ≥ 1. */
  readonly facetCounts: Record<string, (string | number)[]>;
}

/** Builds a {@link FacetIndex}: `add` every record in the order that becomes the default order, then `build` once. */
export class FacetIndexBuilder {
  private readonly fields: FieldsBuilder;

  constructor(spec: readonly FacetFieldSpec[]) {
    this.fields = new FieldsBuilder(spec);
  }

  /** Adds one record; returns its ordinal. */
  add(record: Readonly<Record<string, unknown>>): number {
    return this.fields.add(record);
  }

  /** The index over the records added so far. */
  build(): FacetIndex {
    return new FacetIndex(this.fields.finish());
  }
}

/** An immutable faceted index; see the module comment. Build it with {@link FacetIndexBuilder} or {@link FacetIndex.build}. */
export class FacetIndex {
  /** token → flat (text field number, code) pairs. */
  private readonly tokens = new Map<string, number[]>();
  private readonly textFields: StringField[];
  private readonly orders = new Map<string, Uint32Array>();
  /** Reused bitsets and ordinal list, so a search allocates (almost) nothing: large short-lived buffers would drive V8 into full GCs. */
  private readonly pool: Bitset[] = [];
  private idScratch: Uint32Array | null = null;

  /** Number of records (ordinals 0 … size−1). */
  readonly size: number;
  private readonly strings: ReadonlyMap<string, StringField>;
  private readonly numbers: ReadonlyMap<string, NumberField>;

  /** @internal Use {@link FacetIndexBuilder} or {@link FacetIndex.build}. */
  constructor(built: BuiltFields) {
    this.size = built.size;
    this.strings = built.strings;
    this.numbers = built.numbers;
    this.textFields = built.textFields.map((n) => built.strings.get(n)!);
    this.textFields.forEach((f, fi) => {
      f.values.forEach((v, c) => {
        for (const t of new Set(textTokens(v))) {
          const list = this.tokens.get(t);
          if (list) list.push(fi, c);
          else this.tokens.set(t, [fi, c]);
        }
      });
    });
  }

  /** Indexes `records` in order. */
  static build(spec: readonly FacetFieldSpec[], records: Iterable<Readonly<Record<string, unknown>>>): FacetIndex {
    const b = new FieldsBuilder(spec);
    for (const r of records) b.add(r);
    return new FacetIndex(b.finish());
  }

  /** The kind of an indexed field, or undefined. */
  kindOf(field: string): FacetFieldKind | undefined {
    return this.numbers.has(field) ? 'number' : this.strings.get(field)?.kind;
  }

  /** Distinct values of a `facet`/`key` field, in lexical order. */
  values(field: string): readonly string[] {
    return this.str(field).values;
  }

  /** The values of a `facet` field of one record (dictionary order for several). */
  valuesOf(field: string, ordinal: number): string[] {
    const f = this.str(field);
    if (f.column) {
      const c = f.column[ordinal] ?? 0;
      return c === 0 ? [] : [f.values[c - 1]!];
    }
    if (f.kind === 'key') throw invalid(`Field "${field}" is a key field; it keeps no values per record.`);
    if (!f.multiStart || !f.multiCodes) return [];
    const out: string[] = [];
    for (let j = f.multiStart[ordinal]!; j < f.multiStart[ordinal + 1]!; j++) out.push(f.values[f.multiCodes[j]!]!);
    return out;
  }

  /** The value of a `number` field of one record, or undefined. */
  numberOf(field: string, ordinal: number): number | undefined {
    const f = this.num(field);
    const c = f.column?.[ordinal] ?? 0;
    return c === 0 ? undefined : f.values[c - 1];
  }

  /** Records whose `facet`/`key` field has a value satisfying `pred` (called once per distinct value): for caller masks from policy regexes. */
  matchWhere(field: string, pred: (value: string) => boolean): Bitset {
    const f = this.str(field);
    const out = emptyBitset(this.size);
    f.values.forEach((v, c) => { if (pred(v)) orPostings(f, c, out); });
    return out;
  }

  /** Evaluates an expression to a fresh bitset (the caller may modify it). */
  evaluate(e: FacetExpr): Bitset {
    const b = this.ev(e);
    const copy = b.slice();
    this.give(b);
    return copy;
  }

  /** Runs a search; see {@link FacetSearch}. */
  search(q: FacetSearch = {}): FacetSearchResult {
    const offset = q.offset ?? 0;
    const limit = q.limit ?? 10;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalid('offset must be a non-negative integer.');
    if (!Number.isSafeInteger(limit) || limit < 0) throw invalid('limit must be a non-negative integer.');
    const facets = (q.facets ?? []).map((name) => [name, this.str(name)] as const);
    if (q.mask && q.mask.length !== bitsetWords(this.size)) throw invalid(`The mask must cover ${this.size} records.`);
    const match = q.where ? this.ev(q.where) : this.take(true);
    try {
      if (q.mask) andInto(match, q.mask);
      const numFound = bitsetCount(match);
      const ids = q.sort ? this.sortedPage(match, q.sort.field, q.sort.descending ?? false, offset, limit) : bitsetPage(match, offset, limit);
      let matchIds: Uint32Array | null = null;
      const facetCounts: Record<string, (string | number)[]> = {};
      for (const [name, f] of facets) {
        const scan = chooseScan(f, this.size, numFound, matchIds !== null, q.countStrategy ?? 'auto');
        if (scan && !matchIds) {
          this.idScratch ??= new Uint32Array(this.size);
          matchIds = this.idScratch.subarray(0, bitsetToIdsInto(match, this.idScratch));
        }
        const counts = scan ? countByScan(f, matchIds!) : countByPostings(f, match);
        const flat: (string | number)[] = [];
        for (let c = 0; c < counts.length; c++) if (counts[c]! > 0) flat.push(f.values[c]!, counts[c]!);
        facetCounts[name] = flat;
      }
      return { numFound, ids, facetCounts };
    } finally {
      this.give(match);
    }
  }

  /** A pooled bitset, empty or full. */
  private take(full: boolean): Bitset {
    const b = this.pool.pop() ?? new Uint32Array(bitsetWords(this.size));
    return full ? fillAll(b, this.size) : b.fill(0);
  }

  private give(b: Bitset): void {
    if (this.pool.length < 16) this.pool.push(b);
  }

  /** Evaluates into a pooled bitset that the caller gives back. */
  private ev(e: FacetExpr): Bitset {
    switch (e.op) {
      case 'all':
        return this.take(true);
      case 'eq': {
        const f = this.str(e.field);
        const out = this.take(false);
        for (const v of e.values) {
          const c = lowerBound(f.values, v, (a, b) => a < b);
          if (f.values[c] === v) orPostings(f, c, out);
        }
        return out;
      }
      case 'prefix': {
        const f = this.str(e.field);
        const out = this.take(false);
        for (let c = lowerBound(f.values, e.prefix, (a, b) => a < b); c < f.values.length && f.values[c]!.startsWith(e.prefix); c++) orPostings(f, c, out);
        return out;
      }
      case 'range':
        return this.range(e.field, e.min, e.max);
      case 'text':
        return this.text(e.text);
      case 'and':
      case 'or': {
        let out: Bitset | null = null;
        for (const a of e.args) {
          const negated = e.op === 'and' && a.op === 'not';
          const b = this.ev(negated ? a.arg : a);
          if (negated) andNotInto((out ??= this.take(true)), b);
          else if (!out) {
            out = b;
            continue;
          } else if (e.op === 'and') andInto(out, b);
          else orInto(out, b);
          this.give(b);
        }
        return out ?? this.take(e.op === 'and');
      }
      case 'not':
        return notInPlace(this.ev(e.arg), this.size);
      case 'bits': {
        if (e.bits.length !== bitsetWords(this.size)) throw invalid(`A bitset over ${this.size} records needs ${bitsetWords(this.size)} words.`);
        const out = this.take(false);
        out.set(e.bits);
        return out;
      }
    }
  }

  /**
   * Estimated memory of the index: typed arrays exactly; dictionary strings and the token map
   * approximately (V8 one-byte strings; strings shared with the caller's docs are counted too).
   * `fields`: typed arrays plus dictionary slots (8 bytes a value) per field, strings excluded.
   */
  memory(): { typedArrayBytes: number; stringBytes: number; totalBytes: number; fields: Record<string, number> } {
    let typed = 0;
    let str = 0;
    const fields: Record<string, number> = {};
    const size = (arrays: readonly (ArrayBufferView | null)[]): number => arrays.reduce((n, a) => n + (a ? a.byteLength : 0), 0);
    for (const [name, f] of this.strings) {
      const t = size([...f.bitsets, f.postStart, f.postIds, f.column, f.multiStart, f.multiCodes]);
      typed += t;
      fields[name] = t + 8 * f.values.length;
      for (const v of f.values) str += 8 + 16 + v.length;
    }
    for (const [name, f] of this.numbers) {
      fields[name] = size([f.values, f.column]);
      typed += fields[name]!;
    }
    typed += size([...this.orders.values()]);
    for (const [t, l] of this.tokens) str += 8 + 16 + t.length + 32 + 8 * l.length;
    return { typedArrayBytes: typed, stringBytes: str, totalBytes: typed + str, fields };
  }

  private str(field: string): StringField {
    const f = this.strings.get(field);
    if (!f) throw invalid(`"${field}" is not an indexed facet or key field.`);
    return f;
  }

  private num(field: string): NumberField {
    const f = this.numbers.get(field);
    if (!f) throw invalid(`"${field}" is not an indexed number field.`);
    return f;
  }

  private range(field: string, min: number | undefined, max: number | undefined): Bitset {
    const f = this.num(field);
    const out = this.take(false);
    // Codes lo+1 … hi (1-based) hold the values within [min, max].
    const lo = min === undefined ? 0 : lowerBound(f.values, min, (a, b) => a < b);
    const hi = max === undefined ? f.values.length : lowerBound(f.values, max, (a, b) => a <= b);
    const col = f.column;
    if (lo >= hi || !col) return out;
    for (let i = 0; i < this.size; i++) {
      const c = col[i]!;
      if (c > lo && c <= hi) bitsetAdd(out, i);
    }
    return out;
  }

  private text(text: string): Bitset {
    const toks = textTokens(text);
    const prefixLast = text.trimEnd().endsWith('*');
    let out: Bitset | null = null;
    toks.forEach((t, k) => {
      const b = this.take(false);
      const lists = prefixLast && k === toks.length - 1 ? [...this.tokens].filter(([tok]) => tok.startsWith(t)).map(([, l]) => l) : [this.tokens.get(t) ?? []];
      for (const l of lists) for (let j = 0; j < l.length; j += 2) orPostings(this.textFields[l[j]!]!, l[j + 1]!, b);
      if (out) {
        andInto(out, b);
        this.give(b);
      } else out = b;
    });
    return out ?? this.take(true);
  }

  private sortedPage(match: Bitset, field: string, descending: boolean, offset: number, limit: number): number[] {
    const key = `${field}\u0000${descending ? 'd' : 'a'}`;
    let perm = this.orders.get(key);
    if (!perm) {
      perm = this.order(this.num(field), descending);
      this.orders.set(key, perm);
    }
    const out: number[] = [];
    let skip = offset;
    for (let j = 0; j < perm.length && out.length < limit; j++) {
      const i = perm[j]!;
      if (!bitsetHas(match, i)) continue;
      if (skip > 0) skip--;
      else out.push(i);
    }
    return out;
  }

  /** Ordinals by value (counting sort over the codes), missing last, ties by ordinal. */
  private order(f: NumberField, descending: boolean): Uint32Array {
    const k = f.values.length;
    const bucket = (c: number): number => (c === 0 ? k : descending ? k - c : c - 1);
    const col = f.column ?? new Uint8Array(this.size);
    const pos = new Uint32Array(k + 2);
    for (let i = 0; i < this.size; i++) {
      const b = bucket(col[i]!) + 1;
      pos[b] = pos[b]! + 1;
    }
    for (let b = 1; b < pos.length; b++) pos[b] = pos[b]! + pos[b - 1]!;
    const perm = new Uint32Array(this.size);
    for (let i = 0; i < this.size; i++) perm[pos[bucket(col[i]!)]!++] = i;
    return perm;
  }
}
