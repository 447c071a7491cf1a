/**
 * Storage and construction of the facet index's fields (see facet-index.ts for the
 * layout and the contract). Pure: no I/O.
 */
import { AppError } from './errors.js';
import { bitsetAdd, emptyBitset, type Bitset } from './facet-bitset.js';

/** How a field is indexed; see facet-index.ts. */
export type FacetFieldKind = 'facet' | 'key' | 'number';

/** One indexed field. */
export interface FacetFieldSpec {
  readonly name: string;
  /**
   * `facet`: strings (a value or an array per record; numbers and booleans as their string
   * form, e.g. "true"), exact/prefix/negated matches and counts. `key`: the same without the
   * per-record column, for identifiers (exact and prefix matches, counts by postings only).
   * `number`: finite numbers, or ISO 8601 date strings stored as milliseconds since the
   * epoch (a string of digits is a number); ranges and ordering.
   */
  readonly kind: FacetFieldKind;
  /** `facet` only: its values' tokens answer free-text terms. */
  readonly text?: boolean;
  /** Reads the raw value from a record; default `record[name]`. */
  readonly get?: (record: Readonly<Record<string, unknown>>) => unknown;
}

/** A column of dictionary codes, as narrow as the cardinality allows. */
export type Codes = Uint8Array | Uint16Array | Uint32Array;

/** A built `facet` or `key` field. */
export interface StringField {
  readonly kind: 'facet' | 'key';
  readonly values: readonly string[];
  readonly bitsets: readonly (Bitset | null)[];
  readonly bitsetValues: number;
  /** CSR postings of the values without a bitset: ordinals of code c are postIds[postStart[c] … postStart[c+1]). */
  readonly postStart: Uint32Array;
  readonly postIds: Uint32Array;
  /** Single-valued facet: code + 1 per record, 0 = none (null for key fields and fields without values). */
  readonly column: Codes | null;
  /** Multi-valued facet: codes of record i are multiCodes[multiStart[i] … multiStart[i+1]). */
  readonly multiStart: Uint32Array | null;
  readonly multiCodes: Codes | null;
}

/** A built `number` field. */
export interface NumberField {
  readonly values: Float64Array;
  /** Code + 1 per record (codes in ascending value order), 0 = none; null when no record has a value. */
  readonly column: Codes | null;
}

/** A code column for codes up to `maxCode`. */
export function codesArray(maxCode: number, length: number): Codes {
  return maxCode <= 0xff ? new Uint8Array(length) : maxCode <= 0xffff ? new Uint16Array(length) : new Uint32Array(length);
}

/** First index whose element is not `less` than `x` (arr sorted by `less`). */
export function lowerBound<T>(arr: ArrayLike<T>, x: T, less: (a: T, b: T) => boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (less(arr[mid]!, x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Lower-cased runs of letters and digits: the tokens of free text. */
export function textTokens(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0);
}

function stringsOf(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return [String(v)];
  const out: string[] = [];
  for (const x of v) if (x !== undefined && x !== null && !out.includes(String(x))) out.push(String(x));
  return out;
}

function numberOf(v: unknown): number {
  const x = Array.isArray(v) ? v[0] : v;
  if (typeof x === 'number') return Number.isFinite(x) ? x : NaN;
  if (typeof x !== 'string' || x === '') return NaN;
  if (/^[+-]?\d+(\.\d+)?$/.test(x)) return Number(x);
  return Date.parse(x);
}

class Grow<A extends Uint32Array | Float64Array> {
  length = 0;
  constructor(public buf: A) {}
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new (this.buf.constructor as new (n: number) => A)(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
}

/** Accumulates a string field while records are added. */
class StringBuild {
  readonly dict = new Map<string, number>();
  readonly values: string[] = [];
  /** Single-valued so far: temp code + 1 per record, 0 = none. */
  single: Grow<Uint32Array> | null = new Grow(new Uint32Array(1024));
  /** Once a record has several values: CSR start per record and temp codes. */
  start: Grow<Uint32Array> | null = null;
  codes: Grow<Uint32Array> | null = null;

  private code(v: string): number {
    let c = this.dict.get(v);
    if (c === undefined) {
      c = this.values.length;
      this.dict.set(v, c);
      this.values.push(v);
    }
    return c;
  }

  /** Adds one record's raw value: a scalar (as its string form), an array of them, or nothing. */
  add(raw: unknown): void {
    if (Array.isArray(raw) && raw.length > 1) {
      const vals = stringsOf(raw);
      if (vals.length > 1) {
        if (this.single) this.toMulti();
        for (const v of vals) this.codes!.push(this.code(v));
        this.start!.push(this.codes!.length);
        return;
      }
      raw = vals;
    }
    const x: unknown = Array.isArray(raw) ? raw[0] : raw;
    const c = x === undefined || x === null ? -1 : this.code(typeof x === 'string' ? x : String(x));
    if (this.single) this.single.push(c + 1);
    else {
      if (c >= 0) this.codes!.push(c);
      this.start!.push(this.codes!.length);
    }
  }

  private toMulti(): void {
    const s = this.single!;
    this.start = new Grow(new Uint32Array(Math.max(1024, s.length * 2)));
    this.codes = new Grow(new Uint32Array(Math.max(1024, s.length)));
    this.start.push(0);
    for (let i = 0; i < s.length; i++) {
      const c = s.buf[i]!;
      if (c !== 0) this.codes.push(c - 1);
      this.start.push(this.codes.length);
    }
    this.single = null;
  }

  finish(kind: 'facet' | 'key', n: number): StringField {
    const k = this.values.length;
    // The default sort is UTF-16 code unit order (Solr's `facet.sort=lex` for ASCII), and fast.
    const values = this.values.slice().sort();
    const rank = new Uint32Array(k);
    for (let r = 0; r < k; r++) rank[this.dict.get(values[r]!)!] = r;
    const df = new Uint32Array(k);
    const s = this.single?.buf;
    const st = this.start?.buf;
    const cs = this.codes?.buf;
    const nCodes = this.codes?.length ?? 0;
    // Temp codes → lexical ranks, in place (single: rank + 1, 0 = none).
    if (s) {
      for (let i = 0; i < n; i++) {
        const t = s[i]!;
        if (t !== 0) {
          const c = rank[t - 1]!;
          s[i] = c + 1;
          df[c] = df[c]! + 1;
        }
      }
    } else {
      for (let j = 0; j < nCodes; j++) {
        const c = rank[cs![j]!]!;
        cs![j] = c;
        df[c] = df[c]! + 1;
      }
    }
    const bitsets: (Bitset | null)[] = new Array<Bitset | null>(k).fill(null);
    let bitsetValues = 0;
    const postStart = new Uint32Array(k + 1);
    for (let c = 0; c < k; c++) {
      const frequent = kind === 'facet' && df[c]! * 32 >= n;
      if (frequent) {
        bitsets[c] = emptyBitset(n);
        bitsetValues++;
      }
      postStart[c + 1] = postStart[c]! + (frequent ? 0 : df[c]!);
    }
    const postIds = new Uint32Array(postStart[k]!);
    const cursor = postStart.slice(0, k);
    const put = (rec: number, c: number): void => {
      const bs = bitsets[c];
      if (bs) bitsetAdd(bs, rec);
      else {
        postIds[cursor[c]!] = rec;
        cursor[c] = cursor[c]! + 1;
      }
    };
    if (s) {
      for (let i = 0; i < n; i++) if (s[i] !== 0) put(i, s[i]! - 1);
    } else {
      for (let i = 0; i < n; i++) for (let j = st![i]!; j < st![i + 1]!; j++) put(i, cs![j]!);
    }
    let column: Codes | null = null;
    let multiStart: Uint32Array | null = null;
    let multiCodes: Codes | null = null;
    if (kind === 'facet' && k > 0 && s) {
      column = codesArray(k, n);
      column.set(s.subarray(0, n));
    } else if (kind === 'facet' && k > 0) {
      multiStart = st!.slice(0, n + 1);
      multiCodes = codesArray(k, nCodes);
      multiCodes.set(cs!.subarray(0, nCodes));
    }
    return { kind, values, bitsets, bitsetValues, postStart, postIds, column, multiStart, multiCodes };
  }
}

function finishNumbers(raw: Float64Array): NumberField {
  const present = raw.filter((x) => !Number.isNaN(x)).sort();
  let m = 0;
  for (let i = 0; i < present.length; i++) if (i === 0 || present[i] !== present[m - 1]) present[m++] = present[i]!;
  const values = present.slice(0, m);
  if (m === 0) return { values, column: null };
  const column = codesArray(m, raw.length);
  const less = (a: number, b: number): boolean => a < b;
  for (let i = 0; i < raw.length; i++) column[i] = Number.isNaN(raw[i]!) ? 0 : lowerBound(values, raw[i]!, less) + 1;
  return { values, column };
}

/** The error for a bad field, kind or paging value. */
export function invalid(detail: string): AppError {
  return new AppError('INVALID_INPUT', detail);
}

/** The built fields of an index. */
export interface BuiltFields {
  readonly size: number;
  readonly strings: ReadonlyMap<string, StringField>;
  readonly numbers: ReadonlyMap<string, NumberField>;
  readonly textFields: readonly string[];
}

/** Accumulates records field by field (columnar) and finishes the dictionaries and postings. */
export class FieldsBuilder {
  private n = 0;
  private readonly strings = new Map<string, StringBuild>();
  private readonly numbers = new Map<string, Grow<Float64Array>>();

  constructor(private readonly spec: readonly FacetFieldSpec[]) {
    for (const f of spec) {
      if (this.strings.has(f.name) || this.numbers.has(f.name)) throw invalid(`Field "${f.name}" is declared twice.`);
      if (f.kind === 'number') this.numbers.set(f.name, new Grow(new Float64Array(1024)));
      else this.strings.set(f.name, new StringBuild());
    }
  }

  /** Adds one record; returns its ordinal. */
  add(record: Readonly<Record<string, unknown>>): number {
    for (const f of this.spec) {
      const raw = f.get ? f.get(record) : record[f.name];
      if (f.kind === 'number') this.numbers.get(f.name)!.push(numberOf(raw));
      else this.strings.get(f.name)!.add(raw);
    }
    return this.n++;
  }

  /** Dictionaries, postings and columns of the records added so far. */
  finish(): BuiltFields {
    const strings = new Map<string, StringField>();
    const numbers = new Map<string, NumberField>();
    for (const f of this.spec) {
      if (f.kind === 'number') numbers.set(f.name, finishNumbers(this.numbers.get(f.name)!.buf.slice(0, this.n)));
      else strings.set(f.name, this.strings.get(f.name)!.finish(f.kind, this.n));
    }
    const textFields = this.spec.filter((f) => f.text && f.kind === 'facet').map((f) => f.name);
    return { size: this.n, strings, numbers, textFields };
  }
}
