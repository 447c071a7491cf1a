/** Queries of the derived-data tables (no policy here: the service decides). */
import type { Db } from '../db/index.js';
import type { DerivedRecord, DerivedVersion } from './docs.js';
import { masterIdOf, type Audience } from './rule.js';

/** Every published (not unpublished) derived data set with its versions, oldest first. */
export async function loadPublished(db: Db): Promise<DerivedRecord[]> {
  const rows = await db.selectFrom('derived_datasets').innerJoin('users', 'users.id', 'derived_datasets.owner_id')
    .selectAll('derived_datasets').select('users.name as owner_name').where('derived_datasets.unpublished_at', 'is', null)
    .orderBy('derived_datasets.id').execute();
  if (rows.length === 0) return [];
  const versions = await db.selectFrom('derived_versions').selectAll().where('dataset_id', 'in', rows.map((r) => r.id)).orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id, ownerId: r.owner_id, owner: r.owner_name, name: r.name, area: r.area as 'derived' | 'home', relPath: r.rel_path,
    title: r.title, description: r.description, audience: JSON.parse(r.audience) as Audience, shareId: r.share_id,
    createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
    licence: r.licence_id === null || r.licence_text === null ? null : { id: r.licence_id, text: r.licence_text },
    versions: versions.filter((v) => v.dataset_id === r.id).map((v): DerivedVersion => ({
      version: v.version, files: JSON.parse(v.files), facts: JSON.parse(v.facts), inputs: JSON.parse(v.inputs),
      licences: JSON.parse(v.licences), createdAt: Number(v.created_at),
    })),
  }));
}

/** Hub group names of a user. */
export async function hubGroupsOf(db: Db, userId: number): Promise<Set<string>> {
  const rows = await db.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select('groups.name').where('group_members.user_id', '=', userId).execute();
  return new Set(rows.map((r) => r.name));
}

/** Every user with their hub groups. */
export async function usersWithGroups(db: Db): Promise<Array<{ id: number; name: string; groups: Set<string> }>> {
  const users = await db.selectFrom('users').select(['id', 'name']).orderBy('id').execute();
  const rows = await db.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['group_members.user_id', 'groups.name']).execute();
  return users.map((u) => ({ ...u, groups: new Set(rows.filter((r) => r.user_id === u.id).map((r) => r.name)) }));
}

/**
 * Share id → the derived data set (`derived.<owner>.<name>`, its master id) whose readers
 * that share carries, for each of `shareIds` that belongs to a published data set. The
 * derived service keeps such a share's grants equal to its rule (0009-derived-data.md).
 */
export async function derivedOfShares(db: Db, shareIds: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (shareIds.length === 0) return out;
  const rows = await db.selectFrom('derived_datasets').innerJoin('users', 'users.id', 'derived_datasets.owner_id')
    .select(['derived_datasets.share_id', 'derived_datasets.name', 'users.name as owner_name'])
    .where('derived_datasets.share_id', 'in', [...shareIds]).where('derived_datasets.unpublished_at', 'is', null).execute();
  for (const r of rows) if (r.share_id !== null) out.set(r.share_id, masterIdOf(r.owner_name, r.name));
  return out;
}
