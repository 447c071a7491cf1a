import type { Kysely, Migration } from 'kysely';

/**
 * Migration `0004_catalog` (listed in db/migrations.ts): the catalog scanner's state, one row
 * per NetCDF file seen, keyed by absolute path, with what identifies its content cheaply
 * (size, mtime in ns, inode) and the facts read from it (JSON), so a re-scan reads only new
 * and changed files. Never edit once shipped: add a new migration.
 */
export const catalogMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('catalog_files')
      .addColumn('path', 'text', (c) => c.primaryKey())
      .addColumn('root', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      // Nanosecond mtime and inode as decimal text: both can exceed 2^53.
      .addColumn('mtime_ns', 'text', (c) => c.notNull())
      .addColumn('ino', 'text', (c) => c.notNull())
      .addColumn('reader_version', 'integer', (c) => c.notNull())
      .addColumn('facts', 'text')
      .addColumn('problem', 'text')
      .addColumn('scanned_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
