/**
 * The data-cache files the hub serves itself (`/thredds/fileServer/esg_dataroot/<rel>`, the
 * HTTPServer URL of every File doc): which `rel` paths the catalog indexed, to which data
 * set each belongs, and how one is opened safely.
 *
 * Safety, in order: the request path is parsed strictly ({@link parseDataPath}: no `..`,
 * no encoded slash or NUL, no empty segment); only a `rel` of the catalog index is served;
 * the file is `<root>/<rel>` of the first catalog root where it exists, its real path
 * (symlinks resolved) must lie inside a root's real path, and it is opened without
 * following a final symlink and checked to be a regular file on the open descriptor.
 */
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { hasScope, isSafeRelativePath } from '@eucp/core';
import type { HubConfig } from '../config/schema.js';
import type { AuthContext } from '../auth/types.js';
import type { AccessUser } from '../access/index.js';
import type { CatalogDocs } from './scanner-service.js';

/** URL path of the data files below the hub (the THREDDS HTTPServer path of ESGF data nodes). */
export const DATA_FILE_PREFIX = '/thredds/fileServer/esg_dataroot/';

const ROOT_MARK = '/esg_dataroot/';
const MAX_PATH = 4096;

/** One file of the catalog index as the file endpoint needs it. */
export interface DataFileEntry {
  /** Path below the data root, `/`-separated (the DRS path). */
  readonly rel: string;
  /** The data set's id the access decision is made on: its instance_id with version. */
  readonly datasetId: string;
  /** The File doc's instance_id (`<dataset instance_id>.<file name>`). */
  readonly fileId: string;
  /** SHA-256 (lower-case hex) from the scan, or null when checksums were off. */
  readonly sha256: string | null;
  /** Size in bytes at the scan. */
  readonly size: number | null;
}

/** The `rel` of a File doc (from its HTTPServer URL), or null. */
export function relOfDoc(doc: Readonly<Record<string, unknown>>): string | null {
  const urls = doc['url'];
  if (!Array.isArray(urls)) return null;
  for (const u of urls) {
    if (typeof u !== 'string' || !u.endsWith('|HTTPServer')) continue;
    const url = u.slice(0, u.indexOf('|'));
    const i = url.indexOf(ROOT_MARK);
    if (i < 0) continue;
    try {
      return decodeURI(url.slice(i + ROOT_MARK.length));
    } catch {
      return null;
    }
  }
  return null;
}

/** The entry of a File doc, or null when it has no usable URL or data set. */
export function entryOfDoc(doc: Readonly<Record<string, unknown>>): DataFileEntry | null {
  const rel = relOfDoc(doc);
  const ds = typeof doc['dataset_id'] === 'string' ? doc['dataset_id'].split('|')[0]! : '';
  if (!rel || !ds || !isSafeRelativePath(rel)) return null;
  const sums = Array.isArray(doc['checksum']) ? doc['checksum'] : [];
  const types = Array.isArray(doc['checksum_type']) ? doc['checksum_type'] : [];
  const sha = String(types[0] ?? '').toUpperCase() === 'SHA256' && typeof sums[0] === 'string' && /^[0-9a-fA-F]{64}$/.test(sums[0]) ? sums[0].toLowerCase() : null;
  return {
    rel, datasetId: ds, fileId: typeof doc['instance_id'] === 'string' ? doc['instance_id'] : rel, sha256: sha,
    size: typeof doc['size'] === 'number' ? doc['size'] : null,
  };
}

/**
 * The `rel` of a request path below {@link DATA_FILE_PREFIX} (the raw, still percent-encoded
 * text after the prefix, without query), or null when it is not a plain relative path:
 * empty, `.`/`..` segments (also percent-encoded), empty segments, an encoded `/` or `\`,
 * NUL or other control characters, a backslash, bad percent-encoding, or too long.
 */
export function parseDataPath(raw: string): string | null {
  if (raw === '' || raw.length > MAX_PATH || /%(2f|5c|00)/i.test(raw) || raw.includes('\\')) return null;
  const segs: string[] = [];
  for (const enc of raw.split('/')) {
    let s: string;
    try {
      s = decodeURIComponent(enc);
    } catch {
      return null;
    }
    if (s === '' || s === '.' || s === '..' || /[\u0000-\u001f\u007f/\\]/.test(s)) return null;
    segs.push(s);
  }
  const rel = segs.join('/');
  return isSafeRelativePath(rel) ? rel : null;
}

/** The catalog roots the files are below (as the scanner resolves them): `catalog.roots`, default the data directory. */
export function catalogRootsOf(config: HubConfig): string[] {
  return (config.catalog.roots ?? [config.dataDir ?? path.join(config.stateDir, 'data')]).map((r) => path.resolve(r));
}

/** An opened data file: read it through `handle` (the caller closes it), never by path. */
export interface OpenedDataFile {
  readonly handle: FileHandle;
  readonly size: number;
  readonly mtimeMs: number;
  /** Stable validator of this file version (inode, size, mtime). */
  readonly etag: string;
}

export interface DataFileIndexDeps {
  /** The catalog index (the scanner service). */
  catalog: { docs(): CatalogDocs; generation(): number };
  /** Absolute catalog roots, in the scanner's order. */
  roots: readonly string[];
}

/**
 * The files of the catalog index by `rel`, rebuilt when the catalog's generation changes.
 * Contract: `lookup` knows only what the last complete scan indexed (master and replica docs
 * of one file are one entry); `open` returns null for anything not safely servable.
 */
export class DataFileIndex {
  private cached: { gen: number; byRel: Map<string, DataFileEntry> } | null = null;

  constructor(private readonly deps: DataFileIndexDeps) {}

  /** The index entry of `rel`, or undefined when the catalog does not hold it. */
  lookup(rel: string): DataFileEntry | undefined {
    const gen = this.deps.catalog.generation();
    if (this.cached?.gen !== gen) {
      const byRel = new Map<string, DataFileEntry>();
      for (const doc of this.deps.catalog.docs().files) {
        const e = entryOfDoc(doc);
        if (e && !byRel.has(e.rel)) byRel.set(e.rel, e);
      }
      this.cached = { gen, byRel };
    }
    return this.cached.byRel.get(rel);
  }

  /**
   * Opens `<root>/<rel>` of the first root where it exists, or null when it is missing, not a
   * regular file, or its real path leaves every root (a symlink out of the data cache).
   */
  async open(rel: string): Promise<OpenedDataFile | null> {
    if (!isSafeRelativePath(rel)) return null;
    const roots = (await Promise.all(this.deps.roots.map((r) => realpath(r).catch(() => null)))).filter((r): r is string => r !== null);
    for (const root of this.deps.roots) {
      const real = await realpath(path.join(root, ...rel.split('/'))).catch(() => null);
      if (real === null) continue;
      if (!roots.some((r) => real.startsWith(r.endsWith(path.sep) ? r : r + path.sep))) return null;
      let handle: FileHandle;
      try {
        handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch {
        return null;
      }
      const st = await handle.stat({ bigint: true }).catch(() => null);
      if (!st?.isFile()) {
        await handle.close();
        return null;
      }
      return {
        handle, size: Number(st.size), mtimeMs: Number(st.mtimeMs),
        etag: `"${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`,
      };
    }
    return null;
  }
}

/**
 * Whose access decides a data read: the caller's user when their credential may act as
 * them (`read:users` on themselves: a browser session or a token with `inherit`), else
 * anonymous; `limited` says a credential was sent that may not (so a refusal can say why).
 */
export function dataReader(auth: AuthContext | null): { user: AccessUser | null; limited: boolean } {
  if (!auth) return { user: null, limited: false };
  const self = hasScope(auth.scopes, 'read:users', { user: auth.user.name, userGroups: auth.user.groups });
  return self ? { user: { id: auth.user.id, name: auth.user.name }, limited: false } : { user: null, limited: true };
}

/** The hub's public base URL (`publicUrl`, else scheme and a well-formed Host of the request), without trailing slash. */
export function publicBase(config: HubConfig, req: { protocol: string; headers: { host?: string | undefined } }): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  const host = req.headers.host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(req.headers.host) ? req.headers.host : 'localhost';
  return `${req.protocol === 'https' ? 'https' : 'http'}://${host}`;
}

/** The catalog page of a data set (where access is requested). */
export function datasetPageUrl(base: string, datasetId: string): string {
  return `${base}/hub/catalog/dataset/${encodeURIComponent(datasetId)}`;
}
