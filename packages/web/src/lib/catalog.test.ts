import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessStateOf, queryFromUrl, searchParams, urlOfQuery } from './catalog.js';
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

test('facets flatten from Solr pairs; catalog routes parse', () => {
  assert.deepEqual(flattenFacets({ project: ['CMIP6', 3, 'CORDEX', 2] }), { project: [['CMIP6', 3], ['CORDEX', 2]] });
  assert.deepEqual(matchRoute('/hub/catalog'), { page: 'catalog' });
  assert.deepEqual(matchRoute('/hub/catalog/requests'), { page: 'catalog-requests' });
  assert.deepEqual(matchRoute('/hub/catalog/dataset/CORDEX.a.b%7Cc'), { page: 'catalog-dataset', instanceId: 'CORDEX.a.b|c' });
  assert.deepEqual(matchRoute('/hub/catalog/dataset'), { page: 'not-found' });
});
