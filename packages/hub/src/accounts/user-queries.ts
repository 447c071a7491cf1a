import { sql, type Selectable } from 'kysely';
import type { UserName } from '@eucp/core';
import type { Db } from '../db/index.js';
import type { ServersTable, UsersTable } from '../db/schema.js';
import type { UserRecord } from './types.js';

/** `state` filter of `GET /users`: any ready-or-pending server, any ready server, none active. */
export type UserStateFilter = 'active' | 'ready' | 'inactive';
export type UserSortKey = 'id' | 'name' | 'last_activity';

export interface UserQuery {
  /** Case-insensitive substring of the name. */
  nameFilter?: string;
  state?: UserStateFilter;
  sort?: { key: UserSortKey; descending: boolean };
  /** Only these users / members of these groups (filtered `list:users` scopes); undefined = all. */
  restrictTo?: { users: readonly string[]; groups: readonly string[] };
  offset: number;
  limit: number;
}

const ACTIVE_STATES = ['starting', 'running', 'stopping'] as const;

function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id, name: row.name as UserName, admin: row.admin === 1, createdAt: row.created_at,
    lastActivity: row.last_activity, hasPassword: row.password_hash !== null,
  };
}

/** Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** One page of users matching the query, and how many match in total. */
export async function queryUsers(db: Db, q: UserQuery): Promise<{ items: UserRecord[]; total: number }> {
  let base = db.selectFrom('users');
  if (q.nameFilter) {
    const pattern = `%${escapeLike(q.nameFilter.toLowerCase())}%`;
    base = base.where(sql<boolean>`lower(users.name) like ${pattern} escape '\\'`);
  }
  if (q.state) {
    const states = q.state === 'ready' ? ['running'] : [...ACTIVE_STATES];
    const exists = sql<boolean>`exists (select 1 from servers where servers.user_id = users.id and servers.state in (${sql.join(states)}))`;
    base = base.where(q.state === 'inactive' ? sql<boolean>`not ${exists}` : exists);
  }
  if (q.restrictTo) {
    const { users, groups } = q.restrictTo;
    base = base.where((eb) => eb.or([
      ...(users.length ? [eb('users.name', 'in', [...users])] : []),
      ...(groups.length ? [eb.exists(eb.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id')
        .select('group_members.user_id').whereRef('group_members.user_id', '=', 'users.id').where('groups.name', 'in', [...groups]))] : []),
      ...(users.length || groups.length ? [] : [sql<boolean>`0 = 1`]),
    ]));
  }
  const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const key = q.sort?.key ?? 'id';
  const dir = q.sort?.descending ? 'desc' : 'asc';
  const rows = await base.selectAll('users').orderBy(`users.${key}`, dir).orderBy('users.id', dir)
    .offset(q.offset).limit(q.limit).execute();
  return { items: rows.map(toUser), total };
}

/** All server rows of the given users, keyed by user id (ordered by server name). */
export async function serversOfUsers(db: Db, userIds: readonly number[]): Promise<Map<number, Array<Selectable<ServersTable>>>> {
  const out = new Map<number, Array<Selectable<ServersTable>>>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return out;
  const rows = await db.selectFrom('servers').selectAll().where('user_id', 'in', [...userIds]).orderBy('name').execute();
  for (const r of rows) out.get(r.user_id)?.push(r);
  return out;
}

/**
 * Records activity reported by a server (contract §c.2): each timestamp is stored only
 * if newer than the current value. `servers` maps server name → time (ms).
 */
export async function recordActivity(db: Db, userId: number, update: { user?: number; servers?: ReadonlyMap<string, number> }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (update.user !== undefined) {
      const t = update.user;
      await trx.updateTable('users').set({ last_activity: t }).where('id', '=', userId)
        .where((eb) => eb.or([eb('last_activity', 'is', null), eb('last_activity', '<', t)])).execute();
    }
    for (const [name, t] of update.servers ?? []) {
      await trx.updateTable('servers').set({ last_activity: t }).where('user_id', '=', userId).where('name', '=', name)
        .where((eb) => eb.or([eb('last_activity', 'is', null), eb('last_activity', '<', t)])).execute();
    }
  });
}
