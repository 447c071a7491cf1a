import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration `0002_access` (listed in db/migrations.ts): ESGF access control — roles,
 * access groups, permissions (memberships with `approved`), access requests, in-app
 * notifications and the access audit trail. Never edit once shipped: add a new migration.
 */
export const accessMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('access_roles')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('description', 'text', (c) => c.notNull())
      .execute();
    await db.insertInto('access_roles').values([
      { name: 'super', description: 'Node super-user.' },
      { name: 'user', description: 'Reads the data the group grants.' },
      { name: 'admin', description: 'Administers the group: approves, rejects and revokes.' },
      { name: 'publisher', description: 'Publishes (writes) data of the group.' },
      { name: 'test', description: 'Test role.' },
      { name: 'none', description: 'No rights.' },
    ]).execute();
    await db.schema.createTable('access_groups')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('grants', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('visible', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('automatic_approval', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('licence_id', 'text')
      .addColumn('licence_text', 'text')
      .addColumn('licence_sha256', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createTable('access_memberships')
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('group_id', 'integer', (c) => c.notNull().references('access_groups.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull().references('access_roles.name'))
      .addColumn('approved', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('requested_at', 'bigint', (c) => c.notNull())
      .addColumn('decided_at', 'bigint')
      .addColumn('decided_by', 'text')
      .addPrimaryKeyConstraint('access_memberships_pk', ['user_id', 'group_id', 'role'])
      .execute();
    await db.schema.createIndex('access_memberships_group').on('access_memberships').columns(['group_id', 'role']).execute();
    await db.schema.createTable('access_requests')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('group_id', 'integer', (c) => c.notNull().references('access_groups.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull().references('access_roles.name'))
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('licence_id', 'text')
      .addColumn('licence_sha256', 'text')
      .addColumn('licence_accepted_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('decided_at', 'bigint')
      .addColumn('decided_by', 'text')
      .addColumn('reason', 'text')
      .execute();
    await db.schema.createIndex('access_requests_group_state').on('access_requests').columns(['group_id', 'state']).execute();
    await db.schema.createIndex('access_requests_user').on('access_requests').column('user_id').execute();
    // At most one live (pending or approved) request per user, group and role.
    await sql`create unique index access_requests_live on access_requests (user_id, group_id, role) where state in ('pending', 'approved')`.execute(db);
    await db.schema.createTable('notifications')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('subject_ref', 'text')
      .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('read_at', 'bigint')
      .execute();
    await db.schema.createIndex('notifications_user').on('notifications').columns(['user_id', 'read_at']).execute();
    await db.schema.createIndex('notifications_subject').on('notifications').column('subject_ref').execute();
    await db.schema.createTable('access_audit')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('group_name', 'text')
      .addColumn('role', 'text')
      .addColumn('resource', 'text')
      .addColumn('request_id', 'integer')
      .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema.createIndex('access_audit_at').on('access_audit').column('at').execute();
    await db.schema.createIndex('access_audit_group').on('access_audit').columns(['group_name', 'at']).execute();
  },
};
