/** Queries of the sharing tables (no policy here: the service decides). */
import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { ShareGrantsTable, SharesTable } from '../db/schema.js';

export type ShareRow = Selectable<SharesTable>;
export type GrantRow = Selectable<ShareGrantsTable>;

/** A grant with the names it refers to. */
export interface GrantView extends GrantRow { user_name: string | null; group_name: string | null }

/** An active share with its owner's name. */
export interface OwnedShare extends ShareRow { owner_name: string }

/** A grant is active if not revoked and not expired at `now`. */
export function isActive(g: { revoked_at: number | null; expires_at: number | null }, now: number): boolean {
  return g.revoked_at === null && (g.expires_at === null || g.expires_at > now);
}

export async function activeSharesOf(db: Db, ownerId: number): Promise<ShareRow[]> {
  return db.selectFrom('shares').selectAll().where('owner_id', '=', ownerId).where('revoked_at', 'is', null).orderBy('id').execute();
}

export async function shareOf(db: Db, ownerId: number, id: number): Promise<ShareRow | null> {
  return (await db.selectFrom('shares').selectAll().where('id', '=', id).where('owner_id', '=', ownerId)
    .where('revoked_at', 'is', null).executeTakeFirst()) ?? null;
}

export async function grantsOf(db: Db, shareIds: readonly number[]): Promise<GrantView[]> {
  if (shareIds.length === 0) return [];
  return db.selectFrom('share_grants')
    .leftJoin('users', 'users.id', 'share_grants.user_id')
    .leftJoin('groups', 'groups.id', 'share_grants.group_id')
    .selectAll('share_grants').select(['users.name as user_name', 'groups.name as group_name'])
    .where('share_grants.share_id', 'in', [...shareIds]).orderBy('share_grants.id').execute();
}

/** Every active share with its owner's name. */
export async function allActiveShares(db: Db): Promise<OwnedShare[]> {
  return db.selectFrom('shares').innerJoin('users', 'users.id', 'shares.owner_id')
    .selectAll('shares').select('users.name as owner_name').where('shares.revoked_at', 'is', null).orderBy('shares.id').execute();
}

/** Group id → member names. */
export async function groupMembers(db: Db, groupIds: readonly number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (groupIds.length === 0) return out;
  const rows = await db.selectFrom('group_members').innerJoin('users', 'users.id', 'group_members.user_id')
    .select(['group_members.group_id', 'users.name']).where('group_members.group_id', 'in', [...groupIds]).execute();
  for (const r of rows) out.set(r.group_id, [...(out.get(r.group_id) ?? []), r.name]);
  return out;
}
