import type { Db } from '../db/index.js';

/** A quota unit: a user's home + derived area, or a group's workspace. */
export type QuotaKind = 'user' | 'group';

/** An override: `undefined` = the configured default, `null` = no limit, else bytes. */
export interface QuotaOverride {
  softBytes?: number | null;
  hardBytes?: number | null;
}

const UNLIMITED = -1;
const toOverride = (v: number | null): number | null | undefined => (v === null ? undefined : Number(v) === UNLIMITED ? null : Number(v));
const fromOverride = (v: number | null | undefined): number | null => (v === undefined ? null : v === null ? UNLIMITED : v);

/** The stored overrides of every unit of `kind` (a missing name = defaults). */
export async function loadOverrides(db: Db, kind: QuotaKind): Promise<Map<string, QuotaOverride>> {
  const rows = await db.selectFrom('storage_quotas').select(['name', 'soft_bytes', 'hard_bytes']).where('kind', '=', kind).execute();
  return new Map(rows.map((r) => [r.name, { softBytes: toOverride(r.soft_bytes), hardBytes: toOverride(r.hard_bytes) }]));
}

/** The stored override of one unit (`{}` = defaults). */
export async function loadOverride(db: Db, kind: QuotaKind, name: string): Promise<QuotaOverride> {
  const r = await db.selectFrom('storage_quotas').select(['soft_bytes', 'hard_bytes']).where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
  return r ? { softBytes: toOverride(r.soft_bytes), hardBytes: toOverride(r.hard_bytes) } : {};
}

/** Stores an override (replacing the previous one; `{}` = back to the defaults). */
export async function saveOverride(db: Db, kind: QuotaKind, name: string, o: QuotaOverride, at: number, by: string): Promise<void> {
  const values = { soft_bytes: fromOverride(o.softBytes), hard_bytes: fromOverride(o.hardBytes), updated_at: at, updated_by: by };
  await db.insertInto('storage_quotas').values({ kind, name, warned_at: null, ...values })
    .onConflict((oc) => oc.columns(['kind', 'name']).doUpdateSet(values)).execute();
}

/** Units of `kind` whose owners were told they crossed the soft limit. */
export async function loadWarned(db: Db, kind: QuotaKind): Promise<Set<string>> {
  const rows = await db.selectFrom('storage_quotas').select('name').where('kind', '=', kind).where('warned_at', 'is not', null).execute();
  return new Set(rows.map((r) => r.name));
}

/** Records (at) or clears (null) that the owners of a unit were warned. */
export async function setWarned(db: Db, kind: QuotaKind, name: string, at: number | null): Promise<void> {
  await db.insertInto('storage_quotas').values({ kind, name, soft_bytes: null, hard_bytes: null, warned_at: at, updated_at: at ?? 0, updated_by: '' })
    .onConflict((oc) => oc.columns(['kind', 'name']).doUpdateSet({ warned_at: at })).execute();
}
