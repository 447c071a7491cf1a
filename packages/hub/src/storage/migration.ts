import type { Kysely, Migration } from 'kysely';

/**
 * Migration `0005_storage` (listed in db/migrations.ts): per-user and per-group quota
 * overrides, and whether the owner was already told they crossed the soft limit. Never
 * edit once shipped: add a new migration.
 */
export const storageMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('storage_quotas')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('soft_bytes', 'bigint')
      .addColumn('hard_bytes', 'bigint')
      .addColumn('warned_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull().defaultTo(''))
      .addPrimaryKeyConstraint('storage_quotas_pk', ['kind', 'name'])
      .execute();
  },
};
