/**
 * EUCP-SYN: the deterministic demo climate data generator (synthetic-climate-data.md §3).
 *
 * Writes real NetCDF files (classic 64-bit offset) in CMIP6 and CORDEX DRS layout, plus the
 * intake-esm catalog, ESGF search documents, STAC items, access-control fixtures, errata, the
 * project CV overlay and `expected.json` with the oracles tests compare against.
 */
import { stat, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '@eucp/core';
import { GROUPS, LICENCES, POLICIES, USERS, policiesXml } from './access.js';
import { GridSet, writeDataset, type DatasetRecord } from './data.js';
import { ALL_DATASETS, PROFILES, type DemoProfile } from './datasets.js';
import { searchDocs, type EsgDoc } from './esgf.js';
import { catalogCsv, catalogJson, deterministicGzip } from './intake.js';
import { fsyncDir, jsonText, writeAtomic, type WrittenFile } from './io.js';
import { cvOverlayJson, errataJson, expectedJson } from './oracles.js';
import { stacCollection, stacItem, stacItemPath } from './stac.js';

export type { DemoProfile } from './datasets.js';
export { ALL_DATASETS, CMIP6_DATASETS, CORDEX_DATASETS, GEN_VERSION, PROFILES } from './datasets.js';
export { evaluateSearch, ORACLE_QUERIES } from './esgf.js';
export { decide, GROUPS, POLICIES, USERS } from './access.js';
export { CMIP6_REQUIRED_GLOBAL_ATTRIBUTES, SYNTHETIC_COMMENT } from './metadata.js';

/** Options of {@link generateDemoData}. */
export interface GenerateOptions {
  /** `default` (the spec's sizes, about 30 MB) or `tiny` (10° grids, 2 years; about 1.3 MB, for tests). */
  profile: DemoProfile;
  /** Root of the tree to write; created if missing. Existing files with the same names are replaced. */
  outDir: string;
}

/** What {@link generateDemoData} wrote. */
export interface GenerateResult {
  /** Number of files written (data, catalogs and oracles). */
  files: number;
  /** Their total size in bytes. */
  bytes: number;
  /** Absolute path of the output root. */
  outDir: string;
}

function isProfile(p: unknown): p is DemoProfile {
  return typeof p === 'string' && Object.hasOwn(PROFILES, p);
}

async function checkOutDir(raw: unknown): Promise<string> {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new AppError('INVALID_INPUT', 'outDir must be a non-empty path.', { field: 'outDir' });
  }
  const outDir = resolve(raw);
  // Walk up to the first existing ancestor: each must be a directory, or mkdir would fail half-way.
  for (let p = outDir; ; p = dirname(p)) {
    const st = await stat(p).catch((err: NodeJS.ErrnoException) => {
      // ENOTDIR: some ancestor is a file; keep walking up to name it.
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw err;
    });
    if (st && !st.isDirectory()) {
      const what = p === outDir ? `outDir ${outDir} exists and is not a directory` : `outDir ${outDir} is below ${p}, which is not a directory`;
      throw new AppError('INVALID_INPUT', `${what}; choose a new or empty directory.`, { field: 'outDir' });
    }
    if (st || dirname(p) === p) break;
  }
  return outDir;
}

/**
 * Generates the EUCP-SYN demo data set into `opts.outDir`.
 *
 * Deterministic: the same profile always gives byte-identical files (no clock, no random
 * seeds), and every file is written atomically (temp file, fsync, rename). Layout below
 * `outDir`: `CMIP6/…` and `cordex/…` (DRS), `catalog/eucp-syn.{json,csv.gz}`,
 * `esgf/{datasets,files}.jsonl`, `stac/collection-cmip6.json`, `stac/items/*.json`,
 * `access/{groups.json,policies.xml,policies.json,users.json,licences/*.md}`, `errata.json`,
 * `eucp-syn-cv.json`, `expected.json` and `SHA256SUMS`.
 *
 * @throws AppError `INVALID_INPUT` for an unknown profile or an `outDir` that is (or lies
 *   below) something other than a directory; nothing is written in that case.
 */
export async function generateDemoData(opts: GenerateOptions): Promise<GenerateResult> {
  if (typeof opts !== 'object' || opts === null) throw new AppError('INVALID_INPUT', 'Options must be an object { profile, outDir }.');
  const { profile } = opts;
  if (!isProfile(profile)) {
    throw new AppError('INVALID_INPUT', `Unknown demo data profile ${JSON.stringify(profile)}; use "tiny" or "default".`, { field: 'profile' });
  }
  const outDir = await checkOutDir(opts.outDir);
  await mkdir(outDir, { recursive: true });

  const written: WrittenFile[] = [];
  const write = async (rel: string, data: Uint8Array | string): Promise<void> => {
    written.push(await writeAtomic(outDir, rel, data));
  };

  const grids = new GridSet(profile);
  const records: DatasetRecord[] = [];
  for (const ds of ALL_DATASETS) {
    const rec = await writeDataset(ds, grids, outDir);
    records.push(rec);
    written.push(...rec.files.map((f) => f.written));
  }

  await write('catalog/eucp-syn.json', jsonText(catalogJson(profile)));
  await write('catalog/eucp-syn.csv.gz', deterministicGzip(catalogCsv(records)));

  const docs = { datasets: [] as EsgDoc[], files: [] as EsgDoc[] };
  for (const rec of records) {
    const d = searchDocs(rec);
    docs.datasets.push(...d.datasets);
    docs.files.push(...d.files);
  }
  const jsonl = (rows: readonly EsgDoc[]): string => rows.map((r) => JSON.stringify(r) + '\n').join('');
  await write('esgf/datasets.jsonl', jsonl(docs.datasets));
  await write('esgf/files.jsonl', jsonl(docs.files));

  await write('stac/collection-cmip6.json', jsonText(stacCollection(records)));
  for (const rec of records) if (rec.ds.project === 'CMIP6') await write(stacItemPath(rec.instance_id), jsonText(stacItem(rec)));

  await write('access/groups.json', jsonText(GROUPS));
  await write('access/policies.xml', policiesXml());
  await write('access/policies.json', jsonText(POLICIES));
  await write('access/users.json', jsonText(USERS));
  for (const [id, text] of Object.entries(LICENCES)) await write(`access/licences/${id}.md`, text);

  await write('errata.json', jsonText(errataJson(records)));
  await write('eucp-syn-cv.json', jsonText(cvOverlayJson()));
  await write('expected.json', jsonText(expectedJson(profile, records, docs)));
  const sums = written.map((f) => `${f.sha256}  ${f.path}\n`).sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : 1));
  await write('SHA256SUMS', sums.join(''));

  const dirs = new Set(written.map((f) => dirname(join(outDir, f.path))));
  for (const d of dirs) await fsyncDir(d);
  return { files: written.length, bytes: written.reduce((n, f) => n + f.size, 0), outDir };
}
