/**
 * Where the catalog scanner keeps its state between scans: per file, what identifies its
 * content cheaply (size, mtime, inode) and the facts read from it, so a re-scan reads only new
 * and changed files and forgets deleted ones.
 *
 * Why a SQLite table (migration `0004_catalog`) rather than a JSON state file: the hub
 * already has a transactional database; a scan's changes are applied in one transaction
 * (a crash never leaves half a state file), and 100 000 files do not mean rewriting a
 * 100 MB JSON document each scan. {@link MemoryCatalogStore} serves tests, the bench and
 * one-off scans.
 */
import type { Db } from '../db/index.js';

/** One file's state. */
export interface CatalogStateEntry {
  /** Absolute path (the key). */
  path: string;
  /** The scan root it was found under. */
  root: string;
  size: number;
  /** mtime in nanoseconds and inode number, as decimal text. */
  mtimeNs: string;
  ino: string;
  /** Version of the scanner's fact extraction; an entry of another version is read again. */
  readerVersion: number;
  /** JSON of the facts the scanner extracted; null when the file could not be read. */
  facts: string | null;
  /** Why the file could not be read; null when it could. */
  problem: string | null;
  /** When it was read (ms since the epoch). */
  scannedAt: number;
}

/** Changes of one scan, applied together. */
export interface CatalogStateChanges {
  upserts: readonly CatalogStateEntry[];
  /** Paths to forget (files that are gone). */
  deletes: readonly string[];
}

/**
 * The scanner's state store.
 *
 * Contract: `load` returns every entry by path; `apply` writes all upserts and deletes
 * atomically (all or nothing) and is idempotent for the same changes. Not meant for two
 * concurrent scans of the same store: the scanner serialises its own scans.
 */
export interface CatalogStore {
  load(): Promise<Map<string, CatalogStateEntry>>;
  apply(changes: CatalogStateChanges): Promise<void>;
}

/** A store in memory: incremental across scans of one process, forgotten at exit. */
export class MemoryCatalogStore implements CatalogStore {
  private readonly entries = new Map<string, CatalogStateEntry>();

  async load(): Promise<Map<string, CatalogStateEntry>> {
    return new Map([...this.entries].map(([k, v]) => [k, { ...v }]));
  }

  async apply(changes: CatalogStateChanges): Promise<void> {
    for (const p of changes.deletes) this.entries.delete(p);
    for (const e of changes.upserts) this.entries.set(e.path, { ...e });
  }
}

/** Rows per INSERT statement (SQLite limits bound parameters per statement). */
const BATCH = 200;

/** The store in the hub database (table `catalog_files`). */
export class SqliteCatalogStore implements CatalogStore {
  constructor(private readonly db: Db) {}

  async load(): Promise<Map<string, CatalogStateEntry>> {
    const rows = await this.db.selectFrom('catalog_files').selectAll().execute();
    return new Map(
      rows.map((r) => [
        r.path,
        {
          path: r.path, root: r.root, size: Number(r.size), mtimeNs: r.mtime_ns, ino: r.ino, readerVersion: r.reader_version,
          facts: r.facts, problem: r.problem, scannedAt: Number(r.scanned_at),
        },
      ]),
    );
  }

  async apply(changes: CatalogStateChanges): Promise<void> {
    if (changes.upserts.length === 0 && changes.deletes.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let k = 0; k < changes.deletes.length; k += BATCH) {
        await trx.deleteFrom('catalog_files').where('path', 'in', changes.deletes.slice(k, k + BATCH)).execute();
      }
      for (let k = 0; k < changes.upserts.length; k += BATCH) {
        const rows = changes.upserts.slice(k, k + BATCH).map((e) => ({
          path: e.path, root: e.root, size: e.size, mtime_ns: e.mtimeNs, ino: e.ino, reader_version: e.readerVersion,
          facts: e.facts, problem: e.problem, scanned_at: e.scannedAt,
        }));
        await trx
          .insertInto('catalog_files')
          .values(rows)
          .onConflict((oc) =>
            oc.column('path').doUpdateSet((eb) => ({
              root: eb.ref('excluded.root'), size: eb.ref('excluded.size'), mtime_ns: eb.ref('excluded.mtime_ns'), ino: eb.ref('excluded.ino'),
              reader_version: eb.ref('excluded.reader_version'), facts: eb.ref('excluded.facts'), problem: eb.ref('excluded.problem'),
              scanned_at: eb.ref('excluded.scanned_at'),
            })),
          )
          .execute();
      }
    });
  }
}
