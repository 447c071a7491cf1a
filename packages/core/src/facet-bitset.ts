/**
 * Sets of record ordinals (0 … n−1) as plain `Uint32Array` bitsets: bit `i & 31` of word
 * `i >>> 5`. A bitset for n records has `ceil(n / 32)` words and every bit ≥ n is 0 (the
 * functions here keep it so), which makes counting and negation exact. The facet index
 * (facet-index.ts) uses them for posting lists of frequent values, for the match set of a
 * query and for caller masks (which records a caller may see).
 */

/** A set of record ordinals; see the module comment for the layout. */
export type Bitset = Uint32Array;

/** Words needed for `n` records. */
export function bitsetWords(n: number): number {
  return (n + 31) >>> 5;
}

/** The empty set over `n` records. */
export function emptyBitset(n: number): Bitset {
  return new Uint32Array(bitsetWords(n));
}

/** All of `0 … n−1`. */
export function fullBitset(n: number): Bitset {
  const b = new Uint32Array(bitsetWords(n)).fill(0xffffffff);
  clearTail(b, n);
  return b;
}

function clearTail(b: Bitset, n: number): void {
  const r = n & 31;
  if (r !== 0 && b.length > 0) b[b.length - 1] = b[b.length - 1]! & ((1 << r) - 1);
}

/** Sets every ordinal of `0 … n−1`, in place; returns `b`. */
export function fillAll(b: Bitset, n: number): Bitset {
  b.fill(0xffffffff);
  clearTail(b, n);
  return b;
}

/** Whether ordinal `i` is in the set. */
export function bitsetHas(b: Bitset, i: number): boolean {
  return (b[i >>> 5]! & (1 << (i & 31))) !== 0;
}

/** Adds ordinal `i` (must be < n). */
export function bitsetAdd(b: Bitset, i: number): void {
  const w = i >>> 5;
  b[w] = b[w]! | (1 << (i & 31));
}

/** The set of the given ordinals (each < n). */
export function bitsetFromIds(n: number, ids: Iterable<number>): Bitset {
  const b = emptyBitset(n);
  for (const i of ids) bitsetAdd(b, i);
  return b;
}

/** `target ∩= other`, in place; returns `target`. Both must cover the same n. */
export function andInto(target: Bitset, other: Bitset): Bitset {
  for (let w = 0; w < target.length; w++) target[w] = target[w]! & other[w]!;
  return target;
}

/** `target ∪= other`, in place; returns `target`. */
export function orInto(target: Bitset, other: Bitset): Bitset {
  for (let w = 0; w < target.length; w++) target[w] = target[w]! | other[w]!;
  return target;
}

/** `target −= other`, in place; returns `target`. */
export function andNotInto(target: Bitset, other: Bitset): Bitset {
  for (let w = 0; w < target.length; w++) target[w] = target[w]! & ~other[w]!;
  return target;
}

/** The complement within `0 … n−1`, in place; returns `b`. */
export function notInPlace(b: Bitset, n: number): Bitset {
  for (let w = 0; w < b.length; w++) b[w] = ~b[w]!;
  clearTail(b, n);
  return b;
}

/** Number of set bits of a 32-bit word. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Number of ordinals in the set. */
export function bitsetCount(b: Bitset): number {
  let n = 0;
  for (let w = 0; w < b.length; w++) {
    const x = b[w]!;
    if (x !== 0) n += popcount32(x);
  }
  return n;
}

/** `|a ∩ b|` without materialising the intersection. */
export function andCount(a: Bitset, b: Bitset): number {
  let n = 0;
  for (let w = 0; w < a.length; w++) {
    const x = a[w]! & b[w]!;
    if (x !== 0) n += popcount32(x);
  }
  return n;
}

/** The ordinals of the set in ascending order; `count` (if known) sizes the result exactly. */
export function bitsetToIds(b: Bitset, count = bitsetCount(b)): Uint32Array {
  const out = new Uint32Array(count);
  bitsetToIdsInto(b, out);
  return out;
}

/** Writes the ordinals of the set in ascending order into `out` (large enough); returns how many. */
export function bitsetToIdsInto(b: Bitset, out: Uint32Array): number {
  let k = 0;
  for (let w = 0; w < b.length; w++) {
    let x = b[w]!;
    const base = w << 5;
    while (x !== 0) {
      const t = x & -x;
      out[k++] = base + 31 - Math.clz32(t);
      x ^= t;
    }
  }
  return k;
}

/**
 * Up to `limit` ordinals of the set in ascending order, after skipping the first `offset`
 * (whole words are skipped by popcount, so deep pages cost one pass over the words).
 */
export function bitsetPage(b: Bitset, offset: number, limit: number): number[] {
  const out: number[] = [];
  if (limit <= 0) return out;
  let skip = offset;
  for (let w = 0; w < b.length; w++) {
    let x = b[w]!;
    if (x === 0) continue;
    if (skip > 0) {
      const c = popcount32(x);
      if (skip >= c) {
        skip -= c;
        continue;
      }
    }
    const base = w << 5;
    while (x !== 0) {
      const t = x & -x;
      x ^= t;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(base + 31 - Math.clz32(t));
      if (out.length === limit) return out;
    }
  }
  return out;
}
