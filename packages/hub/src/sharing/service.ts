/**
 * Read-only sharing of files and folders with users, hub groups and expiring links (issue
 * 5 §3, §6). The database says who may read what; {@link SharingService.reconcile} makes
 * the filesystem agree (see mounts.ts), so grants and revocations reach running sandboxes
 * at once, without restarting them.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { AppError } from '@eucp/core';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import { writeAudit } from '../accounts/audit.js';
import type { ShareMounts } from './mounts.js';
import { checkShareName, resolveSharePath } from './paths.js';
import { derivedOfShares } from '../derived/store.js';
import { desiredMounts, reconcileMounts, type DesiredMount } from './reconcile.js';
import { activeSharesOf, grantsOf, isActive, shareOf, type GrantView, type ShareRow } from './store.js';

/** The areas a user may share from. */
export type ShareArea = 'home' | 'derived';

/** Who is acting (always on their own shares). */
export interface ShareActor { id: number; name: string }

/** Recipients of a new share or grant. */
export interface ShareWith { users?: readonly string[]; groups?: readonly string[]; link?: { expiresAt: number } }

export interface SharingServiceDeps {
  db: Db;
  log: Logger;
  now(): number;
  /** Host path of `user`'s `area`, or null if this hub has no such area. */
  areaRoot(user: string, area: ShareArea): string | null;
  /** The filesystem side; null = shares are recorded only (no /shared in sandboxes). */
  mounts: ShareMounts | null;
  /** Longest lifetime of a link (ms). */
  linkMaxAgeMs: number;
}

/** Who keeps a share's grants instead of its owner: a published derived data set (its master id, `derived.<owner>.<name>`). */
export interface ShareManager { kind: 'derived'; id: string }

/** A share of the caller's with its grants, and who manages them (null = the owner). */
export interface MyShare { share: ShareRow; grants: GrantView[]; managedBy: ShareManager | null }

/** Something shared with the caller. */
export interface SharedWithMe {
  id: number; owner: string; name: string; kind: 'file' | 'folder'; sandboxPath: string;
  since: number; expiresAt: number | null; via: Array<'user' | 'group' | 'link'>; mounted: boolean;
}

const hashToken = (t: string): string => createHash('sha256').update(t).digest('hex');
/** Where shares appear inside a sandbox. */
export const SANDBOX_SHARED_DIR = '/shared';

/**
 * The sharing use cases. Errors: `NOT_FOUND` (a share that is not the caller's, a missing
 * path, an unknown user or group — named), `SHARE_PATH_INVALID`, `INVALID_INPUT`,
 * `NAME_TAKEN` (the owner already shares something under that name), `SHARE_LINK_EXPIRED`,
 * `SHARE_MANAGED` ({@link SharingService.checkOwnerMayChange}).
 * Nothing is changed when one is thrown. Every change is audited (`audit_log`,
 * actions `share.*`).
 */
export class SharingService {
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private unavailable: string | null | undefined;

  constructor(private readonly deps: SharingServiceDeps) {}

  private get db(): Db { return this.deps.db; }

  /** Shares `path` of the actor's `area` with `with`; returns the share and, once, the link token. */
  async create(actor: ShareActor, input: { path: string; area?: ShareArea; name?: string; with?: ShareWith }): Promise<{ share: ShareRow; linkToken: string | null }> {
    const area = input.area ?? 'home';
    const root = this.deps.areaRoot(actor.name, area);
    if (!root) throw new AppError('INVALID_INPUT', `This hub has no ${area} area to share from.`);
    const resolved = await resolveSharePath(root, input.path);
    const name = checkShareName(input.name ?? path.posix.basename(resolved.rel));
    const recipients = await this.checkRecipients(actor, input.with ?? {});
    const now = this.deps.now();
    const taken = (await activeSharesOf(this.db, actor.id)).some((s) => s.name === name);
    if (taken) throw new AppError('NAME_TAKEN', `You already share something as ${JSON.stringify(name)}; choose another name.`);
    const { share, linkToken } = await this.db.transaction().execute(async (trx) => {
      const row = await trx.insertInto('shares').values({
        owner_id: actor.id, area, rel_path: resolved.rel, kind: resolved.kind, name, created_at: now, revoked_at: null,
      }).returningAll().executeTakeFirstOrThrow();
      await writeAudit(trx, now, actor.name, 'share.create', `share:${row.id}`, { area, path: resolved.rel, kind: resolved.kind, name });
      const token = await this.insertGrants(trx as unknown as Db, actor, row.id, recipients, now);
      return { share: row, linkToken: token };
    });
    await this.reconcile();
    return { share, linkToken };
  }

  /** Adds grants to one of the actor's shares; returns the link token if a link was made. */
  async addGrants(actor: ShareActor, shareId: number, w: ShareWith): Promise<{ linkToken: string | null }> {
    await this.own(actor, shareId);
    const recipients = await this.checkRecipients(actor, w);
    const now = this.deps.now();
    const linkToken = await this.db.transaction().execute((trx) => this.insertGrants(trx as unknown as Db, actor, shareId, recipients, now));
    await this.reconcile();
    return { linkToken };
  }

  /** Revokes one grant (a link also ends the grants obtained through it). */
  async revokeGrant(actor: ShareActor, shareId: number, grantId: number): Promise<void> {
    await this.own(actor, shareId);
    const g = await this.db.selectFrom('share_grants').selectAll().where('id', '=', grantId).where('share_id', '=', shareId)
      .where('revoked_at', 'is', null).executeTakeFirst();
    if (!g) throw new AppError('NOT_FOUND', `No such grant: ${grantId}.`);
    const now = this.deps.now();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('share_grants').set({ revoked_at: now }).where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('id', '=', grantId), eb('parent_grant_id', '=', grantId)])).execute();
      await writeAudit(trx, now, actor.name, 'share.revoke', `share:${shareId}`, { grant: grantId, kind: g.kind });
    });
    await this.reconcile();
  }

  /** Revokes a whole share (every grant). */
  async revokeShare(actor: ShareActor, shareId: number): Promise<void> {
    await this.own(actor, shareId);
    const now = this.deps.now();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('shares').set({ revoked_at: now }).where('id', '=', shareId).execute();
      await trx.updateTable('share_grants').set({ revoked_at: now }).where('share_id', '=', shareId).where('revoked_at', 'is', null).execute();
      await writeAudit(trx, now, actor.name, 'share.revoke', `share:${shareId}`, { all: true });
    });
    await this.reconcile();
  }

  /**
   * A logged-in user follows a link: they get a grant until the link expires. Unknown
   * token: `NOT_FOUND`; expired or revoked: `SHARE_LINK_EXPIRED`. The owner gets nothing
   * (it is theirs already). Returns the share's id.
   */
  async useLink(actor: ShareActor, token: string): Promise<number> {
    const link = await this.db.selectFrom('share_grants').innerJoin('shares', 'shares.id', 'share_grants.share_id')
      .selectAll('share_grants').select(['shares.owner_id', 'shares.revoked_at as share_revoked'])
      .where('share_grants.token_hash', '=', hashToken(token)).where('share_grants.kind', '=', 'link').executeTakeFirst();
    if (!link) throw new AppError('NOT_FOUND', 'No such share link.');
    const now = this.deps.now();
    if (link.share_revoked !== null || !isActive(link, now)) throw new AppError('SHARE_LINK_EXPIRED');
    if (link.owner_id === actor.id) return link.share_id;
    const existing = await this.db.selectFrom('share_grants').select('id').where('parent_grant_id', '=', link.id)
      .where('user_id', '=', actor.id).where('revoked_at', 'is', null).executeTakeFirst();
    if (!existing) {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('share_grants').values({
          share_id: link.share_id, kind: 'user', user_id: actor.id, group_id: null, token_hash: null, parent_grant_id: link.id,
          expires_at: link.expires_at, created_by: actor.name, created_at: now, revoked_at: null,
        }).execute();
        await writeAudit(trx, now, actor.name, 'share.link-used', `share:${link.share_id}`, { grant: link.id, expiresAt: link.expires_at });
      });
      await this.reconcile();
    }
    return link.share_id;
  }

  /** The actor's active shares with all their grants (revoked and expired ones flagged by their fields). */
  async mine(actor: ShareActor): Promise<MyShare[]> {
    const shares = await activeSharesOf(this.db, actor.id);
    const ids = shares.map((s) => s.id);
    const [grants, derived] = await Promise.all([grantsOf(this.db, ids), derivedOfShares(this.db, ids)]);
    return shares.map((share) => {
      const d = derived.get(share.id);
      return { share, grants: grants.filter((g) => g.share_id === share.id && g.revoked_at === null), managedBy: d ? { kind: 'derived' as const, id: d } : null };
    });
  }

  /**
   * Refuses a change by its owner to the grants of a share another service keeps
   * (`SHARE_MANAGED`, 409: the grants of a published derived data set follow its rule, so
   * a change would be undone at the next sync); `NOT_FOUND` for a share that is not the
   * actor's. The API calls it before adding or revoking grants or the share; the managing
   * service itself does not.
   */
  async checkOwnerMayChange(actor: ShareActor, shareId: number): Promise<void> {
    await this.own(actor, shareId);
    const d = (await derivedOfShares(this.db, [shareId])).get(shareId);
    if (d) throw new AppError('SHARE_MANAGED', `Share ${shareId} is published as derived data ${d}.`, { managed_by: { kind: 'derived', id: d } });
  }

  /** What is shared with `user` now, with its sandbox path and whether it is mounted. */
  async withMe(user: string): Promise<SharedWithMe[]> {
    const desired = await this.desired();
    const mounted = this.deps.mounts ? new Set((await this.deps.mounts.current()).binds) : new Set<string>();
    const out: SharedWithMe[] = [];
    for (const [target, d] of desired) {
      if (d.recipient !== user) continue;
      const via = d.grants.map((g) => (g.parent_grant_id !== null ? 'link' : g.kind) as 'user' | 'group' | 'link');
      const expiries = d.grants.map((g) => g.expires_at);
      out.push({
        id: d.share.id, owner: d.share.owner_name, name: d.share.name, kind: d.share.kind,
        sandboxPath: `${SANDBOX_SHARED_DIR}/${d.share.owner_name}/${d.share.name}`,
        since: Math.min(...d.grants.map((g) => g.created_at)),
        expiresAt: expiries.includes(null) ? null : Math.max(...(expiries as number[])),
        via: [...new Set(via)], mounted: mounted.has(target),
      });
    }
    return out.sort((a, b) => a.owner.localeCompare(b.owner) || a.name.localeCompare(b.name));
  }

  /**
   * True iff an active grant lets `caller` read `relPath` (a file of `owner`'s home, or
   * anything below a shared folder). The owner is not asked about (callers handle "own").
   */
  async canRead(callerName: string, owner: string, relPath: string): Promise<boolean> {
    for (const d of (await this.desired()).values()) {
      if (d.recipient !== callerName || d.share.owner_name !== owner || d.share.area !== 'home') continue;
      const p = d.share.rel_path;
      if (relPath === p || (d.share.kind === 'folder' && relPath.startsWith(`${p}/`))) return true;
    }
    return false;
  }

  /**
   * The host directory to show at `/shared` in `user`'s sandbox, made a shared mount
   * point (so later mounts reach the running sandbox); null when sharing has no filesystem
   * side here. Call before each spawn.
   */
  async viewFor(user: string): Promise<string | null> {
    const mounts = this.deps.mounts;
    if (!mounts || (await this.unavailableReason()) !== null) return null;
    return this.serial(() => mounts.ensureView(user));
  }

  /** Makes the mounts agree with the grants (serialised; failures are logged, never thrown). */
  reconcile(): Promise<void> {
    return this.serial(() => this.reconcileNow()).catch((err) => this.deps.log.error({ err }, 'sharing reconcile failed'));
  }

  /** Reconciles now and every `intervalMs` (and at each link expiry). */
  async start(intervalMs: number): Promise<void> {
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), intervalMs);
    this.timer.unref();
  }

  /** Stops the timers; mounts stay (running servers keep their shares). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.timer = this.expiryTimer = null;
    await this.chain.catch(() => undefined);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async unavailableReason(): Promise<string | null> {
    if (this.unavailable === undefined && this.deps.mounts) {
      this.unavailable = await this.deps.mounts.unavailable();
      if (this.unavailable) this.deps.log.warn({ reason: this.unavailable }, 'shares cannot be mounted into sandboxes');
    }
    return this.unavailable ?? null;
  }

  private async own(actor: ShareActor, shareId: number): Promise<ShareRow> {
    const s = await shareOf(this.db, actor.id, shareId);
    if (!s) throw new AppError('NOT_FOUND', `No such share: ${shareId}.`);
    return s;
  }

  private async checkRecipients(actor: ShareActor, w: ShareWith): Promise<{ users: number[]; groups: number[]; link: number | null }> {
    const users: number[] = [];
    for (const name of new Set(w.users ?? [])) {
      const u = await this.db.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
      if (!u) throw new AppError('NOT_FOUND', `No such user: ${name}.`);
      if (u.id === actor.id) throw new AppError('INVALID_INPUT', 'You cannot share with yourself.');
      users.push(u.id);
    }
    const groups: number[] = [];
    for (const name of new Set(w.groups ?? [])) {
      const g = await this.db.selectFrom('groups').select('id').where('name', '=', name).executeTakeFirst();
      if (!g) throw new AppError('NOT_FOUND', `No such group: ${name}.`);
      groups.push(g.id);
    }
    let link: number | null = null;
    if (w.link) {
      const now = this.deps.now();
      if (!Number.isFinite(w.link.expiresAt) || w.link.expiresAt <= now) throw new AppError('INVALID_INPUT', 'The link\'s expiry is in the past; choose a time in the future.');
      if (w.link.expiresAt - now > this.deps.linkMaxAgeMs) {
        throw new AppError('INVALID_INPUT', `A link may last at most ${Math.round(this.deps.linkMaxAgeMs / 86_400_000)} days.`);
      }
      link = w.link.expiresAt;
    }
    return { users, groups, link };
  }

  private async insertGrants(db: Db, actor: ShareActor, shareId: number, r: { users: number[]; groups: number[]; link: number | null }, now: number): Promise<string | null> {
    const base = { share_id: shareId, token_hash: null, parent_grant_id: null, created_by: actor.name, created_at: now, revoked_at: null };
    const active = (await grantsOf(db, [shareId])).filter((g) => isActive(g, now) && g.parent_grant_id === null);
    for (const id of r.users) {
      if (active.some((g) => g.kind === 'user' && g.user_id === id)) continue;
      const g = await db.insertInto('share_grants').values({ ...base, kind: 'user', user_id: id, group_id: null, expires_at: null }).returning('id').executeTakeFirstOrThrow();
      await writeAudit(db, now, actor.name, 'share.grant', `share:${shareId}`, { grant: g.id, user: id });
    }
    for (const id of r.groups) {
      if (active.some((g) => g.kind === 'group' && g.group_id === id)) continue;
      const g = await db.insertInto('share_grants').values({ ...base, kind: 'group', user_id: null, group_id: id, expires_at: null }).returning('id').executeTakeFirstOrThrow();
      await writeAudit(db, now, actor.name, 'share.grant', `share:${shareId}`, { grant: g.id, group: id });
    }
    if (r.link === null) return null;
    const token = randomBytes(32).toString('base64url');
    const g = await db.insertInto('share_grants').values({ ...base, kind: 'link', user_id: null, group_id: null, token_hash: hashToken(token), expires_at: r.link })
      .returning('id').executeTakeFirstOrThrow();
    await writeAudit(db, now, actor.name, 'share.grant', `share:${shareId}`, { grant: g.id, link: true, expiresAt: r.link });
    return token;
  }

  private desired(): Promise<Map<string, DesiredMount>> {
    return desiredMounts(this.db, this.deps.now(), this.deps.mounts);
  }

  private async reconcileNow(): Promise<void> {
    const mounts = this.deps.mounts;
    this.scheduleExpiry();
    if (!mounts || (await this.unavailableReason()) !== null) return;
    await reconcileMounts({ db: this.db, now: this.deps.now, log: this.deps.log, areaRoot: this.deps.areaRoot, mounts });
  }

  /** Wakes the reconciler when the next link (or link-derived grant) expires. */
  private scheduleExpiry(): void {
    void (async () => {
      const now = this.deps.now();
      const next = await this.db.selectFrom('share_grants').select((eb) => eb.fn.min('expires_at').as('at'))
        .where('revoked_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
      if (this.expiryTimer) clearTimeout(this.expiryTimer);
      this.expiryTimer = null;
      const at = next?.at === null || next?.at === undefined ? null : Number(next.at);
      if (at === null || !this.timer) return;
      this.expiryTimer = setTimeout(() => void this.reconcile(), Math.min(Math.max(at - now + 50, 0), 2 ** 31 - 1));
      this.expiryTimer.unref();
    })().catch((err) => this.deps.log.warn({ err }, 'scheduling the next link expiry failed'));
  }
}
