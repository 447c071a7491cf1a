/**
 * The part of the data cache a user's sandbox shows: the catalog's dataset directories,
 * filtered by the user's access decisions (`computeDataView` in @eucp/core).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { computeDataView, isSafeRelativePath, type DataTreeDataset } from '@eucp/core';
import type { Logger } from '../log/index.js';
import type { AccessReader, AccessUser } from '../access/index.js';
import type { AccessChange } from '../access/types.js';
import type { ScanResult } from '../catalog/scanner.js';

/** Top-level entries of the data directory every sandbox shows (public, list no data set). */
export const PUBLIC_DATA_ENTRIES: readonly string[] = ['eucp-syn-cv.json'];

/** What a user's sandbox shows of the data cache. */
export interface UserDataView {
  /** Paths to bind (relative to the data directory), or null for all of it. */
  paths: string[] | null;
  /** Data sets shown, and in the catalog. */
  readable: number;
  total: number;
  /** False before the catalog's first scan: then no data set is shown (safe default). */
  catalogReady: boolean;
}

/**
 * Computes data views. Contract: `viewFor` never shows a data set the user may not read
 * now; it waits (bounded) for the catalog's first scan; without one (or when the catalog's roots cannot be mapped onto
 * the data directory) it shows only the public entries. `onChange` calls its listener with
 * a user name after a grant or revocation of theirs (`'*'` after a policy reload: everyone's); `generation()` changes whenever the
 * catalog does (both mean "views may have changed").
 */
export interface DataViewSource {
  /** `wait: false`: do not wait for the catalog's first scan (for status checks). */
  viewFor(user: AccessUser, opts?: { wait?: boolean }): Promise<UserDataView>;
  onChange(listener: (user: string) => void): () => void;
  generation(): number;
  /** Writes the access audit's `mount` entry of a start that bound `view` (never throws). */
  recordMount?(user: AccessUser, server: string, view: UserDataView): Promise<void>;
}

export interface CatalogDataViewDeps {
  access: {
    reader(user: AccessUser | null): Promise<AccessReader>;
    onChange(l: (c: AccessChange) => void): () => void;
    recordMount?(user: AccessUser, e: { server: string; readable: number; total: number; catalogReady: boolean }): Promise<void>;
  };
  catalog: { last(): ScanResult | null; generation(): number };
  /** The data directory bound into sandboxes (absolute). */
  dataDir: string;
  /** The catalog's scan roots (absolute); the view needs exactly one, at or below `dataDir`. */
  roots: readonly string[];
  publicEntries?: readonly string[];
  /**
   * How long `viewFor` waits for the catalog's first scan (a hub that just started) before
   * it settles for the safe view (no data set); default 60 000 ms.
   */
  firstScanWaitMs?: number;
  log: Logger;
}

const ROOT_MARK = '/esg_dataroot/';

/** The rel path of a file doc (from its HTTPServer URL), or null. */
function relOf(doc: Record<string, unknown>): string | null {
  const urls = doc['url'];
  if (!Array.isArray(urls)) return null;
  for (const u of urls) {
    if (typeof u !== 'string' || !u.endsWith('|HTTPServer')) continue;
    const i = u.indexOf(ROOT_MARK);
    if (i >= 0) return decodeURI(u.slice(i + ROOT_MARK.length, u.indexOf('|')));
  }
  return null;
}

/** {@link DataViewSource} over the hub's catalog scan and access service. */
export class CatalogDataView implements DataViewSource {
  private cached: { gen: number; datasets: DataTreeDataset[]; unknown: string[] } | null = null;
  private warned = false;

  constructor(private readonly deps: CatalogDataViewDeps) {}

  generation(): number {
    return this.deps.catalog.generation();
  }

  onChange(listener: (user: string) => void): () => void {
    return this.deps.access.onChange((c) => {
      if (c.change === 'granted' || c.change === 'revoked' || c.change === 'policies') listener(c.user);
    });
  }

  /** Path of the single catalog root relative to the data directory ('' = the data directory), or null. */
  private rootPrefix(): string | null {
    const [root, ...more] = this.deps.roots.map((r) => path.resolve(r));
    if (!root || more.length) return null;
    const rel = path.relative(path.resolve(this.deps.dataDir), root);
    if (rel === '') return '';
    return rel.startsWith('..') || path.isAbsolute(rel) ? null : rel.split(path.sep).join('/');
  }

  private tree(last: ScanResult, prefix: string): { datasets: DataTreeDataset[]; unknown: string[] } {
    const gen = this.deps.catalog.generation();
    if (this.cached?.gen === gen) return this.cached;
    const byDir = new Map<string, string>();
    for (const f of last.files) {
      const rel = relOf(f);
      const ds = typeof f['dataset_id'] === 'string' ? f['dataset_id'].split('|')[0]! : null;
      if (!rel || !ds) continue;
      const dir = path.posix.dirname(prefix ? `${prefix}/${rel}` : rel);
      if (isSafeRelativePath(dir) && !byDir.has(dir)) byDir.set(dir, ds);
    }
    const dataDir = path.resolve(this.deps.dataDir);
    const unknown: string[] = [];
    for (const p of last.problems) {
      if (!p.skipped) continue;
      const rel = path.relative(dataDir, path.resolve(p.path));
      if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) unknown.push(rel.split(path.sep).join('/'));
    }
    this.cached = { gen, datasets: [...byDir].map(([p, id]) => ({ path: p, id })), unknown };
    return this.cached;
  }

  private async waitForFirstScan(): Promise<ScanResult | null> {
    const deadline = Date.now() + (this.deps.firstScanWaitMs ?? 60_000);
    for (;;) {
      const last = this.deps.catalog.last();
      if (last || Date.now() >= deadline) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async recordMount(user: AccessUser, server: string, view: UserDataView): Promise<void> {
    try {
      await this.deps.access.recordMount?.(user, { server, readable: view.readable, total: view.total, catalogReady: view.catalogReady });
    } catch (err) {
      this.deps.log.warn({ err, user: user.name }, 'could not write the mount audit entry');
    }
  }

  async viewFor(user: AccessUser, opts: { wait?: boolean } = {}): Promise<UserDataView> {
    const topLevel = await readdir(this.deps.dataDir).catch(() => [] as string[]);
    const publicEntries = this.deps.publicEntries ?? PUBLIC_DATA_ENTRIES;
    const last = this.deps.catalog.last() ?? (opts.wait === false ? null : await this.waitForFirstScan());
    const prefix = this.rootPrefix();
    if (prefix === null && !this.warned) {
      this.warned = true;
      this.deps.log.warn({ roots: this.deps.roots, dataDir: this.deps.dataDir }, 'catalog roots are not one directory inside the data directory: sandboxes show no data set');
    }
    if (!last || prefix === null) {
      const view = computeDataView({ datasets: [], topLevel, publicEntries }, () => false);
      return { paths: view.paths, readable: 0, total: 0, catalogReady: last !== null };
    }
    const { datasets, unknown } = this.tree(last, prefix);
    const reader = await this.deps.access.reader(user);
    const view = computeDataView({ datasets, topLevel, unknown, publicEntries }, (id) => reader.canRead(id));
    return { ...view, catalogReady: true };
  }
}

/** The spawn progress message about the data a sandbox shows. */
export function dataViewMessage(v: UserDataView): string {
  if (!v.catalogReady) return 'Your data: the data catalog is still being built, so no data set is in your sandbox yet (restart your server in a minute)';
  if (v.total === 0) return 'Your data: the data cache holds no data set';
  if (v.readable === v.total) return `Your data: all ${v.total} data sets`;
  return `Your data: ${v.readable} of ${v.total} data sets (request access to the others in the catalog)`;
}
