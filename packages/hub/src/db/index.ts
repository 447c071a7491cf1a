import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { AppError } from '@eucp/core';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations.js';

export type { Database } from './schema.js';
export type Db = Kysely<Database>;

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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new AppError('INTERNAL', `Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, {}, { cause: error });
  }
  return db;
}
