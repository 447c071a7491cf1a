import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeDataView, isSafeRelativePath, type DataTree } from './data-view.js';

const C = 'cordex/output/EUR-44/SYNRCM/SYNLAB-SYN-ESM1-0-LR/historical/r1i1p1/SYNRCM-RCM1/v1/mon';
const tree: DataTree = {
  datasets: [
    { path: 'CMIP6/CMIP/SYNLAB/M/historical/r1i1p1f1/Amon/tas/gn/v20190601', id: 'CMIP6.tas' },
    { path: 'CMIP6/CMIP/SYNLAB/M/historical/r1i1p1f1/Amon/pr/gn/v20190601', id: 'CMIP6.pr' },
    { path: `${C}/tas/v20200101`, id: 'cordex.tas' },
    { path: `${C}/pr/v20200101`, id: 'cordex.pr' },
  ],
  topLevel: ['CMIP6', 'cordex', 'catalog', 'expected.json', 'eucp-syn-cv.json'],
  publicEntries: ['eucp-syn-cv.json', 'missing.json'],
};
const only = (...ids: string[]) => (id: string) => ids.includes(id);

describe('computeDataView', () => {
  it('binds whole directories whose every dataset is readable, recursing only where needed', () => {
    const v = computeDataView(tree, only('CMIP6.tas', 'CMIP6.pr', 'cordex.tas'));
    assert.deepEqual(v.paths, ['CMIP6', `${C}/tas`, 'eucp-syn-cv.json']);
    assert.equal(v.readable, 3);
    assert.equal(v.total, 4);
  });

  it('leaves out directories without a readable dataset, and non-public metadata', () => {
    const v = computeDataView(tree, only('CMIP6.tas', 'CMIP6.pr'));
    assert.deepEqual(v.paths, ['CMIP6', 'eucp-syn-cv.json']);
  });

  it('shows only public entries to someone who may read nothing', () => {
    assert.deepEqual(computeDataView(tree, () => false).paths, ['eucp-syn-cv.json']);
  });

  it('binds each top-level tree whole when everything is readable but hides metadata', () => {
    assert.deepEqual(computeDataView(tree, () => true).paths, ['CMIP6', 'cordex', 'eucp-syn-cv.json']);
  });

  it('answers null (the whole data directory) when nothing is hidden', () => {
    const plain: DataTree = { ...tree, topLevel: ['CMIP6', 'cordex', 'eucp-syn-cv.json'] };
    assert.equal(computeDataView(plain, () => true).paths, null);
    assert.deepEqual(computeDataView(plain, only('CMIP6.tas', 'CMIP6.pr')).paths, ['CMIP6', 'eucp-syn-cv.json']);
  });

  it('never binds whole a directory holding an unknown entry, nor the entry itself', () => {
    const t: DataTree = { ...tree, topLevel: ['CMIP6', 'cordex'], unknown: [`${C}/tas/bad/x.nc`] };
    const v = computeDataView(t, () => true);
    assert.deepEqual(v.paths, ['CMIP6', `${C}/pr`, `${C}/tas/v20200101`]);
    assert.equal(v.readable, 4);
  });

  it('ignores datasets whose top-level directory is gone and unsafe paths', () => {
    const t: DataTree = {
      datasets: [{ path: 'gone/x/v1', id: 'a' }, { path: '../etc/v1', id: 'b' }, { path: 'CMIP6/x/v1', id: 'c' }],
      topLevel: ['CMIP6'],
    };
    assert.equal(computeDataView(t, () => true).paths, null);
    assert.deepEqual(computeDataView({ ...t, topLevel: ['CMIP6', 'other'] }, () => true).paths, ['CMIP6']);
  });

  it('isSafeRelativePath rejects absolute, dot and empty segments', () => {
    for (const p of ['/a', 'a/../b', '..', '.', 'a//b', '', 'a/./b', 'a\\b', 'a\0']) assert.equal(isSafeRelativePath(p), false, p);
    for (const p of ['a', 'a/b', 'CMIP6/x.y/v1', 'a..b']) assert.equal(isSafeRelativePath(p), true, p);
  });
});
