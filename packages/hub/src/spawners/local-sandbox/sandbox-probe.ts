import { execFile } from 'node:child_process';
import { access, constants, lstat, mkdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '@eucp/core';
import { type HostRootEntry, type LaunchTools, MIRRORED_TOP_LEVEL, stagePaths } from './bwrap-args.js';

const execFileAsync = promisify(execFile);

/** PATH of the root stages of the launcher (the staging script runs `mount` from it). */
export const LAUNCHER_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

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

async function findInPath(program: string, searchPath: string): Promise<string | null> {
  for (const dir of searchPath.split(':')) {
    const file = path.join(dir, program);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** uid/gid of `nobody`, used only to try an unprivileged sandbox. */
const NOBODY = 65534;

/**
 * Creates the staging directory and its two empty mount points (root-owned, 0755).
 * Throws `SANDBOX_UNAVAILABLE` if a path exists that is not a root-owned directory
 * writable only by root (someone else could otherwise swap the mount points), or if a
 * directory above it is not searchable by everyone (bubblewrap runs as the account).
 */
export async function prepareStageDir(stageDir: string): Promise<void> {
  const { home, data } = stagePaths(stageDir);
  try {
    if (!path.isAbsolute(stageDir)) throw new Error(`${stageDir} is not an absolute path`);
    for (let dir = path.dirname(stageDir); ; dir = path.dirname(dir)) {
      const st = await stat(dir).catch(() => null);
      if (st && (st.mode & 0o001) === 0) throw new Error(`${dir} is not searchable by the sandbox accounts (chmod o+x)`);
      if (dir === '/') break;
    }
    for (const dir of [stageDir, home, data]) {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const st = await lstat(dir);
      if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
        throw new Error(`${dir} must be a directory owned by root and writable only by root`);
      }
    }
  } catch (err) {
    throw new AppError('SANDBOX_UNAVAILABLE', `Cannot prepare the staging directory ${stageDir}: ${(err as Error).message}.`, {}, { cause: err });
  }
}

/**
 * Checks that sandboxes can be created here: the hub runs as root (to create accounts
 * and cgroups), the launcher's programs and `mount` are executable, and bubblewrap can
 * build a sandbox as an unprivileged account inside a private mount namespace (i.e.
 * unprivileged user namespaces are enabled). Throws `SANDBOX_UNAVAILABLE` saying which
 * of these fails.
 */
export async function probeSandbox(tools: LaunchTools, hostRoot: readonly HostRootEntry[]): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new AppError('SANDBOX_UNAVAILABLE', 'The hub must run as root to create Unix accounts and cgroups for the sandboxes.');
  }
  const mount = await findInPath('mount', LAUNCHER_PATH);
  for (const [name, file] of [...Object.entries(tools), ['mount', mount ?? 'mount']] as const) {
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
    '--mount', '--propagation', 'private', '--', tools.setpriv,
    `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs', '--',
    tools.bwrap, '--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts',
    '--ro-bind', '/usr', '/usr', ...mirror, '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    '--', '/usr/bin/true',
  ];
  try {
    await execFileAsync(tools.unshare, argv, { timeout: 15_000, env: { PATH: LAUNCHER_PATH } });
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
