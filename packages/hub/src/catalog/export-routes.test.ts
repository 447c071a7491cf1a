import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { generateDemoData } from '@eucp/hub/demo-data/index';
import { installHttpBasics } from '@eucp/hub/http/basics';
import { registerIdentityRoutes } from '@eucp/hub/http/identity-routes';
import { createTestContext, type TestContext } from '@eucp/testing/hub-factory';
import { JsonlEsgfIndexProvider, parseJsonl, type EsgDoc } from './esgf-index.js';
import { registerCatalogExports } from './export-routes.js';
import { intakeCollection, intakeCsv, intakeRows, pathFromUrls } from './intake.js';
import { stacCollection, stacItem, type StacHrefs } from './stac.js';

/** Parsed JSON, walked loosely in assertions. */
type Json = Record<string, any>;

let dir: string;
let ctx: TestContext;
let app: FastifyInstance;
let datasets: EsgDoc[];
let files: EsgDoc[];
const purposes: string[] = [];
let hideCordex = false;

const read = async (rel: string): Promise<string> => readFile(path.join(dir, rel), 'utf8');

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'eucp-exports-'));
  await generateDemoData({ profile: 'tiny', outDir: dir });
  datasets = parseJsonl(await read('esgf/datasets.jsonl'), 'datasets');
  files = parseJsonl(await read('esgf/files.jsonl'), 'files');
  ctx = await createTestContext({ config: { publicUrl: 'https://hub.eucp.test/' } });
  app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
  await installHttpBasics(app, ctx);
  await registerIdentityRoutes(app, ctx);
  await registerCatalogExports(app, ctx, new JsonlEsgfIndexProvider(dir), {
    filter: (q) => {
      purposes.push(`${q.type}:${q.purpose}`);
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

describe('intake-esm catalog against the generator\'s (oracle)', () => {
  it('writes the generator\'s CSV from the search docs; only CORDEX realm differs (CORDEX docs carry no realm)', async () => {
    const byId = new Map(datasets.map((d) => [String(d['id']), d]));
    const ours = intakeCsv(intakeRows(files, (id) => byId.get(id))).split('\n');
    const theirs = gunzipSync(await readFile(path.join(dir, 'catalog/eucp-syn.csv.gz'))).toString('utf8').split('\n');
    assert.equal(ours.length, theirs.length);
    assert.equal(ours[0], theirs[0]);
    const realm = theirs[0]!.split(',').indexOf('realm');
    ours.forEach((line, k) => {
      const a = line.split(',');
      const b = theirs[k]!.split(',');
      if (a[0] === 'CORDEX') {
        assert.equal(a[realm], '');
        assert.equal(b[realm], 'atmos');
        a[realm] = b[realm]!;
      }
      assert.deepEqual(a, b, `row ${k}`);
    });
  });

  it('writes the generator\'s collection JSON, apart from id, description and catalog_file', async () => {
    const theirs = JSON.parse(await read('catalog/eucp-syn.json')) as Json;
    const ours = intakeCollection({ id: theirs['id'], description: theirs['description'], catalogFile: theirs['catalog_file'] });
    assert.deepEqual(ours, theirs);
  });
});

describe('STAC items and collection against the generator\'s (oracle)', () => {
  const relHrefs: StacHrefs = {
    itemLinks: () => ['root', 'parent', 'collection'].map((rel) => ({ rel, href: '../collection-cmip6.json', type: 'application/json' })),
    assetHref: (f) => `../../${pathFromUrls(f)}`,
  };
  const masters = (): EsgDoc[] => datasets.filter((d) => String(d['project']) === 'CMIP6' && d['replica'] === false);

  it('equals every generator item except what docs do not carry: cmip6:license, lat/lon step, height', async () => {
    assert.equal(masters().length, 20);
    for (const d of masters()) {
      const ours = stacItem(d, files.filter((f) => f['dataset_id'] === d['id']), relHrefs) as Json;
      const theirs = JSON.parse(await read(`stac/items/${d['instance_id']}.json`)) as Json;
      const p = theirs['properties'];
      delete p['cmip6:license'];
      for (const dim of ['lat', 'lon']) if (p['cube:dimensions'][dim]) delete p['cube:dimensions'][dim].step;
      delete p['cube:dimensions'].height;
      assert.deepEqual(ours, theirs, String(d['instance_id']));
    }
  });

  it('equals the generator collection given its title, description and links', async () => {
    const theirs = JSON.parse(await read('stac/collection-cmip6.json')) as Json;
    const items = masters().map((d) => stacItem(d, [], relHrefs));
    const ours = stacCollection('cmip6', items, { title: theirs['title'], description: theirs['description'], license: theirs['license'], links: theirs['links'] });
    assert.deepEqual(ours, theirs);
  });
});

describe('intake and STAC routes', () => {
  const get = async (url: string): Promise<{ status: number; type: string; body: string; json: () => Json }> => {
    const r = await app.inject({ method: 'GET', url });
    return { status: r.statusCode, type: String(r.headers['content-type']), body: r.body, json: () => r.json<Json>() };
  };

  it('serves the collection JSON and a CSV whose paths are where sandboxes see the data', async () => {
    const j = await get('/catalog/intake/catalog.json');
    assert.equal(j.status, 200);
    assert.equal(j.json()['catalog_file'], 'catalog.csv');
    assert.equal((await get('/catalog/intake/catalog.json?readable=true')).json()['catalog_file'], 'catalog.csv?readable=true');
    const csv = await get('/catalog/intake/catalog.csv');
    assert.equal(csv.status, 200);
    assert.match(csv.type, /^text\/csv/);
    const lines = csv.body.trim().split('\n');
    assert.equal(lines.length, 1 + files.filter((f) => f['replica'] === false).length);
    assert.ok(lines.slice(1).every((l) => l.split(',')[14]!.startsWith('/data/')));
  });

  it('applies the filter (list, or read with readable=true) to the CSV', async () => {
    hideCordex = true;
    try {
      purposes.length = 0;
      const csv = await get('/catalog/intake/catalog.csv?readable=true');
      assert.ok(!csv.body.includes('\nCORDEX,'));
      assert.deepEqual(purposes, ['File:read']);
    } finally {
      hideCordex = false;
    }
    assert.equal((await get('/catalog/intake/catalog.csv?readable=maybe')).status, 400);
  });

  it('serves a STAC API: landing, collections, paged items with next links, one item, 404s', async () => {
    const landing = (await get('/catalog/stac')).json();
    assert.equal(landing['type'], 'Catalog');
    assert.ok(landing['links'].some((l: Json) => l['href'] === 'https://hub.eucp.test/catalog/stac/collections/cmip6'));
    const cols = (await get('/catalog/stac/collections')).json()['collections'] as Json[];
    assert.deepEqual(cols.map((c) => c['id']), ['cmip6', 'cordex']);
    assert.deepEqual(cols[1]!['summaries']['cordex:experiment'], ['historical', 'rcp85']);
    const seen: string[] = [];
    let url: string | undefined = '/catalog/stac/collections/cmip6/items?limit=6';
    while (url) {
      const page = await get(url);
      assert.equal(page.status, 200);
      assert.match(page.type, /^application\/geo\+json/);
      const fc = page.json();
      assert.equal(fc['numberMatched'], 20);
      seen.push(...fc['features'].map((f: Json) => f['id']));
      url = fc['links'].find((l: Json) => l['rel'] === 'next')?.['href']?.replace('https://hub.eucp.test', '');
    }
    assert.deepEqual(seen, datasets.filter((d) => String(d['project']) === 'CMIP6' && d['replica'] === false).map((d) => d['instance_id']));
    const id = 'CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601';
    const item = (await get(`/catalog/stac/collections/cmip6/items/${id}`)).json();
    assert.equal(item['id'], id);
    assert.deepEqual(Object.keys(item['assets']), ['data0001', 'data0002']);
    assert.match(item['assets']['data0001']['href'], /^https:\/\/data1\.eucp-syn\.test\/thredds\/fileServer\//);
    const cordexId = String(datasets.find((d) => String(d['project']) === 'CORDEX')!['instance_id']);
    const cordex = (await get(`/catalog/stac/collections/cordex/items/${cordexId}`)).json();
    assert.equal(cordex['properties']['cordex:domain'], 'EUR-44');
    hideCordex = true;
    try {
      assert.equal((await get(`/catalog/stac/collections/cordex/items/${cordexId}`)).status, 404);
      assert.equal((await get('/catalog/stac/collections/cordex/items')).json()['numberMatched'], 0);
    } finally {
      hideCordex = false;
    }
    assert.equal((await get('/catalog/stac/collections/nope')).status, 404);
    assert.equal((await get('/catalog/stac/collections/cmip6/items/nope')).status, 404);
    assert.equal((await get('/catalog/stac/collections/cmip6/items?limit=x')).status, 400);
  });
});
