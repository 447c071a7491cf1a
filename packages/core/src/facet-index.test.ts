import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from './errors.js';
import {
  FacetIndex, FacetIndexBuilder, bitsetCount, bitsetFromIds, bitsetPage, bitsetToIds, fullBitset, notInPlace, popcount32,
  type FacetExpr, type FacetFieldSpec,
} from './facet-index.js';

const SPEC: FacetFieldSpec[] = [
  { name: 'project', kind: 'facet', text: true },
  { name: 'variable_id', kind: 'facet', text: true },
  { name: 'variable_long_name', kind: 'facet', text: true },
  { name: 'realm', kind: 'facet' },
  { name: 'latest', kind: 'facet' },
  { name: 'id', kind: 'key' },
  { name: 'version', kind: 'number' },
  { name: 'start', kind: 'number', get: (r) => r['datetime_start'] },
];

const DOCS = [
  { id: 'a.tas.v1', project: ['CMIP6'], variable_id: ['tas'], variable_long_name: ['Near-Surface Air Temperature'], realm: ['atmos'], latest: false, version: '20190101', datetime_start: '2005-01-16T12:00:00Z' },
  { id: 'a.tas.v2', project: ['CMIP6'], variable_id: ['tas'], variable_long_name: ['Near-Surface Air Temperature'], realm: ['atmos'], latest: true, version: '20190601', datetime_start: '2005-01-16T12:00:00Z' },
  { id: 'a.pr.v2', project: ['CMIP6'], variable_id: ['pr'], variable_long_name: ['Precipitation'], realm: ['atmos'], latest: true, version: '20190601', datetime_start: '2015-01-16T12:00:00Z' },
  { id: 'a.areacella', project: ['CMIP6'], variable_id: ['areacella'], variable_long_name: ['Grid-Cell Area for Atmospheric Grid Variables'], realm: ['atmos', 'land'], latest: true, version: '20190601' },
  { id: 'c.tas', project: ['CORDEX'], variable_long_name: ['Near-Surface Air Temperature'], latest: true, version: '20200101', datetime_start: '2004-01-16T12:00:00Z' },
];

const idx = FacetIndex.build(SPEC, DOCS);
const ids = (e: FacetExpr): number[] => [...bitsetToIds(idx.evaluate(e))];

describe('FacetIndex: matching', () => {
  it('matches exact values, OR within a field, AND across fields, and negation (records without the field included)', () => {
    assert.deepEqual(ids({ op: 'eq', field: 'variable_id', values: ['tas'] }), [0, 1]);
    assert.deepEqual(ids({ op: 'eq', field: 'variable_id', values: ['tas', 'pr', 'nope'] }), [0, 1, 2]);
    assert.deepEqual(ids({ op: 'and', args: [{ op: 'eq', field: 'variable_id', values: ['tas'] }, { op: 'eq', field: 'latest', values: ['true'] }] }), [1]);
    assert.deepEqual(ids({ op: 'not', arg: { op: 'eq', field: 'variable_id', values: ['tas'] } }), [2, 3, 4]);
    assert.deepEqual(ids({ op: 'and', args: [{ op: 'not', arg: { op: 'eq', field: 'project', values: ['CORDEX'] } }, { op: 'eq', field: 'latest', values: ['true'] }] }), [1, 2, 3]);
    assert.deepEqual(ids({ op: 'or', args: [{ op: 'eq', field: 'id', values: ['c.tas'] }, { op: 'eq', field: 'variable_id', values: ['pr'] }] }), [2, 4]);
    assert.deepEqual(ids({ op: 'and', args: [] }), [0, 1, 2, 3, 4]);
    assert.deepEqual(ids({ op: 'or', args: [] }), []);
  });

  it('indexes every value of a multi-valued field and reads them back', () => {
    assert.deepEqual(ids({ op: 'eq', field: 'realm', values: ['land'] }), [3]);
    assert.deepEqual(idx.valuesOf('realm', 3), ['atmos', 'land']);
    assert.deepEqual(idx.valuesOf('realm', 4), []);
    assert.deepEqual(idx.valuesOf('latest', 0), ['false']);
  });

  it('matches prefixes, numeric and date ranges (inclusive), and text tokens', () => {
    assert.deepEqual(ids({ op: 'prefix', field: 'id', prefix: 'a.tas' }), [0, 1]);
    assert.deepEqual(ids({ op: 'range', field: 'version', min: 20190601 }), [1, 2, 3, 4]);
    assert.deepEqual(ids({ op: 'range', field: 'version', min: 20190101, max: 20190101 }), [0]);
    assert.deepEqual(ids({ op: 'range', field: 'version', min: 20300101 }), []);
    assert.deepEqual(ids({ op: 'range', field: 'start', max: Date.parse('2005-01-16T12:00:00Z') }), [0, 1, 4]);
    assert.deepEqual(ids({ op: 'text', text: 'air TEMPERATURE' }), [0, 1, 4]);
    assert.deepEqual(ids({ op: 'text', text: 'near-surface cordex' }), [4]);
    assert.deepEqual(ids({ op: 'text', text: 'precip*' }), [2]);
    assert.deepEqual(ids({ op: 'text', text: 'temp' }), []);
    assert.deepEqual(idx.numberOf('start', 3), undefined);
    assert.equal(idx.numberOf('version', 4), 20200101);
  });

  it('computes caller masks per distinct value', () => {
    const mask = idx.matchWhere('id', (v) => /^a\.tas/.test(v));
    assert.deepEqual([...bitsetToIds(mask)], [0, 1]);
  });

  it('rejects unknown fields and fields of the wrong kind', () => {
    for (const e of [{ op: 'eq', field: 'nope', values: ['x'] }, { op: 'range', field: 'variable_id', min: 1 }] as FacetExpr[]) {
      assert.throws(() => idx.evaluate(e), (err) => isAppError(err) && err.code === 'INVALID_INPUT');
    }
    assert.throws(() => idx.search({ limit: -1 }), (err) => isAppError(err) && /limit/.test(err.message));
  });
});

describe('FacetIndex: search', () => {
  it('counts facets flat and lexically sorted, mincount 1, with either strategy', () => {
    for (const countStrategy of ['auto', 'bitsets', 'scan'] as const) {
      const r = idx.search({ where: { op: 'eq', field: 'project', values: ['CMIP6'] }, facets: ['variable_id', 'realm', 'latest', 'id'], countStrategy });
      assert.equal(r.numFound, 4);
      assert.deepEqual(r.facetCounts, {
        variable_id: ['areacella', 1, 'pr', 1, 'tas', 2],
        realm: ['atmos', 4, 'land', 1],
        latest: ['false', 1, 'true', 3],
        id: ['a.areacella', 1, 'a.pr.v2', 1, 'a.tas.v1', 1, 'a.tas.v2', 1],
      });
    }
  });

  it('pages in ordinal order, or by a number field (missing last, ties by ordinal), under a mask', () => {
    assert.deepEqual(idx.search({ offset: 1, limit: 2 }).ids, [1, 2]);
    assert.deepEqual(idx.search({ offset: 4, limit: 10 }).ids, [4]);
    assert.deepEqual(idx.search({ limit: 0 }).ids, []);
    assert.deepEqual(idx.search({ sort: { field: 'version', descending: true }, limit: 5 }).ids, [4, 1, 2, 3, 0]);
    assert.deepEqual(idx.search({ sort: { field: 'start' }, limit: 5 }).ids, [4, 0, 1, 2, 3]);
    const mask = bitsetFromIds(idx.size, [0, 2, 4]);
    const r = idx.search({ mask, facets: ['project'], limit: 10 });
    assert.equal(r.numFound, 3);
    assert.deepEqual(r.ids, [0, 2, 4]);
    assert.deepEqual(r.facetCounts, { project: ['CMIP6', 2, 'CORDEX', 1] });
  });

  it('builds incrementally with the builder and handles an empty index', () => {
    const b = new FacetIndexBuilder(SPEC);
    assert.equal(b.add(DOCS[0]!), 0);
    assert.equal(b.build().search({ facets: ['variable_id'] }).numFound, 1);
    const empty = FacetIndex.build(SPEC, []);
    assert.deepEqual(empty.search({ facets: ['project'], where: { op: 'text', text: 'x' } }), { numFound: 0, ids: [], facetCounts: { project: [] } });
  });
});

describe('bitsets', () => {
  it('count, negate within n, list and page', () => {
    assert.equal(popcount32(0xffffffff), 32);
    assert.equal(popcount32(0x80000001), 2);
    const all = fullBitset(70);
    assert.equal(bitsetCount(all), 70);
    assert.equal(bitsetCount(notInPlace(bitsetFromIds(70, [0, 69]), 70)), 68);
    const b = bitsetFromIds(100, [3, 31, 32, 63, 64, 99]);
    assert.deepEqual([...bitsetToIds(b)], [3, 31, 32, 63, 64, 99]);
    assert.deepEqual(bitsetPage(b, 2, 3), [32, 63, 64]);
    assert.deepEqual(bitsetPage(b, 6, 3), []);
  });
});

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('FacetIndex against a naive evaluator (random records and queries)', () => {
  const rand = rng(42);
  const skewed = (k: number): number => Math.floor(k * rand() ** 3); // frequent low codes (bitsets) and rare high ones (lists)
  const fields = { a: 4, b: 40, c: 400 } as const;
  const n = 6000;
  const records = Array.from({ length: n }, () => {
    const r: Record<string, unknown> = {};
    for (const [f, k] of Object.entries(fields)) if (rand() < 0.95) r[f] = `${f}${skewed(k)}`;
    r['m'] = Array.from(new Set([`m${skewed(30)}`, ...(rand() < 0.3 ? [`m${skewed(30)}`] : [])]));
    return r;
  });
  const spec: FacetFieldSpec[] = [...Object.keys(fields), 'm'].map((name) => ({ name, kind: 'facet' }));
  const index = FacetIndex.build(spec, records);
  const has = (r: Record<string, unknown>, f: string, vals: string[]): boolean => {
    const v = r[f];
    return (Array.isArray(v) ? v : v === undefined ? [] : [v]).some((x) => vals.includes(String(x)));
  };

  it('agrees on numFound, pages and counts for 200 random queries', () => {
    for (let q = 0; q < 200; q++) {
      const clauses: { f: string; vals: string[]; neg: boolean }[] = [];
      for (const f of ['a', 'b', 'c', 'm']) {
        if (rand() < 0.5) continue;
        const k = f === 'm' ? 30 : fields[f as keyof typeof fields];
        clauses.push({ f, vals: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => `${f}${skewed(k)}`), neg: rand() < 0.2 });
      }
      const where: FacetExpr = { op: 'and', args: clauses.map((c) => (c.neg ? { op: 'not', arg: { op: 'eq', field: c.f, values: c.vals } } : { op: 'eq', field: c.f, values: c.vals }) as FacetExpr) };
      const expected = records.map((r, i) => [r, i] as const).filter(([r]) => clauses.every((c) => has(r, c.f, c.vals) !== c.neg));
      const offset = Math.floor(rand() * 20);
      for (const countStrategy of ['bitsets', 'scan', 'auto'] as const) {
        const res = index.search({ where, facets: ['a', 'b', 'c', 'm'], offset, limit: 7, countStrategy });
        assert.equal(res.numFound, expected.length);
        assert.deepEqual(res.ids, expected.slice(offset, offset + 7).map(([, i]) => i));
        for (const f of ['a', 'b', 'c', 'm']) {
          const counts = new Map<string, number>();
          for (const [r] of expected) for (const v of [r[f]].flat()) if (v !== undefined) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
          const flat = [...counts.keys()].sort().flatMap((v) => [v, counts.get(v)!]);
          assert.deepEqual(res.facetCounts[f], flat, `${countStrategy} ${f}`);
        }
      }
    }
  });

  it('stays compact: bitsets only for frequent values, narrow columns', () => {
    const mem = index.memory();
    assert.ok(mem.typedArrayBytes / n < 4 * 4 * 2, `typed arrays ${mem.typedArrayBytes / n} bytes/record`);
  });
});
