/**
 * Database access of the access service: row mapping and the queries it repeats. Every
 * function takes the connection or a transaction, so use cases compose them atomically.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { UserName } from '@eucp/core';
import type { AccessMembership } from '@eucp/core';
import type { AccessAuditTable, AccessGroupsTable, Database, NotificationsTable } from '../db/schema.js';
import type { AccessAuditRecord, AccessGroup, AccessRequest, AccessRequestState, NotificationRecord } from './types.js';

type Conn = Kysely<Database>;

/** sha256 (hex) of a licence text: the licence version stored with each acceptance. */
export function licenceHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function toGroup(r: Selectable<AccessGroupsTable>): AccessGroup {
  return {
    id: r.id, name: r.name, description: r.description, grants: r.grants, visible: r.visible === 1,
    automaticApproval: r.automatic_approval === 1, licenceId: r.licence_id, licenceText: r.licence_text,
    licenceSha256: r.licence_sha256, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export async function allGroups(db: Conn): Promise<AccessGroup[]> {
  return (await db.selectFrom('access_groups').selectAll().orderBy('name').execute()).map(toGroup);
}

export async function groupByName(db: Conn, name: string): Promise<AccessGroup | null> {
  const r = await db.selectFrom('access_groups').selectAll().where('name', '=', name).executeTakeFirst();
  return r ? toGroup(r) : null;
}

/** The ESGF permissions of a user (approved and pending), for decisions. */
export async function membershipsOf(db: Conn, userId: number): Promise<Array<AccessMembership & { groupId: number; requestedAt: number; decidedAt: number | null; decidedBy: string | null }>> {
  const rows = await db.selectFrom('access_memberships as m').innerJoin('access_groups as g', 'g.id', 'm.group_id')
    .select(['g.name as group', 'm.group_id', 'm.role', 'm.approved', 'm.requested_at', 'm.decided_at', 'm.decided_by'])
    .where('m.user_id', '=', userId).orderBy('g.name').orderBy('m.role').execute();
  return rows.map((r) => ({
    group: r.group, groupId: r.group_id, role: r.role, approved: r.approved === 1,
    requestedAt: r.requested_at, decidedAt: r.decided_at, decidedBy: r.decided_by,
  }));
}

/** Ids of the groups a user administers (approved role `admin`). */
export async function administeredGroupIds(db: Conn, userId: number): Promise<Set<number>> {
  const rows = await db.selectFrom('access_memberships').select('group_id')
    .where('user_id', '=', userId).where('role', '=', 'admin').where('approved', '=', 1).execute();
  return new Set(rows.map((r) => r.group_id));
}

/** Ids of the administrators of a group (approved role `admin`). */
export async function groupAdminIds(db: Conn, groupId: number): Promise<number[]> {
  const rows = await db.selectFrom('access_memberships').select('user_id')
    .where('group_id', '=', groupId).where('role', '=', 'admin').where('approved', '=', 1).execute();
  return rows.map((r) => r.user_id);
}

export async function hubAdminIds(db: Conn): Promise<number[]> {
  return (await db.selectFrom('users').select('id').where('admin', '=', 1).execute()).map((r) => r.id);
}

function requestQuery(db: Conn) {
  return db.selectFrom('access_requests as r')
    .innerJoin('users as u', 'u.id', 'r.user_id')
    .innerJoin('access_groups as g', 'g.id', 'r.group_id')
    .selectAll('r').select(['u.name as user_name', 'g.name as group_name']);
}

type RequestRow = Awaited<ReturnType<ReturnType<typeof requestQuery>['executeTakeFirstOrThrow']>>;

function toRequest(r: RequestRow): AccessRequest {
  return {
    id: r.id, userId: r.user_id, user: r.user_name as UserName, groupId: r.group_id, group: r.group_name, role: r.role,
    state: r.state, purpose: r.purpose, licenceId: r.licence_id, licenceSha256: r.licence_sha256,
    licenceAcceptedAt: r.licence_accepted_at, createdAt: r.created_at, decidedAt: r.decided_at, decidedBy: r.decided_by, reason: r.reason,
  };
}

export async function requestById(db: Conn, id: number): Promise<AccessRequest | null> {
  const r = await requestQuery(db).where('r.id', '=', id).executeTakeFirst();
  return r ? toRequest(r) : null;
}

/** The live (pending or approved) request of a user for a group and role, if any. */
export async function liveRequest(db: Conn, userId: number, groupId: number, role: string): Promise<AccessRequest | null> {
  const r = await requestQuery(db).where('r.user_id', '=', userId).where('r.group_id', '=', groupId)
    .where('r.role', '=', role).where('r.state', 'in', ['pending', 'approved']).executeTakeFirst();
  return r ? toRequest(r) : null;
}

export interface RequestFilter {
  state?: AccessRequestState | undefined;
  /** Only these groups (ids); undefined = all. */
  groupIds?: ReadonlySet<number> | undefined;
  userId?: number | undefined;
  limit: number;
}

/** Requests, newest first. */
export async function listRequests(db: Conn, f: RequestFilter): Promise<AccessRequest[]> {
  if (f.groupIds && f.groupIds.size === 0) return [];
  let q = requestQuery(db);
  if (f.state) q = q.where('r.state', '=', f.state);
  if (f.groupIds) q = q.where('r.group_id', 'in', [...f.groupIds]);
  if (f.userId !== undefined) q = q.where('r.user_id', '=', f.userId);
  return (await q.orderBy('r.id', 'desc').limit(f.limit).execute()).map(toRequest);
}

/** Moves a request from one of `from` to `to`; false when it was in another state (decided meanwhile). */
export async function transition(db: Conn, id: number, from: readonly AccessRequestState[], to: AccessRequestState,
  decision: { at: number; by: string; reason: string | null }): Promise<boolean> {
  const r = await db.updateTable('access_requests')
    .set({ state: to, decided_at: decision.at, decided_by: decision.by, reason: decision.reason })
    .where('id', '=', id).where('state', 'in', [...from]).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

// ---- notifications ----------------------------------------------------------------------

export interface NewNotification {
  userId: number;
  kind: string;
  title: string;
  body: string;
  subjectRef?: string;
  data?: Record<string, unknown>;
}

export async function notify(db: Conn, at: number, items: readonly NewNotification[]): Promise<void> {
  if (items.length === 0) return;
  await db.insertInto('notifications').values(items.map((n) => ({
    user_id: n.userId, kind: n.kind, title: n.title, body: n.body, subject_ref: n.subjectRef ?? null,
    data: JSON.stringify(n.data ?? {}), created_at: at, read_at: null,
  }))).execute();
}

export function toNotification(r: Selectable<NotificationsTable>): NotificationRecord {
  return { id: r.id, kind: r.kind, title: r.title, body: r.body, data: parseJson(r.data), createdAt: r.created_at, readAt: r.read_at };
}

// ---- audit ------------------------------------------------------------------------------

export interface NewAudit {
  actor: string;
  action: string;
  subject?: string;
  group?: string | null;
  role?: string | null;
  resource?: string | null;
  requestId?: number | null;
  details?: Record<string, unknown>;
}

/** Appends to the access audit trail. `details` must never hold secrets. */
export async function audit(db: Conn, at: number, e: NewAudit): Promise<void> {
  await db.insertInto('access_audit').values({
    at, actor: e.actor, action: e.action, subject: e.subject ?? '', group_name: e.group ?? null, role: e.role ?? null,
    resource: e.resource ?? null, request_id: e.requestId ?? null, details: JSON.stringify(e.details ?? {}),
  }).execute();
}

export function toAudit(r: Selectable<AccessAuditTable>): AccessAuditRecord {
  return {
    id: r.id, at: r.at, actor: r.actor, action: r.action, subject: r.subject, group: r.group_name, role: r.role,
    resource: r.resource, requestId: r.request_id, details: parseJson(r.details),
  };
}
