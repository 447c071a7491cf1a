import { execFile } from 'node:child_process';
import { access, constants, lstat, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { AppError } from '@eucp/core';
import { type HostRootEntry, MIRRORED_TOP_LEVEL } from './bwrap-args.js';

const execFileAsync = promisify(execFile);

/** Absolute paths of the programs the sandbox launcher runs. */
export interface SandboxTools {
  sh: string;
  setpriv: string;
  bwrap: string;
}

export const DEFAULT_TOOLS: SandboxTools = { sh: '/bin/sh', setpriv: '/usr/bin/setpriv', bwrap: '/usr/bin/bwrap' };

/** How `/bin`, `/lib64`, … look on this host (directories or merged-/usr symlinks). */
export async function inspectHostRoot(): Promise<HostRootEntry[]> {
  const entries: HostRootEntry[] = [];
  for (const p of MIRRORED_TOP_LEVEL) {
    try {
      const st = await lstat(p);
      if (st.isSymbolicLink()) entries.push({ path: p, kind: 'symlink', target: await readlink(p) });
      else if (st.isDirectory()) entries.push({ path: p, kind: 'dir' });
    } catch {
      // absent on this host
    }
  }
  return entries;
}

/** uid/gid of `nobody`, used only to try an unprivileged sandbox. */
const NOBODY = 65534;

/**
 * Checks that sandboxes can be created here: the hub runs as root (to create accounts
 * and cgroups), `sh`, `setpriv` and `bwrap` are executable, and bubblewrap can build a
 * sandbox as an unprivileged account (i.e. unprivileged user namespaces are enabled).
 * Throws `SANDBOX_UNAVAILABLE` saying which of these fails.
 */
export async function probeSandbox(tools: SandboxTools, hostRoot: readonly HostRootEntry[]): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new AppError('SANDBOX_UNAVAILABLE', 'The hub must run as root to create Unix accounts and cgroups for the sandboxes.');
  }
  for (const [name, file] of Object.entries(tools)) {
    try {
      await access(file, constants.X_OK);
    } catch {
      throw new AppError(
        'SANDBOX_UNAVAILABLE',
        `${file} (${name}) is missing or not executable.${name === 'bwrap' ? ' Install the Debian package bubblewrap.' : ''}`,
      );
    }
  }
  const mirror: string[] = [];
  for (const e of hostRoot) {
    if (e.kind === 'symlink' && e.target) mirror.push('--symlink', e.target, e.path);
    else mirror.push('--ro-bind', e.path, e.path);
  }
  const argv = [
    `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs', '--',
    tools.bwrap, '--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts',
    '--ro-bind', '/usr', '/usr', ...mirror, '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    '--', '/usr/bin/true',
  ];
  try {
    await execFileAsync(tools.setpriv, argv, { timeout: 15_000, env: { PATH: '/usr/bin:/bin' } });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new AppError(
      'SANDBOX_UNAVAILABLE',
      `bubblewrap cannot create a sandbox as an unprivileged account${stderr ? `: ${stderr}` : ''}. ` +
        'Unprivileged user namespaces may be disabled (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, ' +
        'or an AppArmor restriction).',
      {},
      { cause: err },
    );
  }
}
