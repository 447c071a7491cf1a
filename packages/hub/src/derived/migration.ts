import type { Kysely, Migration } from 'kysely';

/**
 * Tables of derived data in the catalog (derived/): `derived_datasets` (one publication of
 * an owner's folder under a name: title, description, own licence, chosen audience, the
 * read-only share that shows it to readers) and `derived_versions` (each publication of
 * it: files with checksums, facts read from them, declared inputs and their licences).
 */
export const derivedMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('derived_datasets')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('area', 'text', (c) => c.notNull())
      .addColumn('rel_path', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('licence_id', 'text')
      .addColumn('licence_text', 'text')
      .addColumn('audience', 'text', (c) => c.notNull())
      .addColumn('share_id', 'integer', (c) => c.references('shares.id').onDelete('set null'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('unpublished_at', 'bigint')
      .execute();
    await db.schema.createIndex('derived_datasets_owner').on('derived_datasets').columns(['owner_id', 'name']).execute();
    await db.schema.createTable('derived_versions')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('dataset_id', 'integer', (c) => c.notNull().references('derived_datasets.id').onDelete('cascade'))
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('files', 'text', (c) => c.notNull())
      .addColumn('facts', 'text', (c) => c.notNull())
      .addColumn('inputs', 'text', (c) => c.notNull())
      .addColumn('licences', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('derived_versions_dataset').on('derived_versions').column('dataset_id').execute();
  },
};
