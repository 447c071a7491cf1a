/**
 * The catalogs and oracles beside the data: they must agree with the spec (§3.4, §3.7) and with
 * the files actually written.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { deltaT } from './fields.js';
import { unrotate } from './grids.js';
import { generateDemoData } from './index.js';

type Doc = Record<string, unknown>;
interface DatasetOracle {
  global_mean: number[];
  files: string[];
  n_time: number;
  sum?: number;
}
interface Expected {
  datasets: Record<string, DatasetOracle>;
  files: Record<string, { sha256: string }>;
  search: Array<{ query: string; numFound: number; facet_fields?: Record<string, (string | number)[]> }>;
  access: Array<{ user: string | null; resource: string; decision: string; grantable_by: Array<{ group: string; membership: string }> }>;
  sanity: { areacella_global_sum_m2: number; rotated_pole: { lon: number; lat: number } };
}

const STRETCH = 'CMIP6.DCPP.SYNLAB.SYN-ESM1-0-LR.dcppA-hindcast.s2010-r1i1p1f1.Amon.tas.gn.v20190601';
const id = (s: string): string => `CMIP6.${s}`;

describe('catalogs and oracles (tiny profile)', () => {
  let dir: string;
  let expected: Expected;
  let datasets: Doc[];
  let files: Doc[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eucp-syn-oracle-'));
    await generateDemoData({ profile: 'tiny', outDir: dir });
    expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Expected;
    const jsonl = async (f: string): Promise<Doc[]> => (await readFile(join(dir, f), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Doc);
    datasets = await jsonl('esgf/datasets.jsonl');
    files = await jsonl('esgf/files.jsonl');
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('search documents reproduce the spec counts of section 3.7 (without the stretch data set #20)', () => {
    const cmip6 = datasets.filter((d) => (d['project'] as string[])[0] === 'CMIP6' && d['instance_id'] !== STRETCH);
    const count = (f: (d: Doc) => boolean): number => cmip6.filter(f).length;
    assert.equal(count((d) => d['latest'] === true && d['replica'] === false), 17);
    assert.equal(count((d) => d['replica'] === false), 19);
    assert.equal(count((d) => d['latest'] === true), 22);
    assert.equal(cmip6.length, 24);
    const facet = (field: string): (string | number)[] => {
      const counts = new Map<string, number>();
      for (const d of cmip6.filter((x) => x['latest'] === true && x['replica'] === false)) {
        const v = (d[field] as string[])[0]!;
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      return [...counts].sort(([a], [b]) => a.localeCompare(b)).flat();
    };
    assert.deepEqual(facet('variable_id'), ['areacella', 3, 'pr', 6, 'tas', 7, 'tasmax', 1]);
    assert.deepEqual(facet('experiment_id'), ['historical', 11, 'ssp585', 6]);
    const ds2 = files.filter((f) => f['dataset_id'] === `${id('CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601')}|data1.eucp-syn.test`);
    assert.equal(ds2.length, 2);
  });

  it('expected.json search oracles are the counts over all generated documents, including #20', () => {
    const byQuery = new Map(expected.search.map((s) => [s.query, s]));
    const cmip6 = datasets.filter((d) => (d['project'] as string[])[0] === 'CMIP6');
    assert.equal(byQuery.get('type=Dataset&project=CMIP6&latest=true&replica=false')?.numFound, cmip6.filter((d) => d['latest'] && !d['replica']).length);
    assert.equal(byQuery.get('type=Dataset&project=CMIP6&replica=false')?.numFound, cmip6.filter((d) => !d['replica']).length);
    assert.equal(byQuery.get('type=Dataset&project=CMIP6&latest=true')?.numFound, cmip6.filter((d) => d['latest']).length);
    assert.equal(byQuery.get('type=Dataset&project=CMIP6')?.numFound, cmip6.length);
    assert.equal(byQuery.get('type=Dataset&project=CORDEX')?.numFound, 4);
    assert.deepEqual(byQuery.get('type=Dataset&project=CMIP6&latest=true&replica=false&facets=variable_id')?.facet_fields, {
      variable_id: ['areacella', 3, 'pr', 6, 'tas', 8, 'tasmax', 1],
    });
    const fileQuery = expected.search.find((s) => s.query.startsWith('type=File&'))!;
    assert.equal(new URLSearchParams(fileQuery.query).get('dataset_id'), `${id('CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601')}|data1.eucp-syn.test`);
    assert.equal(fileQuery.numFound, 2);
  });

  it('model C has replica documents on data2 with the same master_id and instance_id', () => {
    const replicas = datasets.filter((d) => d['replica'] === true);
    assert.equal(replicas.length, 5);
    for (const r of replicas) {
      assert.equal(r['data_node'], 'data2.eucp-syn.test');
      assert.equal(r['id'], `${r['instance_id'] as string}|data2.eucp-syn.test`);
      const master = datasets.find((d) => d['id'] === `${r['instance_id'] as string}|data1.eucp-syn.test`);
      assert.ok(master, `no master for ${r['id'] as string}`);
      assert.equal(master['master_id'], r['master_id']);
      assert.deepEqual(master['institution_id'], ['MOCKIT']);
      const replicaFiles = files.filter((f) => f['dataset_id'] === r['id']);
      assert.ok(replicaFiles.length > 0);
      for (const f of replicaFiles) assert.ok((f['url'] as string[]).every((u) => u.startsWith('https://data2.eucp-syn.test/')));
    }
  });

  it('the errata are visible in the data: #1 is 0.5 K too warm, #12 is pr x 86400, r2 is 0.1 K warmer', async () => {
    const mean = (s: string): number[] => expected.datasets[id(s)]!.global_mean;
    const v1 = mean('CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190101');
    const v2 = mean('CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601');
    const r2 = mean('CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r2i1p1f1.Amon.tas.gn.v20190601');
    v1.forEach((v, k) => assert.ok(Math.abs(v - v2[k]! - 0.5) < 0.05, `month ${k}: #1 - #2 = ${v - v2[k]!}`));
    r2.forEach((v, k) => assert.ok(Math.abs(v - v2[k]! - 0.1) < 0.05, `month ${k}: r2 - r1 = ${v - v2[k]!}`));
    const bad = mean('ScenarioMIP.FAKEMET.FAKE-CM2-MR.ssp585.r1i1p1f2.Amon.pr.gn.v20200315');
    const good = mean('ScenarioMIP.FAKEMET.FAKE-CM2-MR.ssp585.r1i1p1f2.Amon.pr.gn.v20200901');
    bad.forEach((v, k) => assert.ok(Math.abs(v / good[k]! / 86400 - 1) < 0.05, `month ${k}: ratio ${v / good[k]!}`));
    good.forEach((v) => assert.ok(v * 86400 > 2 && v * 86400 < 3.5, `global-mean pr ${v * 86400} mm/day`));
    const errata = JSON.parse(await readFile(join(dir, 'errata.json'), 'utf8')) as Array<{ id: string; datasets: string[]; superseded_by: string }>;
    assert.deepEqual(
      errata.map((e) => [e.id, e.datasets, e.superseded_by]),
      [
        ['SYN-ERR-001', [id('CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190101')], 'v20190601'],
        ['SYN-ERR-002', [id('ScenarioMIP.FAKEMET.FAKE-CM2-MR.ssp585.r1i1p1f2.Amon.pr.gn.v20200315')], 'v20200901'],
      ],
    );
  });

  it('global-mean tas follows T0 + dT of section 3.5 (the other terms average out)', () => {
    const cases: Array<[string, number, number]> = [
      ['CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601', 287.6, 1.0],
      ['CMIP.FAKEMET.FAKE-CM2-MR.historical.r1i1p1f2.Amon.tas.gn.v20191115', 286.9, 1.3],
      ['ScenarioMIP.MOCKIT.MOCK-GCM3.ssp585.r1i1p1f1.Amon.tas.gr.v20200210', 288.3, 0.8],
    ];
    for (const [s, t0, scale] of cases) {
      const start = s.includes('ssp585') ? 2015 : 2005;
      expected.datasets[id(s)]!.global_mean.forEach((v, k) => {
        const want = t0 + deltaT(start + (k + 0.5) / 12, scale);
        assert.ok(Math.abs(v - want) < 0.1, `${s} month ${k}: ${v} vs ${want}`);
      });
    }
  });

  it('areacella sums to 4 pi R^2 on every grid, and EUR-44 rotated (0,0) is (18 E, 50.75 N)', () => {
    assert.ok(Math.abs(expected.sanity.areacella_global_sum_m2 / 5.1006e14 - 1) < 1e-4);
    for (const [k, d] of Object.entries(expected.datasets)) {
      if (d.sum !== undefined) assert.ok(Math.abs(d.sum / expected.sanity.areacella_global_sum_m2 - 1) < 1e-6, `${k}: ${d.sum}`);
    }
    const o = unrotate(0, 0, -162, 39.25);
    assert.ok(Math.abs(o.lon - 18) < 1e-9 && Math.abs(o.lat - 50.75) < 1e-9, JSON.stringify(o));
    assert.ok(Math.abs(expected.sanity.rotated_pole.lon - 18) < 1e-9 && Math.abs(expected.sanity.rotated_pole.lat - 50.75) < 1e-9);
  });

  it('access oracle matches the expected decisions of section 3.4', async () => {
    const isTas = (r: string): boolean => /\.tas\.v\d{8}$/.test(r);
    const cordex = (u: string | null) => expected.access.filter((a) => a.user === u && a.resource.startsWith('cordex.'));
    const cmip6 = (u: string | null) => expected.access.filter((a) => a.user === u && a.resource.startsWith('CMIP6.'));
    assert.equal(cordex('carol').length, 4);
    for (const a of cordex('bob').filter((x) => isTas(x.resource))) {
      assert.equal(a.decision, 'Deny');
      assert.deepEqual(a.grantable_by.map((g) => g.group).sort(), ['CORDEX Commercial', 'CORDEX Research']);
    }
    for (const a of cordex('erin')) {
      assert.equal(a.decision, isTas(a.resource) ? 'Permit' : 'Deny', a.resource);
      if (!isTas(a.resource)) assert.deepEqual(a.grantable_by.map((g) => g.group), ['CORDEX Research']);
    }
    for (const a of cordex('dave')) {
      assert.equal(a.decision, 'Deny');
      assert.equal(a.grantable_by.find((g) => g.group === 'CORDEX Research')?.membership, 'pending');
    }
    for (const a of cordex('carol')) assert.equal(a.decision, 'Permit');
    for (const a of cordex(null)) assert.equal(a.decision, 'Challenge');
    assert.deepEqual(cmip6(null).map((a) => a.decision), ['Permit']);
    const groups = JSON.parse(await readFile(join(dir, 'access/groups.json'), 'utf8')) as Array<{ name: string; automatic_approval: boolean }>;
    assert.deepEqual(groups.map((g) => [g.name, g.automatic_approval]), [['CORDEX Research', false], ['CORDEX Commercial', true]]);
  });

  it('the intake-esm catalog lists every data file with its real checksum and the required aggregations', async () => {
    const cat = JSON.parse(await readFile(join(dir, 'catalog/eucp-syn.json'), 'utf8')) as {
      esmcat_version: string;
      catalog_file: string;
      assets: { column_name: string; format: string };
      aggregation_control: { variable_column_name: string; aggregations: Array<{ type: string; attribute_name: string; options?: { dim?: string } }> };
    };
    assert.equal(cat.esmcat_version, '0.1.0');
    assert.deepEqual(cat.assets, { column_name: 'path', format: 'netcdf' });
    const aggs = cat.aggregation_control.aggregations.map((a) => `${a.type}:${a.attribute_name}${a.options?.dim ? `:${a.options.dim}` : ''}`);
    assert.deepEqual(aggs, ['union:variable_id', 'join_new:member_id', 'join_existing:time_range:time']);
    const csv = gunzipSync(await readFile(join(dir, 'catalog', cat.catalog_file))).toString('utf8').trim().split('\n');
    const header = csv[0]!.split(',');
    assert.deepEqual(header.slice(0, 20), [
      'project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'member_id', 'sub_experiment_id', 'table_id', 'frequency', 'realm',
      'variable_id', 'grid_label', 'version', 'time_range', 'path', 'sha256', 'size', 'latest', 'retracted', 'data_node',
    ]);
    const rows = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, k) => [header[k]!, v])));
    assert.deepEqual(rows.map((r) => r['path']).sort(), Object.keys(expected.files).sort());
    for (const r of rows) {
      const sha = createHash('sha256').update(await readFile(join(dir, r['path']!))).digest('hex');
      assert.equal(r['sha256'], sha, r['path']);
    }
  });

  it('STAC items point at the real files with multihash checksums, and the collection links every item', async () => {
    const col = JSON.parse(await readFile(join(dir, 'stac/collection-cmip6.json'), 'utf8')) as { links: Array<{ rel: string; href: string }> };
    const items = col.links.filter((l) => l.rel === 'item');
    assert.equal(items.length, 20);
    for (const link of items) {
      const itemPath = resolve(dir, 'stac', link.href);
      const item = JSON.parse(await readFile(itemPath, 'utf8')) as { id: string; properties: Record<string, unknown>; assets: Record<string, { href: string; 'file:checksum': string }> };
      assert.ok(item.properties['cmip6:source_id']);
      for (const asset of Object.values(item.assets)) {
        const target = resolve(dirname(itemPath), asset.href);
        await access(target);
        const sha = createHash('sha256').update(await readFile(target)).digest('hex');
        assert.equal(asset['file:checksum'], `1220${sha}`, asset.href);
      }
    }
  });

  it('the CV overlay names every fictional institution and source used in the files', async () => {
    const cv = JSON.parse(await readFile(join(dir, 'eucp-syn-cv.json'), 'utf8')) as { CV: { institution_id: object; source_id: object } };
    assert.deepEqual(Object.keys(cv.CV.institution_id).sort(), ['FAKEMET', 'MOCKIT', 'SYNLAB']);
    assert.deepEqual(Object.keys(cv.CV.source_id).sort(), ['FAKE-CM2-MR', 'MOCK-GCM3', 'SYN-ESM1-0-LR']);
  });
});
