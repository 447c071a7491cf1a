import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AppError, NAME_PATTERN } from '@eucp/core';
import { SANDBOX_DERIVED_DIR, SANDBOX_GROUPS_DIR, type SpawnStorage } from '../spawner.js';
import type { UnixAccount } from './unix-accounts.js';
import { ensureUnixGroup, setGroupWritableDefaultAcl, syncWorkspaceMemberships, workspaceGroupName } from './unix-groups.js';

/** Mode of a group workspace: owner root, group = the workspace group, setgid so new files get the group. */
export const WORKSPACE_MODE = 0o2770;

async function directory(path: string, what: string): Promise<{ uid: number; gid: number; mode: number }> {
  const st = await lstat(path).catch(() => null);
  if (!st?.isDirectory()) throw new AppError('SPAWN_FAILED', `The ${what} ${path} does not exist or is not a directory.`);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

/**
 * Gives the storage areas of a spawn to the right Unix identities (idempotent, cheap when
 * nothing changed): the derived-data area to the account (mode 0700); each group workspace
 * to root and the group's Unix group `<prefix>ws.<group>` (mode 2770, group-writable
 * default ACL); and the account to exactly those workspace groups (`setpriv --init-groups`
 * then gives them to the server). Throws `SPAWN_FAILED`.
 */
export async function prepareStorageAccess(account: UnixAccount, storage: SpawnStorage, prefix: string, log: Logger): Promise<void> {
  const derived = await directory(storage.derived, 'derived-data area');
  if (derived.uid !== account.uid || derived.gid !== account.gid) await chown(storage.derived, account.uid, account.gid);
  if (derived.mode !== 0o700) await chmod(storage.derived, 0o700);
  const wanted: string[] = [];
  for (const g of storage.groups) {
    if (!NAME_PATTERN.test(g.name)) throw new AppError('SPAWN_FAILED', `Invalid group name ${JSON.stringify(g.name)}.`);
    const unixGroup = workspaceGroupName(prefix, g.name);
    const gid = await ensureUnixGroup(unixGroup);
    wanted.push(unixGroup);
    const st = await directory(g.hostPath, `workspace of group ${g.name}`);
    if (st.uid !== 0 || st.gid !== gid || st.mode !== WORKSPACE_MODE) {
      await chown(g.hostPath, 0, gid);
      await chmod(g.hostPath, WORKSPACE_MODE);
      await setGroupWritableDefaultAcl(g.hostPath).catch((err: unknown) =>
        log.warn({ err, dir: g.hostPath }, 'cannot set the default ACL of a group workspace; members can add files but not change each other\'s'));
    }
  }
  await syncWorkspaceMemberships(account.name, prefix, wanted);
}

/** A storage area to bind: the host path, its staging mount point, and where it appears in the sandbox. */
export interface StorageBind {
  host: string;
  source: string;
  target: string;
}

/**
 * The staging mount points of a spawn's storage areas (created root-owned, mode 0755, on
 * first use), like the code binds: the launcher binds each area there as root, then
 * bubblewrap binds it read-write at `/derived` or `/groups/<group>`.
 */
export async function stageStorageBinds(storage: SpawnStorage, staged: { derived: string; group: (i: number) => string }): Promise<StorageBind[]> {
  const binds: StorageBind[] = [{ host: storage.derived, source: staged.derived, target: SANDBOX_DERIVED_DIR }];
  storage.groups.forEach((g, i) => binds.push({ host: g.hostPath, source: staged.group(i), target: `${SANDBOX_GROUPS_DIR}/${g.name}` }));
  for (const b of binds) await mkdir(b.source, { recursive: true, mode: 0o755 });
  return binds;
}
