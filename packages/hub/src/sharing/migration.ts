import type { Kysely, Migration } from 'kysely';

/**
 * Tables of read-only sharing: `shares` (what an owner shares: one file or folder of one
 * of their areas, and the name recipients see) and `share_grants` (who may read it: a
 * user, a hub group, or a link whose token is stored only as a SHA-256 hash).
 */
export const sharingMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('shares')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('area', 'text', (c) => c.notNull())
      .addColumn('rel_path', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('shares_owner').on('shares').column('owner_id').execute();
    await db.schema.createTable('share_grants')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('share_id', 'integer', (c) => c.notNull().references('shares.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('group_id', 'integer', (c) => c.references('groups.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.unique())
      .addColumn('parent_grant_id', 'integer', (c) => c.references('share_grants.id').onDelete('cascade'))
      .addColumn('expires_at', 'bigint')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('share_grants_share').on('share_grants').column('share_id').execute();
    await db.schema.createIndex('share_grants_user').on('share_grants').column('user_id').execute();
  },
};
