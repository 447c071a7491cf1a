/**
 * ESGF access control in the hub: decisions (policies compiled once from files), access
 * groups, memberships with `approved`, requests with licence acceptance, approval by
 * group admins, in-app notifications and the access audit trail.
 *
 * Why ESGF access groups are not hub groups: hub group names are Unix/URL-safe
 * (`[a-z][a-z0-9_-]*`, used in `!group=` scopes and spawner overrides), while ESGF names
 * are "CORDEX Research"; and an ESGF permission carries a role and an `approved` flag
 * that JupyterHub groups (and their REST API) do not have — a pending request must not look
 * like membership to JupyterHub clients. Users are the hub's: memberships belong to the
 * account (the person), whatever identity (password or OpenID Connect) they logged in with.
 */
import type { AccessAction, AccessMembership, PolicySet, UserName } from '@eucp/core';
import { AppError } from '@eucp/core';
import type { Accounts } from '../accounts/accounts.js';
import type { Db } from '../db/index.js';
import type { HubConfig } from '../config/schema.js';
import type { Logger } from '../log/index.js';
import { checkFor, grantingGroups, makeReader, type AccessReader, type CheckResult } from './decisions.js';
import { importAccessFixtures } from './fixtures.js';
import { fixturesDirOf, loadPolicySet, policyFilesOf } from './policies.js';
import * as store from './store.js';
import { RequestWorkflow, type RequestInput } from './workflow.js';
import type { AccessActor, AccessAuditRecord, AccessChange, AccessGroup, AccessRequest, AccessRequestState, AccessUser, MembershipRecord, NotificationRecord } from './types.js';

export type { AccessReader, CheckResult, GrantableGroup } from './decisions.js';
export type { RequestInput } from './workflow.js';

export interface AccessServiceDeps {
  db: Db;
  config: HubConfig;
  log: Logger;
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  /** Default: compiled from the configured policy files (`loadPolicySet`). */
  policies?: PolicySet;
  /** Needed to create the demo accounts when `access.importFixtureUsers` is set. */
  accounts?: Accounts;
}

/** A group as listed to a caller, with where the caller stands. */
export interface GroupView extends AccessGroup {
  /** The caller's memberships in it (role and whether approved). */
  memberships: Array<{ role: string; approved: boolean }>;
  /** User names of its administrators. */
  admins: string[];
  /** The caller may approve and reject its requests. */
  canDecide: boolean;
}

const MAX_LIST = 500;
const READ_AUDIT_MEMORY = 10_000;

export class AccessService {
  private policySet: PolicySet;
  private readonly loadPolicies: () => PolicySet;
  private readonly db: Db;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly workflow: RequestWorkflow;
  private readonly listeners = new Set<(c: AccessChange) => void>();
  private readonly lastRead = new Map<string, number>();
  private readonly readWindowMs: number;

  /**
   * Builds the service and, at the first start (no access group and no earlier import),
   * imports the access groups of `access.fixturesDir` (default `<dataDir>/access`, where
   * the EUCP-SYN demo data puts them). Throws `ACCESS_POLICY_INVALID` for a broken policy
   * and `CONFIG_INVALID` for unreadable policy or fixture files: the hub must not start.
   */
  static async create(deps: AccessServiceDeps): Promise<AccessService> {
    const service = new AccessService(deps);
    const dir = fixturesDirOf(deps.config);
    if (dir && (await service.firstStart())) {
      const r = await importAccessFixtures(service, dir, { users: deps.config.access.importFixtureUsers, ...(deps.accounts && { accounts: deps.accounts }) });
      deps.log.info({ dir, ...r }, 'imported access groups');
    }
    return service;
  }

  constructor(deps: AccessServiceDeps) {
    this.db = deps.db;
    this.now = deps.now ?? Date.now;
    this.log = deps.log;
    const a = deps.config.access;
    this.loadPolicies = () => loadPolicySet(policyFilesOf(deps.config), { unmatched: a.unmatchedDecision, groupAdminsRead: a.groupAdminsRead });
    this.policySet = deps.policies ?? this.loadPolicies();
    this.readWindowMs = a.readAuditWindowMs;
    this.workflow = new RequestWorkflow(this.db, this.now, (c) => this.emit(c));
  }

  /** The compiled policies in force. */
  get policies(): PolicySet {
    return this.policySet;
  }

  /**
   * Reads and compiles the configured policy files again and puts them in force for every
   * later decision; running servers are marked outdated (`change: 'policies'`). A broken
   * file throws `ACCESS_POLICY_INVALID` / `CONFIG_INVALID` naming it, and the policies in
   * force stay as they were.
   */
  async reloadPolicies(actor: string): Promise<{ policies: number }> {
    const next = this.loadPolicies();
    this.policySet = next;
    await store.audit(this.db, this.now(), { actor, action: 'policies', details: { policies: next.rules.length } });
    this.log.info({ policies: next.rules.length, actor }, 'access policies reloaded');
    this.emit({ user: '*', group: '', role: '', change: 'policies' });
    return { policies: next.rules.length };
  }

  /** True when no access group exists and none was ever imported. */
  async firstStart(): Promise<boolean> {
    const g = await this.db.selectFrom('access_groups').select('id').limit(1).executeTakeFirst();
    if (g) return false;
    const imported = await this.db.selectFrom('access_audit').select('id').where('action', '=', 'import').limit(1).executeTakeFirst();
    return !imported;
  }

  /** Writes the `import` audit row of `importAccessFixtures`. */
  async recordImport(details: Record<string, unknown>): Promise<void> {
    await store.audit(this.db, this.now(), { actor: 'import', action: 'import', details });
  }

  // ---- decisions -----------------------------------------------------------------------

  /** The ESGF permissions of a user (approved and pending). */
  async membershipsOf(userId: number): Promise<MembershipRecord[]> {
    return (await store.membershipsOf(this.db, userId)).map(({ groupId: _g, ...m }) => m);
  }

  /**
   * The decision for `user` (null = anonymous) on a resource, as `GET /api/access/check`
   * answers it. `hubAdmin` also lists invisible groups.
   */
  async check(user: AccessUser | null, resource: string, action: AccessAction = 'Read', hubAdmin = false): Promise<CheckResult> {
    const [groups, memberships] = await Promise.all([store.allGroups(this.db), user ? store.membershipsOf(this.db, user.id) : []]);
    return checkFor(this.policies, groups, user?.name ?? null, memberships, resource, action, hubAdmin);
  }

  /**
   * What `user` (null = anonymous) may read right now, for many decisions without further
   * database reads: `canRead(id)`, `canList(id)`, `decide(id)`. Resources are ESGF ids (a
   * dataset's instance_id with version, or its dataset_id); check a file by its dataset's id.
   */
  async reader(user: AccessUser | null): Promise<AccessReader> {
    const [groups, memberships] = await Promise.all([store.allGroups(this.db), user ? store.membershipsOf(this.db, user.id) : []]);
    return makeReader(this.policies, groups, user?.name ?? null, memberships);
  }

  /** The subset of `candidates` (dataset ids) that `user` may read now. */
  async readableDatasets(user: AccessUser | null, candidates: Iterable<string>): Promise<Set<string>> {
    const reader = await this.reader(user);
    const out = new Set<string>();
    for (const id of candidates) if (reader.canRead(id)) out.add(id);
    return out;
  }

  /**
   * Audits one download from the hub's file endpoint (action `read`), written before the
   * bytes are sent. Every whole-file read is written; byte-range reads of one file by one
   * caller (xarray and netCDF's remote mode send hundreds) are written once per
   * `access.readAuditWindowMs`. `user` null = anonymous (actor `anonymous`); `resource` is
   * the data set's id, `file` the path below the data root, `bytes` what is sent.
   */
  async recordFileRead(user: AccessUser | null, e: { resource: string; file: string; bytes: number; range: string | null; via: string }): Promise<void> {
    const at = this.now();
    if (e.range !== null) {
      const key = `${user?.id ?? 0}\u0000${e.file}`;
      const last = this.lastRead.get(key);
      if (last !== undefined && at - last < this.readWindowMs) return;
      // Bounded by starting afresh (at worst a few range reads are audited twice).
      if (this.lastRead.size >= READ_AUDIT_MEMORY) this.lastRead.clear();
      this.lastRead.set(key, at);
    }
    const memberships: AccessMembership[] = user ? await store.membershipsOf(this.db, user.id) : [];
    const groups = grantingGroups(this.policies.decide(e.resource, 'Read', user?.name ?? null, memberships), memberships);
    await store.audit(this.db, at, {
      actor: user?.name ?? 'anonymous', action: 'read', subject: user?.name ?? '', group: groups[0] ?? null, resource: e.resource,
      details: { via: e.via, file: e.file, bytes: e.bytes, ...(e.range !== null && { range: e.range }), groups },
    });
  }

  /**
   * Audits a server start that bound data sets into a sandbox (action `mount`): how many of
   * the catalog's data sets became readable there. Reads inside the sandbox are not audited
   * one by one.
   */
  async recordMount(user: AccessUser, e: { server: string; readable: number; total: number; catalogReady: boolean }): Promise<void> {
    await store.audit(this.db, this.now(), {
      actor: user.name, action: 'mount', subject: user.name, details: { via: 'sandbox', server: e.server, readable: e.readable, total: e.total, catalog_ready: e.catalogReady },
    });
  }

  // ---- groups --------------------------------------------------------------------------

  /** Groups the caller may see (visible ones, their own; all for hub admins; visible ones for anonymous), by name. */
  async listGroups(actor: AccessActor | null): Promise<GroupView[]> {
    const groups = await store.allGroups(this.db);
    const mine = actor ? await store.membershipsOf(this.db, actor.id) : [];
    const adminRows = await this.db.selectFrom('access_memberships as m').innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.group_id', 'u.name']).where('m.role', '=', 'admin').where('m.approved', '=', 1).orderBy('u.name').execute();
    const out: GroupView[] = [];
    for (const g of groups) {
      const memberships = mine.filter((m) => m.groupId === g.id).map((m) => ({ role: m.role, approved: m.approved }));
      const isAdmin = memberships.some((m) => m.role === 'admin' && m.approved);
      if (!g.visible && !actor?.hubAdmin && memberships.length === 0) continue;
      out.push({ ...g, memberships, admins: adminRows.filter((r) => r.group_id === g.id).map((r) => r.name), canDecide: !!actor && (actor.hubAdmin || isAdmin) });
    }
    return out;
  }

  /** One group as `listGroups` shows it; `NOT_FOUND` when missing or invisible to the caller. */
  async getGroup(name: string, actor: AccessActor | null): Promise<GroupView> {
    const g = (await this.listGroups(actor)).find((x) => x.name === name);
    if (!g) throw new AppError('NOT_FOUND', `No such access group: ${name}.`);
    return g;
  }

  /**
   * Creates or updates a group (by name); the licence version is the sha256 of its text.
   * With an `actor`, the change is written to the audit log (`group`).
   */
  async upsertGroup(input: { name: string; description?: string; grants?: string; visible: boolean; automaticApproval: boolean; licenceId: string | null; licenceText: string | null }, actor?: string): Promise<AccessGroup> {
    const at = this.now();
    const values = {
      description: input.description ?? '', grants: input.grants ?? '', visible: input.visible ? 1 : 0,
      automatic_approval: input.automaticApproval ? 1 : 0, licence_id: input.licenceId, licence_text: input.licenceText,
      licence_sha256: input.licenceText === null ? null : store.licenceHash(input.licenceText), updated_at: at,
    };
    await this.db.insertInto('access_groups').values({ name: input.name, created_at: at, ...values })
      .onConflict((oc) => oc.column('name').doUpdateSet(values)).execute();
    const group = (await store.groupByName(this.db, input.name))!;
    if (actor) {
      await store.audit(this.db, at, { actor, action: 'group', group: group.name, details: {
        visible: group.visible, automatic_approval: group.automaticApproval, licence_id: group.licenceId, licence_sha256: group.licenceSha256,
      } });
    }
    return group;
  }

  // ---- requests (see workflow.ts) -------------------------------------------------------

  /**
   * Requests membership (default role `user`) with licence acceptance. Automatic approval
   * when the group says so and the role is `user`. Idempotent: a live request is returned
   * (`created: false`). Throws `NOT_FOUND` (no such group, or invisible to the caller),
   * `LICENCE_NOT_ACCEPTED`, `INVALID_INPUT` (role).
   */
  request(actor: AccessActor, input: RequestInput): Promise<{ request: AccessRequest; created: boolean }> {
    return this.workflow.request(actor, input);
  }

  /** Approves a pending request (group admins of its group, hub admins; others `NOT_FOUND`). Idempotent. */
  approve(actor: AccessActor, id: number, reason?: string): Promise<AccessRequest> {
    return this.workflow.decide(actor, id, 'approve', reason);
  }

  /** Rejects a pending request (as `approve`). */
  reject(actor: AccessActor, id: number, reason?: string): Promise<AccessRequest> {
    return this.workflow.decide(actor, id, 'reject', reason);
  }

  /** Revokes an approved membership (deciders, or the member leaving) or withdraws one's own pending request. */
  revoke(actor: AccessActor, id: number, reason?: string): Promise<AccessRequest> {
    return this.workflow.decide(actor, id, 'revoke', reason);
  }

  /** Grants (or records pending) a membership without a licence, e.g. at import; returns the request row. */
  grantMembership(userId: number, groupName: string, role: string, approved: boolean, actor: string): Promise<AccessRequest> {
    return this.workflow.grant(userId, groupName, role, approved, actor);
  }

  /** Requests the caller may decide (their groups; all for hub admins), newest first. */
  async requestsToDecide(actor: AccessActor, f: { state?: AccessRequestState | undefined; group?: string | undefined; limit?: number | undefined }): Promise<AccessRequest[]> {
    let groupIds: Set<number> | undefined = actor.hubAdmin ? undefined : await store.administeredGroupIds(this.db, actor.id);
    if (f.group !== undefined) {
      const g = await store.groupByName(this.db, f.group);
      groupIds = !g || (groupIds && !groupIds.has(g.id)) ? new Set() : new Set([g.id]);
    }
    return store.listRequests(this.db, { state: f.state, groupIds, limit: Math.min(f.limit ?? MAX_LIST, MAX_LIST) });
  }

  /** The caller's own requests, newest first. */
  myRequests(userId: number): Promise<AccessRequest[]> {
    return store.listRequests(this.db, { userId, limit: MAX_LIST });
  }

  // ---- notifications --------------------------------------------------------------------

  /** A user's notifications (newest first, at most `limit`) and their unread count. */
  async notifications(userId: number, opts: { unreadOnly?: boolean; limit?: number } = {}): Promise<{ items: NotificationRecord[]; unread: number }> {
    let q = this.db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
    if (opts.unreadOnly) q = q.where('read_at', 'is', null);
    const rows = await q.orderBy('id', 'desc').limit(Math.min(opts.limit ?? 100, MAX_LIST)).execute();
    const n = await this.db.selectFrom('notifications').select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId).where('read_at', 'is', null).executeTakeFirstOrThrow();
    return { items: rows.map(store.toNotification), unread: Number(n.n) };
  }

  /** Marks one of the user's notifications read (idempotent); `NOT_FOUND` if it is not theirs. */
  async markRead(userId: number, id: number): Promise<NotificationRecord> {
    await this.db.updateTable('notifications').set({ read_at: this.now() })
      .where('id', '=', id).where('user_id', '=', userId).where('read_at', 'is', null).execute();
    const row = await this.db.selectFrom('notifications').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    if (!row) throw new AppError('NOT_FOUND', `No such notification: ${id}.`);
    return store.toNotification(row);
  }

  /** Marks all of a user's notifications read; returns how many changed. */
  async markAllRead(userId: number): Promise<number> {
    const r = await this.db.updateTable('notifications').set({ read_at: this.now() })
      .where('user_id', '=', userId).where('read_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  // ---- audit and changes ------------------------------------------------------------------

  /**
   * The access audit trail, newest first: everything for hub admins, the rows of their
   * groups for group admins; `FORBIDDEN` for anyone else.
   */
  async auditTrail(actor: AccessActor, f: { group?: string | undefined; subject?: string | undefined; action?: string | undefined; beforeId?: number | undefined; limit?: number | undefined }): Promise<AccessAuditRecord[]> {
    let q = this.db.selectFrom('access_audit').selectAll();
    if (!actor.hubAdmin) {
      const ids = await store.administeredGroupIds(this.db, actor.id);
      if (ids.size === 0) throw new AppError('FORBIDDEN', 'The access audit is for hub administrators and group administrators.');
      const names = (await store.allGroups(this.db)).filter((g) => ids.has(g.id)).map((g) => g.name);
      q = q.where('group_name', 'in', names);
    }
    if (f.group !== undefined) q = q.where('group_name', '=', f.group);
    if (f.subject !== undefined) q = q.where('subject', '=', f.subject);
    if (f.action !== undefined) q = q.where('action', '=', f.action);
    if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
    const rows = await q.orderBy('id', 'desc').limit(Math.min(f.limit ?? 100, MAX_LIST)).execute();
    return rows.map(store.toAudit);
  }

  /**
   * Registers a listener for changes of someone's access (after they are committed):
   * caches and the sandbox refresh on `granted`/`revoked`. Returns its removal.
   */
  onChange(listener: (c: AccessChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(c: AccessChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        this.log.warn({ err, change: c.change, user: c.user as UserName }, 'access change listener failed');
      }
    }
  }
}
