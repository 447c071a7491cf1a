import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type SqliteDatabase } from 'kysely';
import { AppError } from '@eucp/core';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations.js';

export type { Database } from './schema.js';
export type Db = Kysely<Database>;

/** How many prepared statements `withStatementCache` keeps by default. */
export const STATEMENT_CACHE_SIZE = 256;

/** Called before a statement that writes `table` runs (once per table it names), with its SQL. */
export type WriteListener = (table: string, sql: string) => void;

/**
 * What the hub's own connection can tell about changes to the database, for caches of
 * data derived from it (`openDatabase` provides them; see `dbChanges`).
 */
export interface DbChanges {
  /** Registers a listener for writes through this connection; returns its removal. */
  onWrite(listener: WriteListener): () => void;
  /**
   * SQLite's `PRAGMA data_version`: changes whenever another connection (another process,
   * e.g. the CLI, or another connection of this one) commits to the database file; never
   * for this connection's own writes (those are reported through `onWrite`).
   */
  dataVersion(): number;
}

/**
 * Tables a statement writes: the target of each `INSERT`/`REPLACE INTO`, `UPDATE` and
 * `DELETE FROM` in its SQL (kysely's output or raw SQL; quoted or not). A false positive
 * only costs a cache an unnecessary invalidation, so this errs on the side of matching.
 */
export function writtenTables(sql: string): string[] {
  const out = new Set<string>();
  const re = /\b(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update(?:\s+or\s+\w+)?|delete\s+from)\s+(?:["`[]?main["`\]]?\s*\.\s*)?["`[]?(\w+)/gi;
  for (const m of sql.matchAll(re)) out.add(m[1]!.toLowerCase());
  return [...out];
}

interface CachedStatement {
  stmt: SQLite.Statement;
  /** Tables the statement writes (usually none). */
  writes: readonly string[];
}

/**
 * The better-sqlite3 database as kysely's `SqliteDialect` sees it, with a bounded cache of
 * prepared statements keyed by SQL text. Kysely's SQLite driver prepares every query
 * anew; the hub runs the same few dozen statements over and over, and preparing costs
 * more than running most of them. Safe because better-sqlite3 is synchronous: a statement
 * finishes (`all`/`run`) before the next one starts. The one exception, a statement still
 * being iterated (`busy`), is never handed out twice: a fresh one is prepared instead.
 * Least recently used statements are dropped first.
 *
 * `onWrite` (optional) hears, for every statement about to run, each table it writes:
 * kysely prepares a statement right before it runs it, in the same synchronous step.
 */
export function withStatementCache(sqlite: SQLite.Database, size = STATEMENT_CACHE_SIZE, onWrite?: WriteListener): SqliteDatabase {
  const cache = new Map<string, CachedStatement>();
  const notify = (writes: readonly string[], sql: string) => {
    if (onWrite) for (const t of writes) onWrite(t, sql);
  };
  return {
    prepare(sql: string) {
      let entry = cache.get(sql);
      if (entry !== undefined) {
        cache.delete(sql);
        cache.set(sql, entry);
      } else {
        entry = { stmt: sqlite.prepare(sql), writes: writtenTables(sql) };
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
        cache.set(sql, entry);
      }
      notify(entry.writes, sql);
      return entry.stmt.busy ? sqlite.prepare(sql) : entry.stmt;
    },
    close() {
      cache.clear();
      sqlite.close();
    },
  };
}

const changesOf = new WeakMap<Db, DbChanges>();

/** Change notifications of a database opened by `openDatabase`; undefined for any other `Db`. */
export function dbChanges(db: Db): DbChanges | undefined {
  return changesOf.get(db);
}

/**
 * Opens the hub database and brings its schema up to date. `url` is a file path,
 * `sqlite:<path>`, or `:memory:` (tests). Throws `CONFIG_INVALID` for unsupported URLs.
 */
export async function openDatabase(url: string): Promise<Db> {
  let file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (/^[a-z]+:\/\//.test(url)) {
    throw new AppError('CONFIG_INVALID', `Database URL ${url.replace(/\/\/[^@]*@/, '//***@')} is not supported yet; use a SQLite file path.`, { key: 'db.url' });
  }
  if (file !== ':memory:') {
    file = path.resolve(file);
    mkdirSync(path.dirname(file), { recursive: true });
  }
  const sqlite = new SQLite(file);
  // Only the hub reads its database (SQLite gives the -wal and -shm files the same mode).
  if (file !== ':memory:') chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const listeners = new Set<WriteListener>();
  const onWrite: WriteListener = (table, sql) => {
    for (const l of listeners) l(table, sql);
  };
  const dataVersion = sqlite.prepare('pragma data_version').pluck();
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite, STATEMENT_CACHE_SIZE, onWrite) }) });
  changesOf.set(db, {
    onWrite(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dataVersion: () => (sqlite.open ? (dataVersion.get() as number) : -1),
  });
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new AppError('INTERNAL', `Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, {}, { cause: error });
  }
  return db;
}
