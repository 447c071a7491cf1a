/**
 * The catalog scanner: walks the data cache's roots, reads the header of each NetCDF file in
 * a CMIP6 or CORDEX DRS layout (only new and changed files, thanks to the state in a
 * {@link CatalogStore}), checksums it, and produces ESGF Dataset and File search documents
 * with versions (latest / superseded), retractions from errata files and replicas.
 *
 * Nothing here is fatal for one bad file: it is listed in `problems` (and logged) and the rest
 * is indexed.
 */
import type { BigIntStats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '@eucp/core';
import type { Logger } from '../log/index.js';
import { crossCheck, parseDrsPath } from './drs.js';
import { loadErrata, retractedIds, type Erratum } from './errata.js';
import { docsOf, EUCP_SYN_PUBLICATION, replicaNodes, versionFlags, type DatasetVersion, type EsgfDoc, type PublicationSettings, type ScannedFile } from './scanner-docs.js';
import { READER_VERSION, readFileFacts, type FileFacts } from './scanner-facts.js';
import { MemoryCatalogStore, type CatalogStateEntry, type CatalogStore } from './store.js';

export type { EsgfDoc, PublicationSettings } from './scanner-docs.js';
export { EUCP_SYN_PUBLICATION } from './scanner-docs.js';
export type { Erratum } from './errata.js';

/** A root of the data cache; `dataNode`/`replica` override the publication settings for its files. */
export interface ScanRoot {
  path: string;
  dataNode?: string;
  /** The root holds replicas of data published elsewhere: its docs get `replica=true`. */
  replica?: boolean;
}

/** Options of {@link scanCatalog}. */
export interface ScanOptions {
  /** Directories to scan (absolute, or relative to the working directory). */
  roots: readonly (string | ScanRoot)[];
  /** State between scans; default a fresh in-memory store (every file is read). */
  store?: CatalogStore;
  /** Errata files; default `<root>/errata.json` of each root where it exists. */
  errataFiles?: readonly string[] | null;
  /** Publication settings; defaults: {@link EUCP_SYN_PUBLICATION}. */
  publication?: Partial<PublicationSettings>;
  /** Compute SHA-256 checksums (default true). */
  checksums?: boolean;
  /** Files read in parallel (default 4). */
  concurrency?: number;
  log?: Logger;
  /** Clock (ms since the epoch), for `scannedAt`. */
  now?: () => number;
}

/** Why a file is not (fully) in the index. */
export interface ScanProblem {
  path: string;
  reason: string;
  /** `unreadable`: not NetCDF / truncated / I/O; `layout`: not in a DRS path; `mismatch`: path vs file; `errata`; `duplicate`. */
  kind: 'unreadable' | 'layout' | 'mismatch' | 'errata' | 'duplicate';
  /** True if the file is left out of the docs; false for a mismatch (indexed by its path's facets). */
  skipped: boolean;
}

/** What a scan found. Docs are sorted by `id`, with each dataset's files together. */
export interface ScanResult {
  datasets: EsgfDoc[];
  files: EsgfDoc[];
  problems: ScanProblem[];
  /** Errata entries read (for dataset pages). */
  errata: Erratum[];
  stats: {
    /** NetCDF files found below the roots. */
    filesSeen: number;
    /** Files opened and read this scan (new, changed, or of an older reader version). */
    filesRead: number;
    /** State entries dropped because their file is gone. */
    filesDeleted: number;
    ms: number;
  };
}


interface Found {
  abs: string;
  rel: string;
  root: Required<ScanRoot>;
  st: BigIntStats;
}

/** Every `*.nc` regular file below a root (symlinks followed, each directory once; dot-files skipped). */
async function walk(root: Required<ScanRoot>, problems: ScanProblem[]): Promise<Found[]> {
  const out: Found[] = [];
  const seenDirs = new Set<string>();
  const visit = async (dir: string, rel: string): Promise<void> => {
    let st: BigIntStats;
    try {
      st = await stat(dir, { bigint: true });
    } catch (err) {
      problems.push({ path: dir, reason: `cannot read directory: ${(err as Error).message}`, kind: 'unreadable', skipped: true });
      return;
    }
    const key = `${st.dev}:${st.ino}`;
    if (seenDirs.has(key)) return;
    seenDirs.add(key);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      problems.push({ path: dir, reason: `cannot read directory: ${(err as Error).message}`, kind: 'unreadable', skipped: true });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const abs = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(abs, r);
      else if (e.isSymbolicLink() || e.isFile()) {
        const s = await stat(abs, { bigint: true }).catch(() => null);
        if (s?.isDirectory()) await visit(abs, r);
        else if (s?.isFile() && e.name.endsWith('.nc')) out.push({ abs, rel: r, root, st: s });
      }
    }
  };
  await visit(root.path, '');
  return out;
}

const sameFile = (e: CatalogStateEntry, f: Found): boolean =>
  e.root === f.root.path && e.size === Number(f.st.size) && e.mtimeNs === String(f.st.mtimeNs) && e.ino === String(f.st.ino);

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

function settingsOf(opts: ScanOptions): PublicationSettings {
  const pub = { ...EUCP_SYN_PUBLICATION, ...opts.publication };
  for (const r of pub.replicas) {
    try {
      new RegExp(r.pattern);
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `Replica pattern ${JSON.stringify(r.pattern)} is not a valid regular expression: ${(err as Error).message}`, { key: 'catalog.replicas' });
    }
  }
  return pub;
}

const lastScan = new WeakMap<CatalogStore, Promise<unknown>>();

/**
 * Scans the roots and returns the ESGF docs of everything readable, plus the problems.
 *
 * Incremental: a file whose size, mtime (ns) and inode equal the store's entry is not opened
 * again; new and changed files are read (header, time range, extent, SHA-256); entries of
 * files that are gone are deleted. Scans sharing a store run one after the other.
 * @throws AppError `CONFIG_INVALID` for an invalid replica pattern; nothing else is fatal.
 */
export async function scanCatalog(opts: ScanOptions): Promise<ScanResult> {
  const store = opts.store ?? new MemoryCatalogStore();
  const previous = lastScan.get(store) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => scanOnce(opts, store));
  lastScan.set(store, run);
  return run;
}

async function scanOnce(opts: ScanOptions, store: CatalogStore): Promise<ScanResult> {
  const t0 = performance.now();
  const pub = settingsOf(opts);
  const now = opts.now ?? Date.now;
  const checksums = opts.checksums ?? true;
  const log = opts.log;
  const roots: Required<ScanRoot>[] = opts.roots.map((r) => {
    const o = typeof r === 'string' ? { path: r } : r;
    return { path: resolve(o.path), dataNode: o.dataNode ?? pub.dataNode, replica: o.replica ?? false };
  });
  const problems: ScanProblem[] = [];

  const found: Found[] = [];
  for (const root of roots) found.push(...(await walk(root, problems)));
  const state = await store.load();
  const upserts: CatalogStateEntry[] = [];
  const current = new Map<string, { found: Found; entry: CatalogStateEntry }>();
  const toRead: { f: Found; variable: string }[] = [];
  // A file under two nested roots is indexed by the first root where its path is a DRS path.
  const claimed = new Set<string>();
  const layoutErrors = new Map<string, string>();
  for (const f of found) {
    if (claimed.has(f.abs)) continue;
    const drs = parseDrsPath(f.rel, pub.rcmNameMap);
    if ('error' in drs) {
      if (!layoutErrors.has(f.abs)) layoutErrors.set(f.abs, drs.error);
      continue;
    }
    claimed.add(f.abs);
    const e = state.get(f.abs);
    const usable = e && sameFile(e, f) && e.readerVersion === READER_VERSION && (e.problem !== null || !checksums || !e.facts?.includes('"sha256":null'));
    if (usable) current.set(f.abs, { found: f, entry: e });
    else toRead.push({ f, variable: drs.variable });
  }
  for (const [path, reason] of layoutErrors) if (!claimed.has(path)) problems.push({ path, reason, kind: 'layout', skipped: true });

  await pool(toRead, opts.concurrency ?? 4, async ({ f, variable }) => {
    let facts: FileFacts | null = null;
    let problem: string | null = null;
    try {
      facts = await readFileFacts(f.abs, Number(f.st.size), variable, checksums);
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    const after = await stat(f.abs, { bigint: true }).catch(() => null);
    if (!after || after.size !== f.st.size || after.mtimeNs !== f.st.mtimeNs) {
      problems.push({ path: f.abs, reason: 'the file changed while it was being read; it is read again at the next scan', kind: 'unreadable', skipped: true });
      return;
    }
    const entry: CatalogStateEntry = {
      path: f.abs, root: f.root.path, size: Number(f.st.size), mtimeNs: String(f.st.mtimeNs), ino: String(f.st.ino),
      readerVersion: READER_VERSION, facts: facts ? JSON.stringify(facts) : null, problem, scannedAt: now(),
    };
    upserts.push(entry);
    current.set(f.abs, { found: f, entry });
  });
  const seen = new Set(found.map((f) => f.abs));
  const gone = [...state.keys()].filter((p) => !seen.has(p));
  // Also forget files that left the DRS layout or changed while being read: no stale entry stays.
  const deletes = [...state.keys()].filter((p) => !current.has(p));
  await store.apply({ upserts, deletes });

  // Docs from every current entry, in path order for stable output.
  const groups = new Map<string, DatasetVersion & { files: ScannedFile[] }>();
  for (const [abs, { found: f, entry }] of [...current].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (entry.problem !== null || entry.facts === null) {
      problems.push({ path: abs, reason: entry.problem ?? 'unreadable', kind: 'unreadable', skipped: true });
      continue;
    }
    const facts = JSON.parse(entry.facts) as FileFacts;
    const drs = parseDrsPath(f.rel, pub.rcmNameMap);
    if ('error' in drs) continue; // cannot happen: checked above
    for (const reason of crossCheck(drs, facts.attrs, facts.variables, facts.time)) problems.push({ path: abs, reason, kind: 'mismatch', skipped: false });
    if (facts.timeProblem) problems.push({ path: abs, reason: `time axis not decoded: ${facts.timeProblem}`, kind: 'mismatch', skipped: false });
    const key = `${drs.instance_id}|${f.root.dataNode}`;
    let g = groups.get(key);
    if (!g) {
      g = { instance_id: drs.instance_id, master_id: drs.master_id, version: drs.version, dataNode: f.root.dataNode, replica: f.root.replica, files: [] };
      groups.set(key, g);
    }
    if (g.files.some((x) => x.drs.fileName === drs.fileName)) {
      problems.push({ path: abs, reason: `another root already holds ${drs.fileName} of ${key}`, kind: 'duplicate', skipped: true });
      continue;
    }
    g.files.push({ drs, facts, rel: f.rel, dataNode: f.root.dataNode, replica: f.root.replica });
  }

  const errataFiles = opts.errataFiles ? opts.errataFiles.map((p) => ({ path: resolve(p), optional: false })) : roots.map((r) => ({ path: join(r.path, 'errata.json'), optional: true }));
  const errata = await loadErrata(errataFiles);
  for (const p of errata.problems) problems.push({ ...p, kind: 'errata', skipped: false });
  const flags = versionFlags([...groups.values()], retractedIds(errata.errata));

  const versions: DatasetVersion[] = [];
  const nodesOf = new Map<string, Set<string>>();
  for (const g of groups.values()) {
    g.files.sort((a, b) => (a.drs.fileName < b.drs.fileName ? -1 : 1));
    versions.push(g);
    nodesOf.set(g.instance_id, (nodesOf.get(g.instance_id) ?? new Set()).add(g.dataNode));
  }
  for (const g of [...versions]) {
    if (g.replica) continue;
    for (const node of replicaNodes(g.instance_id, nodesOf.get(g.instance_id)!, pub)) versions.push({ ...g, dataNode: node, replica: true });
  }
  versions.sort((a, b) => (a.instance_id !== b.instance_id ? (a.instance_id < b.instance_id ? -1 : 1) : Number(a.replica) - Number(b.replica) || (a.dataNode < b.dataNode ? -1 : 1)));
  const datasets: EsgfDoc[] = [];
  const files: EsgfDoc[] = [];
  for (const v of versions) {
    const d = docsOf(v, flags.get(v.instance_id)!, pub);
    datasets.push(d.dataset);
    files.push(...d.files);
  }

  // Each problem is logged when its file is read (or at the first scan); periodic re-scans only count them.
  const readNow = new Set(toRead.map((x) => x.f.abs));
  for (const p of problems) {
    if (state.size === 0 || readNow.has(p.path)) log?.warn({ path: p.path, reason: p.reason, kind: p.kind }, p.skipped ? 'catalog: file skipped' : 'catalog: file indexed with a problem');
  }
  const stats = { filesSeen: seen.size, filesRead: toRead.length, filesDeleted: gone.length, ms: Math.round(performance.now() - t0) };
  log?.info({ ...stats, datasets: datasets.length, files: files.length, problems: problems.length }, 'catalog: scan finished');
  return { datasets, files, problems, errata: errata.errata, stats };
}
