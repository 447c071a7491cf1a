import { AppError } from '@eucp/core';

/**
 * Pure builders of the sandbox command line (no I/O; unit-tested). The launch chain is
 *
 *   /bin/sh -c <CGROUP_ENTER_SCRIPT> eucp-enter-cgroup <cgroup.procs …> --
 *     /usr/bin/setpriv --reuid=<uid> --regid=<gid> --init-groups --no-new-privs --
 *       /usr/bin/bwrap <sandbox args> --args <fd> -- <cmd> <args…>
 *
 * `sh` (as root) writes its own pid into the server's cgroups and execs, so every
 * process of the server is limited from its first instruction; `setpriv` drops to the
 * account; `bwrap` (unprivileged, in a user namespace) builds the sandbox. The server's
 * environment travels through the `--args` file descriptor (`--clearenv --setenv …`),
 * never through argv (world-readable in /proc) and never through the environment of the
 * root-owned stages (no `LD_PRELOAD` or similar can reach them).
 */

/** How a top-level directory such as `/lib64` looks on the host. */
export interface HostRootEntry {
  /** Absolute path, e.g. `/lib64`. */
  path: string;
  kind: 'dir' | 'symlink';
  /** Link target for `symlink` entries, e.g. `usr/lib64`. */
  target?: string;
}

/** Top-level host paths mirrored into the sandbox when they exist (merged-/usr systems have symlinks here). */
export const MIRRORED_TOP_LEVEL = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/** Host directories bound read-only into every sandbox at the same path. */
export const READ_ONLY_SYSTEM_DIRS = ['/usr', '/etc'] as const;

/** Where the data cache appears inside the sandbox. */
export const SANDBOX_DATA_DIR = '/data';

/** File descriptors of the launched process (0 = /dev/null, 1 and 2 = the log file). */
export const STATUS_FD = 3;
export const ARGS_FD = 4;

/** What {@link buildBwrapArgs} needs to know about one server. */
export interface SandboxLayout {
  /** Account name; the home appears at `/home/<unixName>`. */
  unixName: string;
  /** Host directory bound read-write as the home. */
  hostHome: string;
  /** Host directory bound read-only at `/data`. */
  dataDir: string;
  /** How `MIRRORED_TOP_LEVEL` paths look on the host (missing ones are simply absent). */
  hostRoot: readonly HostRootEntry[];
  /** The server's argv (`[...cmd, ...args]`). */
  argv: readonly string[];
  statusFd?: number;
  argsFd?: number;
}

/** Home directory of an account inside its sandbox. */
export function sandboxHome(unixName: string): string {
  return `/home/${unixName}`;
}

/**
 * The bubblewrap arguments (after the `bwrap` path) for one server: new user, PID, IPC,
 * UTS and cgroup namespaces, the host network; read-only `/usr`, `/etc` and top-level
 * lib/bin paths; fresh `/proc`, minimal `/dev`, private `/tmp`; the home read-write at
 * `/home/<unixName>`; the data read-only at `/data`; everything else absent, and the
 * sandbox root itself read-only. Throws `SPAWN_FAILED` if `argv` is empty.
 */
export function buildBwrapArgs(layout: SandboxLayout): string[] {
  if (layout.argv.length === 0) throw new AppError('SPAWN_FAILED', 'The server command is empty.');
  const home = sandboxHome(layout.unixName);
  const args = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    'eucp-sandbox',
    // setsid(): the server cannot push input into a terminal it does not own (TIOCSTI).
    '--new-session',
  ];
  for (const dir of READ_ONLY_SYSTEM_DIRS) args.push('--ro-bind', dir, dir);
  for (const entry of layout.hostRoot) {
    if (!(MIRRORED_TOP_LEVEL as readonly string[]).includes(entry.path)) continue;
    if (entry.kind === 'symlink' && entry.target) args.push('--symlink', entry.target, entry.path);
    else if (entry.kind === 'dir') args.push('--ro-bind', entry.path, entry.path);
  }
  args.push(
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--dir', '/var',
    '--symlink', '/tmp', '/var/tmp',
    '--bind', layout.hostHome, home,
    '--ro-bind', layout.dataDir, SANDBOX_DATA_DIR,
    // Last: the sandbox's own root tmpfs becomes read-only (its mounts stay as they are).
    '--remount-ro', '/',
    '--chdir', home,
    '--json-status-fd', String(layout.statusFd ?? STATUS_FD),
    '--args', String(layout.argsFd ?? ARGS_FD),
    '--',
    ...layout.argv,
  );
  return args;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * bubblewrap arguments that replace the environment with exactly `env`, to be sent
 * through `--args <fd>`. Throws `SPAWN_FAILED` for a name that is not a valid variable
 * name or a value containing a NUL byte (it would break the NUL-separated framing).
 */
export function buildEnvArgs(env: Readonly<Record<string, string>>): string[] {
  const args = ['--clearenv'];
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw new AppError('SPAWN_FAILED', `Invalid environment variable name ${JSON.stringify(name)}.`);
    if (value.includes('\0')) throw new AppError('SPAWN_FAILED', `The environment variable ${name} contains a NUL byte.`);
    args.push('--setenv', name, value);
  }
  return args;
}

/** Encodes arguments for bubblewrap's `--args <fd>`: each followed by a NUL byte. */
export function encodeNulSeparated(args: readonly string[]): Buffer {
  return Buffer.from(args.map((a) => `${a}\0`).join(''), 'utf8');
}

/**
 * Fixed shell text of the launcher (never built from input). Arguments: the
 * `cgroup.procs` files, `--`, then the command to exec. Exits 125 if it cannot enter a
 * cgroup, so no process ever runs outside its limits.
 */
export const CGROUP_ENTER_SCRIPT =
  'pid=$$; while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do echo "$pid" > "$1" || exit 125; shift; done; ' +
  '[ "$1" = "--" ] || exit 125; shift; exec "$@"';

/** Exit code of the launcher when it could not enter the server's cgroup. */
export const CGROUP_ENTER_FAILED = 125;

/**
 * The complete argv that enters the cgroups, drops to the account and starts bubblewrap.
 * `bwrapArgs` comes from {@link buildBwrapArgs}.
 */
export function buildLaunchArgv(opts: {
  procsFiles: readonly string[];
  uid: number;
  gid: number;
  bwrapArgs: readonly string[];
  shPath?: string;
  setprivPath?: string;
  bwrapPath?: string;
}): string[] {
  if (!Number.isInteger(opts.uid) || opts.uid <= 0 || !Number.isInteger(opts.gid) || opts.gid <= 0) {
    throw new AppError('SPAWN_FAILED', `Refusing to start a sandbox as uid ${opts.uid} / gid ${opts.gid}.`);
  }
  for (const f of opts.procsFiles) {
    if (f === '--' || !f.startsWith('/')) throw new AppError('SPAWN_FAILED', `Invalid cgroup.procs path ${JSON.stringify(f)}.`);
  }
  return [
    opts.shPath ?? '/bin/sh',
    '-c',
    CGROUP_ENTER_SCRIPT,
    'eucp-enter-cgroup',
    ...opts.procsFiles,
    '--',
    opts.setprivPath ?? '/usr/bin/setpriv',
    `--reuid=${opts.uid}`,
    `--regid=${opts.gid}`,
    '--init-groups',
    '--no-new-privs',
    '--',
    opts.bwrapPath ?? '/usr/bin/bwrap',
    ...opts.bwrapArgs,
  ];
}
