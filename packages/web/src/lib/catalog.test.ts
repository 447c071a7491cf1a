import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessStateOf, notebookOf, queryFromUrl, sandboxPaths, searchParams, urlOfQuery, xarrayCode } from './catalog.js';
import { flattenFacets } from '../api/catalog.js';
import { matchRoute } from './routes.js';

test('the search page state round-trips through its URL and becomes ESGF parameters', () => {
  const q = queryFromUrl('?q=tas&project=CORDEX&domain=EUR-11&domain=AFR-44&page=3');
  assert.deepEqual(q, { text: 'tas', selected: { project: ['CORDEX'], domain: ['EUR-11', 'AFR-44'] }, page: 2 });
  assert.equal(urlOfQuery(q), '/hub/catalog?q=tas&project=CORDEX&domain=EUR-11&domain=AFR-44&page=3');
  const p = searchParams(q);
  assert.equal(p.get('query'), 'tas');
  assert.equal(p.get('type'), 'Dataset');
  assert.equal(p.get('offset'), '20');
  assert.deepEqual(p.getAll('domain'), ['EUR-11', 'AFR-44']);
  assert.match(p.get('facets')!, /^project,activity_id,/);
  assert.equal(urlOfQuery(queryFromUrl('')), '/hub/catalog');
});

test('access badges: Permit = readable, a pending membership = pending, else request', () => {
  const g = (membership: 'none' | 'pending' | 'approved') => ({ group: 'G', role: 'user', automatic_approval: false, licence_id: null, membership });
  assert.equal(accessStateOf({ resource: 'x', decision: 'Permit', grantable_by: [] }), 'readable');
  assert.equal(accessStateOf({ resource: 'x', decision: 'Deny', grantable_by: [g('pending')] }), 'pending');
  assert.equal(accessStateOf({ resource: 'x', decision: 'Deny', grantable_by: [g('none')] }), 'request');
  assert.equal(accessStateOf(null), 'unknown');
});

test('sandbox paths come from HTTPServer URLs below /data/, replicas skipped', () => {
  const files = [
    { url: ['https://n/thredds/fileServer/esg_dataroot/CORDEX/b.nc|application/netcdf|HTTPServer', 'https://n/thredds/dodsC/x|a|OPENDAP'] },
    { url: ['https://n/thredds/fileServer/root/CORDEX/a%20b.nc|application/netcdf|HTTPServer'] },
    { url: ['https://m/thredds/fileServer/root/CORDEX/c.nc|application/netcdf|HTTPServer'], replica: true },
  ];
  assert.deepEqual(sandboxPaths(files), ['/data/CORDEX/a b.nc', '/data/CORDEX/b.nc']);
  assert.match(xarrayCode('id', 'tas', ['/data/x.nc']), /xr\.open_dataset\("\/data\/x\.nc"\)/);
  assert.match(xarrayCode('id', 'tas', ['/data/x.nc', '/data/y.nc']), /open_mfdataset\(paths/);
  const nb = notebookOf('t', 'a\nb') as { cells: Array<{ source: string[] }> };
  assert.deepEqual(nb.cells[1]!.source, ['a\n', 'b']);
});

test('facets flatten from Solr pairs; catalog routes parse', () => {
  assert.deepEqual(flattenFacets({ project: ['CMIP6', 3, 'CORDEX', 2] }), { project: [['CMIP6', 3], ['CORDEX', 2]] });
  assert.deepEqual(matchRoute('/hub/catalog'), { page: 'catalog' });
  assert.deepEqual(matchRoute('/hub/catalog/requests'), { page: 'catalog-requests' });
  assert.deepEqual(matchRoute('/hub/catalog/dataset/CORDEX.a.b%7Cc'), { page: 'catalog-dataset', instanceId: 'CORDEX.a.b|c' });
  assert.deepEqual(matchRoute('/hub/catalog/dataset'), { page: 'not-found' });
});
