/**
 * The catalog scanner over a fresh EUCP-SYN tiny tree made with the CLI: the docs equal the
 * generator's esgf/*.jsonl (its oracle) and answer the search oracles of expected.json;
 * incremental re-scans read only what changed (state in a real SQLite database); bad, misplaced
 * and NetCDF-4 files.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openDatabase, type Db } from '../db/index.js';
import { evaluateSearch, generateDemoData } from '../demo-data/index.js';
import { scanCatalog, type EsgfDoc, type ScanResult } from './scanner.js';
import { CatalogScanService } from './scanner-service.js';
import { catalogScanOptions } from './scanner-config.js';
import { configSchema } from '../config/schema.js';
import { MemoryCatalogStore, SqliteCatalogStore } from './store.js';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '../../../..');

/** Keys sorted; arrays of facet values sorted (their order carries no meaning). */
function normalise(doc: EsgfDoc): string {
  const keys = Object.keys(doc).sort();
  return JSON.stringify(Object.fromEntries(keys.map((k) => {
    const v = doc[k];
    return [k, Array.isArray(v) ? [...v].map(String).sort() : v];
  })));
}

function assertSameDocs(got: readonly EsgfDoc[], want: readonly EsgfDoc[], what: string): void {
  const g = new Map(got.map((d) => [String(d['id']), d]));
  assert.deepEqual([...g.keys()].sort(), want.map((d) => String(d['id'])).sort(), `${what}: ids`);
  for (const w of want) assert.equal(normalise(g.get(String(w['id']))!), normalise(w), `${what}: ${String(w['id'])}`);
}

const jsonl = async (path: string): Promise<EsgfDoc[]> =>
  (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as EsgfDoc);

describe('scanCatalog over the EUCP-SYN tiny demo data', () => {
  let dir: string;
  let root: string;
  let want: { datasets: EsgfDoc[]; files: EsgfDoc[] };
  let db: Db;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eucp-scan-'));
    root = join(dir, 'data');
    await run('npm', ['run', '-s', 'eucp', '--', 'data', 'generate', '--profile', 'tiny', '--out', root], { cwd: REPO });
    want = { datasets: await jsonl(join(root, 'esgf/datasets.jsonl')), files: await jsonl(join(root, 'esgf/files.jsonl')) };
    db = await openDatabase(join(dir, 'hub.sqlite'));
  });
  after(async () => {
    await db?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let first: ScanResult;
  it('the docs equal the generator\'s esgf/datasets.jsonl and files.jsonl exactly, with no problems', async () => {
    first = await scanCatalog({ roots: [root], store: new SqliteCatalogStore(db) });
    assert.deepEqual(first.problems, []);
    assert.deepEqual({ seen: first.stats.filesSeen, read: first.stats.filesRead }, { seen: 25, read: 25 });
    assertSameDocs(first.datasets, want.datasets, 'datasets');
    assertSameDocs(first.files, want.files, 'files');
    assert.deepEqual(first.errata.map((e) => e.id), ['SYN-ERR-001', 'SYN-ERR-002']);
  });

  it('the docs answer every search oracle of expected.json', async () => {
    const expected = JSON.parse(await readFile(join(root, 'expected.json'), 'utf8')) as { search: { query: string; numFound: number; facet_fields?: unknown }[] };
    assert.ok(expected.search.length >= 11);
    for (const o of expected.search) {
      const r = evaluateSearch(first, o.query);
      assert.equal(r.numFound, o.numFound, o.query);
      if (o.facet_fields) assert.deepEqual(r.facet_fields, o.facet_fields, o.query);
    }
  });

  it('a second scan reads no file; touching one reads exactly that one; the docs stay the same', async () => {
    const store = new SqliteCatalogStore(db);
    const again = await scanCatalog({ roots: [root], store });
    assert.deepEqual([again.stats.filesSeen, again.stats.filesRead], [25, 0]);
    assertSameDocs(again.datasets, want.datasets, 'datasets (rescan)');
    assertSameDocs(again.files, want.files, 'files (rescan)');
    const touched = join(root, String(want.files[0]!['url'] as unknown as string[]).split('esg_dataroot/')[1]!.split('|')[0]!);
    const later = new Date(Date.now() + 5000);
    await utimes(touched, later, later);
    const third = await scanCatalog({ roots: [root], store });
    assert.equal(third.stats.filesRead, 1);
    assertSameDocs(third.files, want.files, 'files (after touch)');
    // A fresh connection to the same database file sees the same state: still nothing to read.
    const db2 = await openDatabase(join(dir, 'hub.sqlite'));
    try {
      assert.equal((await scanCatalog({ roots: [root], store: new SqliteCatalogStore(db2) })).stats.filesRead, 0);
    } finally {
      await db2.destroy();
    }
  });

  it('catalogScanOptions: the hub configuration\'s defaults (dataDir, demo publication, SQLite state) give the same docs', async () => {
    const config = configSchema.parse({ dataDir: root, stateDir: dir });
    const svc = new CatalogScanService(catalogScanOptions(config, { db }));
    const r = await svc.scan();
    assert.deepEqual(r.problems, []);
    assertSameDocs(r.datasets, want.datasets, 'datasets (config)');
    assertSameDocs(r.files, want.files, 'files (config)');
    assert.equal(config.catalog.rescanIntervalMs, 300_000);
  });

  it('nested roots: each file is indexed once, by the root where its path is a DRS path', async () => {
    const r = await scanCatalog({ roots: [join(root, 'CMIP6'), root] });
    assert.deepEqual(r.problems, []);
    assert.deepEqual([r.stats.filesSeen, r.stats.filesRead], [25, 25]);
    assertSameDocs(r.datasets, want.datasets, 'datasets (nested roots)');
  });

  it('a deleted file drops out: its File docs go, its dataset shrinks, the state forgets it', async () => {
    const store = new MemoryCatalogStore();
    await scanCatalog({ roots: [root], store });
    const victim = 'CMIP6/CMIP/SYNLAB/SYN-ESM1-0-LR/historical/r1i1p1f1/Amon/tas/gn/v20190601/tas_Amon_SYN-ESM1-0-LR_historical_r1i1p1f1_gn_200601-200612.nc';
    const copy = join(dir, 'victim.nc');
    await copyFile(join(root, victim), copy);
    await rm(join(root, victim));
    try {
      const r = await scanCatalog({ roots: [root], store });
      assert.deepEqual([r.stats.filesSeen, r.stats.filesRead, r.stats.filesDeleted], [24, 0, 1]);
      assert.ok(!r.files.some((f) => String(f['id']).includes('gn_200601-200612.nc')));
      const ds = r.datasets.find((d) => d['id'] === 'CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601|data1.eucp-syn.test')!;
      assert.equal(ds['number_of_files'], 1);
      assert.equal(ds['datetime_stop'], '2005-12-16T12:00:00Z');
      assert.equal((await store.load()).size, 24);
    } finally {
      await copyFile(copy, join(root, victim));
    }
  });

  it('a corrupt .nc, a file outside the DRS and a misplaced file are reported; the rest is indexed', async () => {
    const extra = join(dir, 'extra');
    await run('cp', ['-a', root, extra]);
    const corrupt = join(extra, 'CMIP6/CMIP/SYNLAB/SYN-ESM1-0-LR/historical/r1i1p1f1/Amon/pr/gn/v20190601/pr_Amon_SYN-ESM1-0-LR_historical_r1i1p1f1_gn_200501-200612.nc');
    const bytes = await readFile(corrupt);
    await writeFile(corrupt, bytes.subarray(0, 3000)); // truncated mid-data
    await writeFile(join(extra, 'notes.nc'), 'not a netcdf file');
    const misplaced = join(extra, 'CMIP6/CMIP/OTHERLAB/SYN-ESM1-0-LR/historical/r1i1p1f1/fx/areacella/gn/v20190601/areacella_fx_SYN-ESM1-0-LR_historical_r1i1p1f1_gn.nc');
    await mkdir(dirname(misplaced), { recursive: true });
    await copyFile(join(root, 'CMIP6/CMIP/SYNLAB/SYN-ESM1-0-LR/historical/r1i1p1f1/fx/areacella/gn/v20190601/areacella_fx_SYN-ESM1-0-LR_historical_r1i1p1f1_gn.nc'), misplaced);
    const r = await scanCatalog({ roots: [extra] });
    const byPath = (p: string) => r.problems.filter((x) => x.path === p);
    assert.deepEqual(byPath(corrupt).map((p) => [p.kind, p.skipped]), [['unreadable', true]]);
    assert.match(byPath(corrupt)[0]!.reason, /truncated|ends/);
    assert.deepEqual(byPath(join(extra, 'notes.nc')).map((p) => p.kind), ['layout']);
    assert.deepEqual(byPath(misplaced).map((p) => p.reason), ['global attribute institution_id="SYNLAB", the path says OTHERLAB']);
    assert.equal(r.problems.length, 3);
    assert.equal(r.stats.filesSeen, 27);
    assert.ok(!r.datasets.some((d) => d['id'] === 'CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.pr.gn.v20190601|data1.eucp-syn.test'), 'the dataset of the corrupt file is not indexed');
    assert.ok(r.datasets.some((d) => d['instance_id'] === 'CMIP6.CMIP.OTHERLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.fx.areacella.gn.v20190601'));
    assert.equal(r.datasets.length, want.datasets.length); // -1 (corrupt) +1 (misplaced)
    // The corrupt file is not read again while it stays the same, but still reported.
    const store = new MemoryCatalogStore();
    await scanCatalog({ roots: [extra], store });
    const again = await scanCatalog({ roots: [extra], store });
    assert.equal(again.stats.filesRead, 0);
    assert.equal(again.problems.length, 3);
  });

  it('indexes NetCDF-4 files (nccopy to netCDF-4 classic model, deflate) with the same docs except size and checksum', async () => {
    const nc4 = join(dir, 'nc4');
    await run('cp', ['-a', root, nc4]);
    const rel = 'cordex/output/EUR-44/SYNRCM/SYNLAB-SYN-ESM1-0-LR/historical/r1i1p1/SYNRCM-RCM1/v1/mon/tas/v20200101/tas_EUR-44_SYNLAB-SYN-ESM1-0-LR_historical_r1i1p1_SYNRCM-RCM1_v1_mon_200401-200512.nc';
    await rm(join(nc4, rel));
    await run('/usr/bin/nccopy', ['-k', 'netCDF-4 classic model', '-d1', '-s', join(root, rel), join(nc4, rel)]);
    const r = await scanCatalog({ roots: [nc4] });
    assert.deepEqual(r.problems, []);
    const strip = (d: EsgfDoc): EsgfDoc => Object.fromEntries(Object.entries(d).filter(([k]) => !['size', 'checksum'].includes(k)));
    assertSameDocs(r.datasets.map(strip), want.datasets.map(strip), 'datasets (nc4)');
    assertSameDocs(r.files.map(strip), want.files.map(strip), 'files (nc4)');
  });
});

describe('CatalogScanService', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eucp-scan-svc-'));
    await generateDemoData({ profile: 'tiny', outDir: dir });
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the last complete docs; the generation moves only when they change; concurrent scans share', async () => {
    const svc = new CatalogScanService({ roots: [dir], store: new MemoryCatalogStore() });
    assert.deepEqual([svc.generation(), svc.docs().datasets.length], [0, 0]);
    const [a, b] = await Promise.all([svc.scan(), svc.scan()]);
    assert.equal(a.stats.filesRead, 25);
    assert.equal(b.stats.filesRead, 0, 'the second call ran after the first, incrementally');
    assert.equal(svc.generation(), 1);
    const docs = svc.docs();
    assert.equal(docs.datasets.length, 29);
    await svc.scan();
    assert.equal(svc.generation(), 1);
    assert.equal(svc.docs().datasets, docs.datasets, 'unchanged docs keep their identity');
    await rm(join(dir, 'cordex'), { recursive: true });
    await svc.scan();
    assert.equal(svc.generation(), 2);
    assert.equal(svc.docs().datasets.length, 25);
    await svc.stop();
  });
});
