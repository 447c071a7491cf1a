import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { generateDemoData, evaluateSearch } from '@eucp/hub/demo-data/index';
import { installHttpBasics } from '@eucp/hub/http/basics';
import { registerIdentityRoutes } from '@eucp/hub/http/identity-routes';
import { createTestContext, userWithToken, type TestContext } from '@eucp/testing/hub-factory';
import { JsonlEsgfIndexProvider, parseJsonl, type EsgDoc } from './esgf-index.js';
import { registerEsgfSearch, type EsgfVisibilityQuery } from './esgf-routes.js';
import type { EsgSearchResponse } from './esgf-response.js';

interface SearchOracle { query: string; numFound: number; facet_fields?: Record<string, (string | number)[]> }

let dir: string;
let ctx: TestContext;
let app: FastifyInstance;
let oracles: SearchOracle[];
let docs: { datasets: EsgDoc[]; files: EsgDoc[] };
const filterCalls: { caller: string | null; type: string; purpose: string }[] = [];
let hideCordex = false;

async function search(query: string, headers: Record<string, string> = {}): Promise<EsgSearchResponse> {
  const res = await app.inject({ method: 'GET', url: `/esg-search/search?${query}`, headers });
  assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  return res.json<EsgSearchResponse>();
}

async function rejected(query: string): Promise<{ parameter: string; reason: string; message: string }> {
  const res = await app.inject({ method: 'GET', url: `/esg-search/search?${query}` });
  assert.equal(res.statusCode, 400, `${query} → ${res.statusCode} ${res.body}`);
  const body = res.json<{ code: string; parameter: string; reason: string; message: string; status: number }>();
  assert.equal(body.code, 'SEARCH_INVALID_PARAMETER');
  assert.equal(body.status, 400);
  assert.ok(body.message.includes(body.parameter) && body.message.includes(body.reason), body.message);
  return body;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'eucp-esgf-'));
  await generateDemoData({ profile: 'tiny', outDir: dir });
  oracles = (JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8')) as { search: SearchOracle[] }).search;
  docs = {
    datasets: parseJsonl(await readFile(path.join(dir, 'esgf/datasets.jsonl'), 'utf8'), 'datasets'),
    files: parseJsonl(await readFile(path.join(dir, 'esgf/files.jsonl'), 'utf8'), 'files'),
  };
  ctx = await createTestContext();
  app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
  await installHttpBasics(app, ctx);
  await registerIdentityRoutes(app, ctx);
  await registerEsgfSearch(app, ctx, new JsonlEsgfIndexProvider(dir), {
    filter: (q: EsgfVisibilityQuery) => {
      filterCalls.push({ caller: q.caller?.user.name ?? null, type: q.type, purpose: q.purpose });
      return hideCordex ? q.corpus.index.matchWhere('project', (p) => p !== 'CORDEX') : undefined;
    },
  });
  await app.ready();
});

after(async () => {
  await app?.close();
  await ctx?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /esg-search/search: the EUCP-SYN oracles', () => {
  it('answers every search oracle of expected.json exactly (numFound and facet_fields), with and without format', async () => {
    assert.ok(oracles.length >= 11);
    for (const o of oracles) {
      for (const q of [o.query, `${o.query}&format=application%2Fsolr%2Bjson`]) {
        const r = await search(q);
        assert.equal(r.response.numFound, o.numFound, q);
        if (o.facet_fields) assert.deepEqual(r.facet_counts.facet_fields, o.facet_fields, q);
      }
    }
  });

  it('lists a dataset\'s files with type=File&dataset_id and echoes Solr params like ESGF', async () => {
    const id = 'CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601|data1.eucp-syn.test';
    const r = await search(`type=File&dataset_id=${encodeURIComponent(id)}&limit=1&format=application/solr%2Bjson&distrib=false`);
    assert.equal(r.response.numFound, 2);
    assert.equal(r.response.docs.length, 1);
    assert.equal(r.response.docs[0]!['type'], 'File');
    assert.equal(r.response.docs[0]!['dataset_id'], id);
    assert.equal(r.response.docs[0]!['score'], 1);
    assert.equal(r.responseHeader.status, 0);
    assert.ok(Number.isInteger(r.responseHeader.QTime));
    assert.deepEqual(r.responseHeader.params, {
      q: '*:*', fq: ['type:File', `dataset_id:"${id}"`], rows: '1', start: '0', facet: 'true', 'facet.sort': 'lex',
      'facet.mincount': '1', 'facet.limit': '-1', wt: 'json', fl: '*,score',
    });
    assert.deepEqual(Object.keys(r.facet_counts), ['facet_queries', 'facet_fields', 'facet_ranges', 'facet_intervals', 'facet_heatmaps']);
  });
});

describe('GET /esg-search/search: semantics (against the generator\'s reference evaluator)', () => {
  const queries = [
    'variable_id=tas&variable_id=pr&latest=true&facets=variable_id,source_id',
    'variable_id=tas,pr&latest=true&facets=variable_id,source_id',
    'experiment_id!=ssp585&replica=false&facets=experiment_id,institution_id',
    'experiment_id!=ssp585&experiment_id!=historical&facets=experiment_id,project',
    'institution_id=SYNLAB&institution_id=MOCKIT&table_id!=fx&facets=table_id,member_id,data_node',
    'project=CORDEX&variable=pr&facets=domain,rcm_name,experiment,variable',
    'type=File&source_id=MOCK-GCM3&replica=true&facets=variable_id,data_node',
    'type=File&retracted=false&facets=checksum_type,experiment_id',
    'data_node=data2.eucp-syn.test&facets=replica,latest',
  ];
  it('matches OR within a facet, AND across facets, != negation, booleans and facet counts', async () => {
    for (const q of queries) {
      const want = evaluateSearch(docs, q);
      const r = await search(q);
      assert.equal(r.response.numFound, want.numFound, q);
      assert.deepEqual(r.facet_counts.facet_fields, want.facet_fields, q);
    }
  });

  it('matches versions, version ranges, time overlap, timestamps and bbox', async () => {
    const count = async (q: string): Promise<number> => (await search(q)).response.numFound;
    const n = (pred: (d: EsgDoc) => boolean): number => docs.datasets.filter(pred).length;
    assert.equal(await count('version=20200315'), 1);
    assert.equal(await count('version=v20200315&retracted=true'), 1);
    assert.equal(await count('min_version=20200101'), n((d) => Number(d['version']) >= 20200101));
    assert.equal(await count('min_version=20190601&max_version=20191115'), n((d) => Number(d['version']) >= 20190601 && Number(d['version']) <= 20191115));
    const start = '2015-06-01T00:00:00Z';
    assert.equal(await count(`start=${start}`), n((d) => typeof d['datetime_stop'] === 'string' && d['datetime_stop'] >= start));
    assert.equal(await count(`end=2004-12-31T00:00:00Z`), n((d) => typeof d['datetime_start'] === 'string' && d['datetime_start'] <= '2004-12-31T00:00:00Z'));
    assert.equal(await count('from=2020-01-01T00:00:00Z'), n((d) => String(d['_timestamp']) >= '2020-01-01T00:00:00Z'));
    assert.equal(await count('from=2019-06-01T00:00:00Z&to=2019-12-31T00:00:00Z'), n((d) => String(d['_timestamp']) >= '2019-06-01' && String(d['_timestamp']) <= '2019-12-31'));
    assert.equal(await count('bbox=[0,40,20,60]'), docs.datasets.length, 'every data set covers central Europe');
    assert.equal(await count('bbox=[100,-80,120,-70]'), n((d) => d['project']?.toString() === 'CMIP6'), 'CORDEX EUR-44 does not reach Antarctica');
  });

  it('answers free-text and Lucene-style queries', async () => {
    const ids = async (q: string): Promise<string[]> => (await search(`${q}&limit=100&fields=instance_id`)).response.docs.map((d) => String(d['instance_id']));
    const tas = await ids('query=air%20temperature&replica=false');
    assert.ok(tas.length > 0 && tas.every((i) => /\.(tas|tasmax)\./.test(i)), tas.join());
    assert.deepEqual(await ids('query=Temperature&replica=false'), tas);
    assert.deepEqual(await ids('query=*'), await ids('query=*:*'));
    const mock = await ids('query=id:CMIP6.CMIP.MOCKIT*');
    assert.ok(mock.length > 0 && mock.every((i) => i.startsWith('CMIP6.CMIP.MOCKIT')));
    const orq = await search('query=variable_id:tas%20OR%20variable_id:pr&replica=false&latest=true&facets=variable_id&limit=0');
    assert.deepEqual(orq.facet_counts.facet_fields['variable_id'], evaluateSearch(docs, 'variable_id=tas,pr&replica=false&latest=true&facets=variable_id').facet_fields['variable_id']);
    const notq = await search('query=project:CMIP6%20AND%20NOT%20(variable_id:tas%20OR%20-latest:true)&limit=0');
    assert.equal(notq.response.numFound, docs.datasets.filter((d) => String(d['project']) === 'CMIP6' && String(d['variable_id']) !== 'tas' && d['latest'] === true).length);
    assert.equal((await search('query=datetime_start:[2015-01-01T00:00:00Z%20TO%20*]&limit=0')).response.numFound,
      docs.datasets.filter((d) => typeof d['datetime_start'] === 'string' && d['datetime_start'] >= '2015-01-01').length);
  });
});

describe('GET /esg-search/search: paging, order, projection', () => {
  it('pages in the index order (the order of the published docs); limit=0 gives counts only', async () => {
    const all = (await search('limit=100&fields=id')).response.docs.map((d) => d['id']);
    assert.deepEqual(all, docs.datasets.map((d) => d['id']));
    const pages: unknown[] = [];
    for (let offset = 0; offset < all.length; offset += 7) pages.push(...(await search(`limit=7&offset=${offset}&fields=id`)).response.docs.map((d) => d['id']));
    assert.deepEqual(pages, all);
    const zero = await search('limit=0&facets=project');
    assert.equal(zero.response.docs.length, 0);
    assert.equal(zero.response.numFound, all.length);
    assert.equal((await search(`offset=${all.length + 5}`)).response.docs.length, 0);
    assert.equal((await search('')).response.docs.length, 10, 'default limit 10');
  });

  it('sort=true orders by timestamp, newest first', async () => {
    const r = await search('sort=true&limit=100&fields=_timestamp');
    const stamps = r.response.docs.map((d) => String(d['_timestamp']));
    assert.deepEqual(stamps, [...stamps].sort().reverse());
    assert.equal(r.responseHeader.params['sort'], 'timestamp desc');
  });

  it('projects fields (lists, * and globs), always with score', async () => {
    const r = await search('fields=id,variable_id,no_such_field&limit=1');
    assert.deepEqual(Object.keys(r.response.docs[0]!).sort(), ['id', 'score', 'variable_id']);
    assert.equal(r.responseHeader.params['fl'], 'id,variable_id,no_such_field,score');
    const g = await search('fields=variable*&limit=1');
    assert.deepEqual(Object.keys(g.response.docs[0]!).sort(), ['score', 'variable', 'variable_id', 'variable_long_name', 'variable_units']);
    const star = await search('fields=*&limit=1');
    assert.deepEqual(star.response.docs[0], { ...docs.datasets[0], score: 1 });
  });

  it('counts facets=* over the default facet list (all values, lexically sorted)', async () => {
    const r = await search('facets=*&limit=0');
    assert.deepEqual(r.facet_counts.facet_fields['data_node'], ['data1.eucp-syn.test', 24, 'data2.eucp-syn.test', 5]);
    assert.deepEqual(r.facet_counts.facet_fields['domain'], ['EUR-44', 4]);
    assert.ok(Array.isArray(r.responseHeader.params['facet.field']));
  });
});

describe('GET /esg-search/search: malformed parameters (ESGF-style 400 with the reason)', () => {
  const cases: [string, string, RegExp][] = [
    ['limit=-1', 'limit', /non-negative integer/],
    ['limit=abc', 'limit', /non-negative integer.*"abc"/],
    ['limit=10001', 'limit', /maximum allowed value is limit=10000/],
    ['offset=1.5', 'offset', /non-negative integer/],
    ['latest=maybe', 'latest', /true or false/],
    ['replica=yes', 'replica', /true or false/],
    ['distrib=sometimes', 'distrib', /true or false/],
    ['type=Aggregation', 'type', /Dataset or File/],
    ['type=dataset', 'type', /Dataset or File/],
    ['facets=no_such_facet', 'facets', /not a facet field/],
    ['facets=variable_id;drop', 'facets', /comma-separated list/],
    ['format=application%2Fsolr%2Bxml', 'format', /only application\/solr\+json/],
    ['no_such_field=x', 'no_such_field', /not a searchable field/],
    ['project=', 'project', /empty value/],
    ['limit=1&limit=2', 'limit', /more than once/],
    ['lat=10', 'lat', /Unsupported parameter/],
    ['start=yesterday', 'start', /date/],
    ['bbox=1,2,3', 'bbox', /west,south,east,north/],
    ['version=latest', 'version', /version number/],
    ['min_version=2019-01-01', 'min_version', /version number/],
    ['query=(variable_id:tas', 'query', /parentheses/],
    ['query=foo:bar', 'query', /unknown field "foo"/],
    ['query=project:[a%20TO%20b]', 'query', /not a number or date field/],
    ['query=%22unclosed', 'query', /unclosed quote/],
    ['pro%3Cject=x', 'pro<ject', /invalid character/],
  ];
  for (const [q, parameter, reason] of cases) {
    it(`${decodeURIComponent(q)} → 400 naming ${parameter}`, async () => {
      const body = await rejected(q);
      assert.equal(body.parameter, parameter);
      assert.match(body.reason, reason);
    });
  }
  it('accepts and ignores distrib and shards', async () => {
    assert.equal((await search('distrib=true&shards=localhost:8983/solr&limit=0')).response.numFound, docs.datasets.length);
  });
});

describe('GET /esg-search/search: the visibility filter', () => {
  it('is asked once per request (caller, type, list or read) and hides records from docs and counts', async () => {
    hideCordex = true;
    try {
      const { headers } = await userWithToken(ctx, 'bob');
      filterCalls.length = 0;
      const anon = await search('facets=project&limit=100&fields=project');
      assert.deepEqual(anon.facet_counts.facet_fields['project'], ['CMIP6', 25]);
      assert.ok(anon.response.docs.every((d) => String(d['project']) === 'CMIP6'));
      await search('type=File&project=CORDEX&readable=true', headers);
      assert.deepEqual(filterCalls, [{ caller: null, type: 'Dataset', purpose: 'list' }, { caller: 'bob', type: 'File', purpose: 'read' }]);
      assert.equal((await search('type=File&project=CORDEX')).response.numFound, 0);
    } finally {
      hideCordex = false;
    }
    assert.equal((await search('project=CORDEX')).response.numFound, 4);
  });
});
