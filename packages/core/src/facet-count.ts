/**
 * Per-field posting and counting primitives of the facet index (facet-index.ts): OR-ing a
 * value's postings into a bitset, and the two facet-counting strategies with the cost model
 * that chooses between them. Pure: no I/O.
 */
import { andCount, bitsetAdd, bitsetHas, bitsetWords, orInto, type Bitset } from './facet-bitset.js';
import type { StringField } from './facet-build.js';

/** Adds the records of value `c` of `f` to `out`. */
export function orPostings(f: StringField, c: number, out: Bitset): void {
  const bs = f.bitsets[c];
  if (bs) {
    orInto(out, bs);
    return;
  }
  for (let j = f.postStart[c]!, end = f.postStart[c + 1]!; j < end; j++) bitsetAdd(out, f.postIds[j]!);
}

/**
 * Cost model of the two counting strategies, in word-or-ordinal operations: popcounts
 * touch every word once per bitset value plus every short posting; the scan touches each
 * matching ordinal (about twice: column read + increment) plus, once per search, the
 * words to list the matches. Key fields have no column, so they always use postings.
 */
export function chooseScan(f: StringField, size: number, numFound: number, haveIds: boolean, strategy: 'auto' | 'bitsets' | 'scan'): boolean {
  const canScan = f.column !== null || f.multiStart !== null;
  if (strategy !== 'auto' || !canScan) return canScan && strategy === 'scan';
  const words = bitsetWords(size);
  const perRecord = f.multiStart ? Math.max(1, f.multiCodes!.length / Math.max(1, size)) : 1;
  const costPostings = f.bitsetValues * words + f.postIds.length;
  const costScan = 2 * numFound * perRecord + (haveIds ? 0 : words + numFound);
  return costScan < costPostings;
}

/** Counts per value by popcount of the match with each bitset, and by a pass over each posting list. */
export function countByPostings(f: StringField, match: Bitset): Uint32Array {
  const counts = new Uint32Array(f.values.length);
  for (let c = 0; c < f.values.length; c++) {
    const bs = f.bitsets[c];
    if (bs) {
      counts[c] = andCount(match, bs);
      continue;
    }
    let k = 0;
    for (let j = f.postStart[c]!, end = f.postStart[c + 1]!; j < end; j++) if (bitsetHas(match, f.postIds[j]!)) k++;
    counts[c] = k;
  }
  return counts;
}

/** Counts per value by a pass over the matching ordinals through the column. */
export function countByScan(f: StringField, ids: Uint32Array): Uint32Array {
  const k = f.values.length;
  if (f.column) {
    const shifted = new Uint32Array(k + 1);
    const col = f.column;
    for (let j = 0; j < ids.length; j++) {
      const c = col[ids[j]!]!;
      shifted[c] = shifted[c]! + 1;
    }
    return shifted.subarray(1);
  }
  const counts = new Uint32Array(k);
  const st = f.multiStart!;
  const codes = f.multiCodes!;
  for (let j = 0; j < ids.length; j++) {
    const i = ids[j]!;
    for (let m = st[i]!; m < st[i + 1]!; m++) counts[codes[m]!] = counts[codes[m]!]! + 1;
  }
  return counts;
}
