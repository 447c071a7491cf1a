import { AppError, parseGroupName, parseUserName, type GroupName, type UserName } from '@eucp/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { isUniqueViolation, writeAudit } from './audit.js';
import type { Actor, GroupRecord } from './types.js';

/** Largest accepted `properties` object, in bytes of JSON. */
export const GROUP_PROPERTIES_MAX_BYTES = 64 * 1024;

type Db = Kysely<Database>;

/** Validates group properties: a JSON object of bounded size. Throws `INVALID_INPUT`. */
export function parseGroupProperties(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AppError('INVALID_INPUT', 'Group properties must be a JSON object.', { field: 'properties' });
  }
  const json = JSON.stringify(raw);
  if (Buffer.byteLength(json) > GROUP_PROPERTIES_MAX_BYTES) {
    throw new AppError('INVALID_INPUT', `Group properties may have at most ${GROUP_PROPERTIES_MAX_BYTES} bytes.`, { field: 'properties' });
  }
  return JSON.parse(json) as Record<string, unknown>;
}

function parseProperties(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Members of a group by id, sorted by name. */
export async function membersOf(db: Db, groupId: number): Promise<UserName[]> {
  const rows = await db.selectFrom('group_members').innerJoin('users', 'users.id', 'group_members.user_id')
    .select('users.name').where('group_members.group_id', '=', groupId).orderBy('users.name').execute();
  return rows.map((r) => r.name as UserName);
}

/** Loads a group with its members; null if it does not exist. */
export async function findGroup(db: Db, name: string): Promise<GroupRecord | null> {
  const row = await db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id, name: row.name as GroupName, properties: parseProperties(row.properties), createdAt: row.created_at,
    users: await membersOf(db, row.id),
  };
}

/** Loads a group; throws `NOT_FOUND`. */
export async function getGroup(db: Db, name: string): Promise<GroupRecord> {
  const g = await findGroup(db, name);
  if (!g) throw new AppError('NOT_FOUND', `No such group: ${name}.`);
  return g;
}

/** Resolves user names to ids; throws `INVALID_INPUT` naming unknown users (nothing changed). */
async function userIds(db: Db, names: readonly string[]): Promise<Map<UserName, number>> {
  const parsed = [...new Set(names)].map((n) => parseUserName(n));
  if (parsed.length === 0) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'name']).where('name', 'in', parsed).execute();
  const found = new Map(rows.map((r) => [r.name as UserName, r.id]));
  const missing = parsed.filter((n) => !found.has(n));
  if (missing.length) throw new AppError('INVALID_INPUT', `No such user: ${missing.join(', ')}.`, { users: missing });
  return found;
}

/** Creates groups in one transaction (all or nothing). `NAME_TAKEN` if any exists. */
export async function createGroups(
  db: Db, now: number, names: readonly string[],
  opts: { users?: readonly string[]; properties?: Record<string, unknown>; actor: Actor },
): Promise<GroupRecord[]> {
  const parsed = names.map((n) => parseGroupName(n));
  if (parsed.length === 0) throw new AppError('INVALID_INPUT', 'No group names given.', { field: 'groups' });
  if (new Set(parsed).size !== parsed.length) throw new AppError('INVALID_INPUT', 'A group name is given twice.');
  const properties = opts.properties === undefined ? {} : parseGroupProperties(opts.properties);
  await db.transaction().execute(async (trx) => {
    const ids = await userIds(trx, opts.users ?? []);
    const existing = await trx.selectFrom('groups').select('name').where('name', 'in', parsed).execute();
    if (existing.length) throw new AppError('NAME_TAKEN', `Group ${existing.map((e) => e.name).join(', ')} already exists.`);
    for (const name of parsed) {
      let id: number;
      try {
        const r = await trx.insertInto('groups').values({ name, properties: JSON.stringify(properties), created_at: now })
          .returning('id').executeTakeFirstOrThrow();
        id = r.id;
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('NAME_TAKEN', `Group ${name} already exists.`);
        throw err;
      }
      if (ids.size) await trx.insertInto('group_members').values([...ids.values()].map((uid) => ({ group_id: id, user_id: uid }))).execute();
      await writeAudit(trx, now, opts.actor, 'group.create', name, { users: [...ids.keys()] });
    }
  });
  return Promise.all(parsed.map((n) => getGroup(db, n)));
}

/** Deletes a group (memberships go with it). Throws `NOT_FOUND`. */
export async function deleteGroup(db: Db, now: number, name: string, actor: Actor): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const r = await trx.deleteFrom('groups').where('name', '=', name).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new AppError('NOT_FOUND', `No such group: ${name}.`);
    await writeAudit(trx, now, actor, 'group.delete', name);
  });
}

/**
 * Adds (`add`) or removes members in one transaction; unknown users ⇒ `INVALID_INPUT`
 * and nothing changes. Adding a member twice or removing a non-member is a no-op.
 */
export async function changeMembers(
  db: Db, now: number, group: string, change: { add?: readonly string[]; remove?: readonly string[] }, actor: Actor,
): Promise<GroupRecord> {
  await db.transaction().execute(async (trx) => {
    const g = await trx.selectFrom('groups').select(['id', 'name']).where('name', '=', group).executeTakeFirst();
    if (!g) throw new AppError('NOT_FOUND', `No such group: ${group}.`);
    const add = await userIds(trx, change.add ?? []);
    const remove = await userIds(trx, change.remove ?? []);
    if (add.size) {
      await trx.insertInto('group_members').values([...add.values()].map((uid) => ({ group_id: g.id, user_id: uid })))
        .onConflict((oc) => oc.doNothing()).execute();
    }
    if (remove.size) {
      await trx.deleteFrom('group_members').where('group_id', '=', g.id).where('user_id', 'in', [...remove.values()]).execute();
    }
    await writeAudit(trx, now, actor, 'group.members', g.name, { added: [...add.keys()], removed: [...remove.keys()] });
  });
  return getGroup(db, group);
}

/** Replaces a group's properties. Throws `NOT_FOUND`, `INVALID_INPUT`. */
export async function setGroupProperties(db: Db, now: number, group: string, properties: unknown, actor: Actor): Promise<GroupRecord> {
  const props = parseGroupProperties(properties);
  await db.transaction().execute(async (trx) => {
    const r = await trx.updateTable('groups').set({ properties: JSON.stringify(props) }).where('name', '=', group).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new AppError('NOT_FOUND', `No such group: ${group}.`);
    await writeAudit(trx, now, actor, 'group.properties', group, { keys: Object.keys(props) });
  });
  return getGroup(db, group);
}

/** Groups, by name, page by page; `total` counts all groups. */
export async function listGroups(db: Db, page: { offset: number; limit: number }): Promise<{ items: GroupRecord[]; total: number }> {
  const total = Number((await db.selectFrom('groups').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const rows = await db.selectFrom('groups').select('name').orderBy('name').offset(page.offset).limit(page.limit).execute();
  const items = await Promise.all(rows.map((r) => getGroup(db, r.name)));
  return { items, total };
}

/** Group names of each given user id (sorted); users without groups map to `[]`. */
export async function groupsOfUsers(db: Db, userIdsList: readonly number[]): Promise<Map<number, GroupName[]>> {
  const out = new Map<number, GroupName[]>(userIdsList.map((id) => [id, []]));
  if (userIdsList.length === 0) return out;
  const rows = await db.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['group_members.user_id as uid', 'groups.name as name']).where('group_members.user_id', 'in', [...userIdsList])
    .orderBy('groups.name').execute();
  for (const r of rows) out.get(r.uid)?.push(r.name as GroupName);
  return out;
}
