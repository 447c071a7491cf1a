import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '@eucp/core';
import { ESGF_DEFAULT_FACETS } from './esgf-index.js';
import { parseEsgfSearch } from './esgf-query.js';
import { parseSolrDate, parseTextQuery } from './esgf-text-query.js';

const NOW = Date.UTC(2024, 4, 2, 9, 0, 0);
const parse = (q: string) => parseEsgfSearch(new URLSearchParams(q), NOW);

describe('parseEsgfSearch', () => {
  it('ORs repeated and comma-separated values, ANDs names, negates with !=, and echoes Solr fq', () => {
    const r = parse('variable_id=tas&variable_id=pr,psl&experiment_id!=ssp585,ssp126&latest=TRUE&replica=false');
    assert.deepEqual(r.where, {
      op: 'and',
      args: [
        { op: 'eq', field: 'latest', values: ['true'] },
        { op: 'eq', field: 'replica', values: ['false'] },
        { op: 'eq', field: 'variable_id', values: ['tas', 'pr', 'psl'] },
        { op: 'not', arg: { op: 'eq', field: 'experiment_id', values: ['ssp585', 'ssp126'] } },
      ],
    });
    assert.deepEqual(r.echo['fq'], [
      'type:Dataset', 'latest:true', 'replica:false', 'variable_id:"tas" || variable_id:"pr" || variable_id:"psl"',
      '-experiment_id:"ssp585"', '-experiment_id:"ssp126"',
    ]);
    assert.equal(r.limit, 10);
    assert.equal(r.offset, 0);
  });

  it('merges facets and fields lists, expands facets=*, and keeps fields=* as all', () => {
    const r = parse('facets=variable_id,%20source_id&facets=variable_id&fields=id,title&fields=size');
    assert.deepEqual(r.facets, ['variable_id', 'source_id']);
    assert.deepEqual(r.fields, ['id', 'title', 'size']);
    assert.deepEqual(r.echo['facet.field'], ['variable_id', 'source_id']);
    assert.deepEqual(parse('facets=*').facets, ESGF_DEFAULT_FACETS);
    assert.equal(parse('fields=*').fields, null);
  });

  it('turns versions, dates and bbox into ranges', () => {
    const r = parse('min_version=v20190101&start=2015-01-01&to=NOW&bbox=[-10,35,30,70]');
    assert.deepEqual(r.where, { op: 'and', args: [
      { op: 'range', field: 'version_number', min: 20190101, max: undefined },
      { op: 'range', field: 'datetime_stop', min: Date.UTC(2015, 0, 1), max: undefined },
      { op: 'range', field: 'timestamp', min: undefined, max: NOW },
      { op: 'range', field: 'east_degrees', min: -10, max: undefined },
      { op: 'range', field: 'north_degrees', min: 35, max: undefined },
      { op: 'range', field: 'west_degrees', min: undefined, max: 30 },
      { op: 'range', field: 'south_degrees', min: undefined, max: 70 },
    ] });
  });

  it('reports the parameter and reason in the error', () => {
    assert.throws(() => parse('limit=abc'), (e) => isAppError(e) && e.code === 'SEARCH_INVALID_PARAMETER' && e.fields['parameter'] === 'limit');
  });
});

describe('parseSolrDate', () => {
  it('reads ISO dates (UTC) and NOW date math', () => {
    assert.equal(parseSolrDate('2005-01-16T12:00:00Z', NOW), Date.UTC(2005, 0, 16, 12));
    assert.equal(parseSolrDate('2005-01-16T12:00', NOW), Date.UTC(2005, 0, 16, 12));
    assert.equal(parseSolrDate('2005-01-16', NOW), Date.UTC(2005, 0, 16));
    assert.equal(parseSolrDate('NOW-1YEAR', NOW), Date.UTC(2023, 4, 2, 9));
    assert.equal(parseSolrDate('NOW+2DAYS-3HOURS', NOW), Date.UTC(2024, 4, 4, 6));
    assert.equal(parseSolrDate('yesterday', NOW), null);
    assert.equal(parseSolrDate('2005-13-45', NOW), null);
  });
});

describe('parseTextQuery (Lucene subset)', () => {
  const p = (q: string) => parseTextQuery(q, 'Dataset', NOW);
  it('parses terms, fields, prefixes, ranges and boolean operators with NOT > AND > OR', () => {
    assert.deepEqual(p('*:*'), { op: 'all' });
    assert.deepEqual(p('air temperature'), { op: 'and', args: [{ op: 'text', text: 'air' }, { op: 'text', text: 'temperature' }] });
    assert.deepEqual(p('"near surface"'), { op: 'text', text: 'near surface' });
    assert.deepEqual(p('id:CMIP6.CMIP.*'), { op: 'prefix', field: 'id', prefix: 'CMIP6.CMIP.' });
    assert.deepEqual(p('grid:"native atmosphere"'), { op: 'eq', field: 'grid', values: ['native atmosphere'] });
    assert.deepEqual(p('version:[20190101 TO *]'), { op: 'range', field: 'version_number', min: 20190101, max: undefined });
    assert.deepEqual(p('a OR b c'), { op: 'or', args: [{ op: 'text', text: 'a' }, { op: 'and', args: [{ op: 'text', text: 'b' }, { op: 'text', text: 'c' }] }] });
    assert.deepEqual(p('-variable_id:tas && (project:CMIP6 || NOT latest:true)'), {
      op: 'and',
      args: [
        { op: 'not', arg: { op: 'eq', field: 'variable_id', values: ['tas'] } },
        { op: 'or', args: [{ op: 'eq', field: 'project', values: ['CMIP6'] }, { op: 'not', arg: { op: 'eq', field: 'latest', values: ['true'] } }] },
      ],
    });
    assert.deepEqual(p('type:File'), { op: 'or', args: [] });
    assert.deepEqual(p('source_id:SYN\\:X'), { op: 'eq', field: 'source_id', values: ['SYN:X'] });
  });
  it('rejects what it does not support, naming query', () => {
    for (const q of ['(a', 'a)', 'x:[1 TO 2}', 'foo:bar', 'datetime_start:[yesterday TO *]', 'AND', 'project:']) {
      assert.throws(() => p(q), (e) => isAppError(e) && e.fields['parameter'] === 'query', q);
    }
  });
});
