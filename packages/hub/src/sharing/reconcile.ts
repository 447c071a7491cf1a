/**
 * Makes the filesystem agree with the database (see mounts.ts): what each recipient's view
 * should hold now, and the mounts and unmounts that get it there — each audited.
 */
import path from 'node:path';
import { AppError } from '@eucp/core';
import { writeAudit } from '../accounts/audit.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import type { ShareMounts } from './mounts.js';
import { resolveSharePath } from './paths.js';
import type { ShareArea } from './service.js';
import { allActiveShares, grantsOf, groupMembers, isActive, type GrantView, type OwnedShare } from './store.js';

/** A share a recipient should see, with the active grants that give it to them. */
export interface DesiredMount { share: OwnedShare; recipient: string; grants: GrantView[] }

/**
 * View target (the bind's path in the recipient's view; `<recipient>\0<share id>` without
 * mounts) → who sees which share through which active grants, as the database says at `now`.
 */
export async function desiredMounts(db: Db, now: number, mounts: ShareMounts | null): Promise<Map<string, DesiredMount>> {
  const shares = await allActiveShares(db);
  const grants = (await grantsOf(db, shares.map((s) => s.id))).filter((g) => isActive(g, now));
  const members = await groupMembers(db, grants.filter((g) => g.kind === 'group').map((g) => g.group_id!));
  const out = new Map<string, DesiredMount>();
  for (const share of shares) {
    for (const g of grants) {
      if (g.share_id !== share.id) continue;
      const who = g.kind === 'user' ? [g.user_name!] : g.kind === 'group' ? members.get(g.group_id!) ?? [] : [];
      for (const recipient of who) {
        if (recipient === share.owner_name) continue;
        const key = mounts ? path.join(mounts.viewOf(recipient), share.owner_name, share.name) : `${recipient}\0${share.id}`;
        const d = out.get(key) ?? { share, recipient, grants: [] };
        d.grants.push(g);
        out.set(key, d);
      }
    }
  }
  return out;
}

/** What {@link reconcileMounts} works with. */
export interface ReconcileDeps {
  db: Db;
  now(): number;
  log: Logger;
  areaRoot(user: string, area: ShareArea): string | null;
  mounts: ShareMounts;
}

/** Unbinds what is no longer granted, mounts and binds what is granted and missing, unmounts unused shares. */
export async function reconcileMounts(deps: ReconcileDeps): Promise<void> {
  const { db, mounts } = deps;
  const desired = await desiredMounts(db, deps.now(), mounts);
  const current = await mounts.current();
  const now = deps.now();
  for (const target of current.binds) {
    if (desired.has(target)) continue;
    await mounts.unbind(target);
    const [recipient, owner, name] = path.relative(mounts.viewsDir, target).split(path.sep);
    await writeAudit(db, now, 'system', 'share.unmount', `user:${recipient}`, { owner, name });
  }
  const roots = new Map<number, string | null>();
  const bound = new Set(current.binds);
  for (const [target, d] of desired) {
    if (bound.has(target)) continue;
    if (!roots.has(d.share.id)) roots.set(d.share.id, await mountShare(deps, d.share));
    const root = roots.get(d.share.id);
    if (!root) continue;
    await mounts.ensureView(d.recipient);
    await mounts.bind(root, d.share.kind, d.recipient, d.share.owner_name, d.share.name);
    await writeAudit(db, now, 'system', 'share.mount', `user:${d.recipient}`, { share: d.share.id, owner: d.share.owner_name, name: d.share.name });
  }
  const needed = new Set([...desired.values()].map((d) => d.share.id));
  for (const id of current.shares) {
    if (!needed.has(id)) await mounts.unmountShare(id, 'folder');
  }
  await mounts.tidyViews();
}

/** Mounts a share after validating its path again (it may have changed since it was shared); null if it cannot be. */
async function mountShare(deps: ReconcileDeps, s: OwnedShare): Promise<string | null> {
  try {
    const root = deps.areaRoot(s.owner_name, s.area as ShareArea);
    if (!root) throw new AppError('NOT_FOUND', `No ${s.area} area.`);
    const r = await resolveSharePath(root, s.rel_path);
    if (r.kind !== s.kind) throw new AppError('SHARE_PATH_INVALID', `${s.rel_path} is no longer a ${s.kind}.`);
    return await deps.mounts.mountShare(s.id, s.kind, s.kind === 'folder'
      ? { dir: r.abs, dirId: r.id }
      : { dir: r.parent.abs, dirId: r.parent.id, file: { name: path.basename(r.abs), id: r.id } });
  } catch (err) {
    deps.log.warn({ share: s.id, owner: s.owner_name, err: (err as Error).message }, 'share not mounted');
    return null;
  }
}
