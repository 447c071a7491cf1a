import { AppError, isSafeRelativePath } from '@eucp/core';

/**
 * Pure builders of the sandbox command line (no I/O; unit-tested). The launch chain is
 * one process exec'ing through five programs:
 *
 *   /bin/sh -c <CGROUP_ENTER_SCRIPT> eucp-enter-cgroup <cgroup.procs …> --
 *     /usr/bin/unshare --mount --propagation slave --
 *       /bin/sh -c <STAGE_SCRIPT> eucp-stage-mounts <home> <stage/home> <data> <stage/data> [<code> <stage/code/…>]… [<area> <stage/storage/…>]… --
 *         /usr/bin/setpriv --reuid=<uid> --regid=<gid> --init-groups --no-new-privs --
 *           /usr/bin/bwrap <sandbox args> --args <fd> -- <cmd> <args…>
 *
 * As root, `sh` writes its own pid into the server's cgroups and execs, so every process
 * of the server is limited from its first instruction; `unshare` gives it a private mount
 * namespace in which the second `sh` binds the home and the data onto the fixed, empty
 * staging directories (so the account needs no search permission on the hub's state
 * directory where homes usually live; nothing of this is visible to the host); `setpriv`
 * drops to the account; `bwrap`, unprivileged in a new user namespace, builds the
 * sandbox from the staged directories. The server's environment travels through the
 * `--args` file descriptor (`--clearenv --setenv …`), never through argv
 * (world-readable in /proc) nor the environment of the root stages (so nothing like
 * `LD_PRELOAD` can reach them). Both shell scripts are fixed text; paths are arguments.
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
  /** Directory bound read-write as the home (the staged home, see {@link stagePaths}). */
  hostHome: string;
  /** Directory bound read-only at `/data` (the staged data). */
  dataDir: string;
  /**
   * When set, `/data` holds only these paths (relative to `dataDir`), each bound
   * read-only at the same relative path (intermediate directories are created on the
   * sandbox's read-only root; a path missing on the host is skipped). Absent/null: all of
   * `dataDir`.
   */
  dataPaths?: readonly string[] | null;
  /** How `MIRRORED_TOP_LEVEL` paths look on the host (missing ones are simply absent). */
  hostRoot: readonly HostRootEntry[];
  /** The server's argv (`[...cmd, ...args]`). */
  argv: readonly string[];
  /** Absolute host paths bound read-only at the same path (the server's own code). */
  readOnlyBinds?: readonly ReadOnlyBind[];
  /**
   * Storage areas bound read-write (`source` = the staged area, `target` = `/derived` or
   * `/groups/<group>`); bound before the root becomes read-only.
   */
  readWriteBinds?: readonly ReadOnlyBind[];
  statusFd?: number;
  argsFd?: number;
}

/**
 * A host path the server's own code needs (the lab server's compiled code and its npm
 * dependencies), bound read-only at `target` inside the sandbox from `source`, its staged
 * mount point (see {@link stagePaths}): the sandbox account may have no search permission
 * on the installation's parent directories, the staged copy never needs any.
 */
export interface ReadOnlyBind {
  source: string;
  target: string;
}

/** Home directory of an account inside its sandbox. */
export function sandboxHome(unixName: string): string {
  return `/home/${unixName}`;
}

/**
 * The bubblewrap arguments (after the `bwrap` path) for one server: new user, PID, IPC,
 * UTS and cgroup namespaces, the host network; read-only `/usr`, `/etc` and top-level
 * lib/bin paths; fresh `/proc`, minimal `/dev`, private `/tmp`; the home read-write at
 * `/home/<unixName>`; the data read-only at `/data` (all of it, or only `dataPaths`); everything else absent, and the
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
    ...dataBindArgs(layout.dataDir, layout.dataPaths),
  );
  for (const b of layout.readOnlyBinds ?? []) {
    for (const p of [b.source, b.target]) {
      if (!p.startsWith('/') || p.split('/').includes('..')) throw new AppError('SPAWN_FAILED', `Read-only bind ${JSON.stringify(p)} is not an absolute path.`);
    }
    args.push('--ro-bind', b.source, b.target);
  }
  for (const b of layout.readWriteBinds ?? []) {
    for (const p of [b.source, b.target]) {
      if (!p.startsWith('/') || p.split('/').includes('..')) throw new AppError('SPAWN_FAILED', `Storage bind ${JSON.stringify(p)} is not an absolute path.`);
    }
    args.push('--bind', b.source, b.target);
  }
  args.push(
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

/**
 * The mounts that make up `/data`: the whole `dataDir`, or (with `dataPaths`) an empty
 * directory holding only those paths. Throws `SPAWN_FAILED` for a path that is absolute,
 * has `..`/`.`/empty segments, or lies below another listed path.
 */
export function dataBindArgs(dataDir: string, dataPaths: readonly string[] | null | undefined): string[] {
  if (dataPaths === null || dataPaths === undefined) return ['--ro-bind', dataDir, SANDBOX_DATA_DIR];
  const all = new Set(dataPaths);
  const args = ['--dir', SANDBOX_DATA_DIR];
  for (const p of [...all].sort()) {
    if (!isSafeRelativePath(p)) throw new AppError('SPAWN_FAILED', `Data path ${JSON.stringify(p)} is not a relative path inside the data directory.`);
    const segs = p.split('/');
    for (let i = 1; i < segs.length; i++) {
      const up = segs.slice(0, i).join('/');
      if (all.has(up)) throw new AppError('SPAWN_FAILED', `Data path ${JSON.stringify(p)} lies inside ${JSON.stringify(up)}.`);
    }
    args.push('--ro-bind-try', `${dataDir}/${p}`, `${SANDBOX_DATA_DIR}/${p}`);
  }
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
 * Fixed shell text of the launcher's first stage. Arguments: the `cgroup.procs` files,
 * `--`, then the command to exec. Exits 125 if it cannot enter a cgroup, so no process
 * ever runs outside its limits.
 */
export const CGROUP_ENTER_SCRIPT =
  'pid=$$; while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do echo "$pid" > "$1" || exit 125; shift; done; ' +
  '[ "$1" = "--" ] || exit 125; shift; exec "$@"';

/** Exit code of the launcher when it could not enter the server's cgroup. */
export const CGROUP_ENTER_FAILED = 125;

/**
 * Fixed shell text of the staging stage (run in its own mount namespace, a slave of the host's). Arguments:
 * pairs of a host path and its staging mount point (home, data, then code binds), `--`,
 * the command.
 * Exits 126 if a bind mount fails.
 */
export const STAGE_SCRIPT =
  'while [ "$#" -gt 1 ] && [ "$1" != "--" ]; do mount --rbind "$1" "$2" || exit 126; shift 2; done; ' +
  '[ "$1" = "--" ] || exit 126; shift; exec "$@"';

/** Exit code of the launcher when it could not stage the home and data mounts. */
export const STAGE_FAILED = 126;

/**
 * Staging mount points below the spawner's staging directory: the home, the data, and
 * `code/d<i>` (a directory) or `code/f<i>` (a file) for the i-th read-only code bind.
 */
export function stagePaths(stageDir: string): {
  home: string; data: string; code: (i: number, kind: 'dir' | 'file') => string; derived: string; group: (i: number) => string;
} {
  return {
    home: `${stageDir}/home`, data: `${stageDir}/data`, code: (i, kind) => `${stageDir}/code/${kind === 'dir' ? 'd' : 'f'}${i}`,
    derived: `${stageDir}/storage/derived`, group: (i) => `${stageDir}/storage/g${i}`,
  };
}

/** Programs of the launch chain (absolute paths). */
export interface LaunchTools {
  sh: string;
  unshare: string;
  setpriv: string;
  bwrap: string;
}

export const DEFAULT_LAUNCH_TOOLS: LaunchTools = {
  sh: '/bin/sh',
  unshare: '/usr/bin/unshare',
  setpriv: '/usr/bin/setpriv',
  bwrap: '/usr/bin/bwrap',
};

/**
 * The complete argv that enters the cgroups, stages the home and data, drops to the
 * account and starts bubblewrap. `bwrapArgs` comes from {@link buildBwrapArgs} with
 * `hostHome`/`dataDir` set to the staging mount points. Throws `SPAWN_FAILED` for uid or
 * gid 0 and for paths that are not absolute.
 */
export function buildLaunchArgv(opts: {
  procsFiles: readonly string[];
  uid: number;
  gid: number;
  /** Host paths to stage and where: `[source, mount point]` (home, data, then the code binds, then the storage areas). */
  stage: {
    home: readonly [string, string]; data: readonly [string, string];
    code?: readonly (readonly [string, string])[]; storage?: readonly (readonly [string, string])[];
  };
  bwrapArgs: readonly string[];
  tools?: Partial<LaunchTools>;
}): string[] {
  const tools = { ...DEFAULT_LAUNCH_TOOLS, ...opts.tools };
  if (!Number.isInteger(opts.uid) || opts.uid <= 0 || !Number.isInteger(opts.gid) || opts.gid <= 0) {
    throw new AppError('SPAWN_FAILED', `Refusing to start a sandbox as uid ${opts.uid} / gid ${opts.gid}.`);
  }
  const code = [...(opts.stage.code ?? []), ...(opts.stage.storage ?? [])].flat();
  const paths = [...opts.procsFiles, ...opts.stage.home, ...opts.stage.data, ...code];
  for (const p of paths) {
    if (!p.startsWith('/')) throw new AppError('SPAWN_FAILED', `Not an absolute path: ${JSON.stringify(p)}.`);
  }
  return [
    tools.sh, '-c', CGROUP_ENTER_SCRIPT, 'eucp-enter-cgroup', ...opts.procsFiles, '--',
    // slave, not private: mounts the hub makes later in a shared view (sharing/) reach the
    // running sandbox at /shared; mounts made in here still never reach the host.
    tools.unshare, '--mount', '--propagation', 'slave', '--',
    tools.sh, '-c', STAGE_SCRIPT, 'eucp-stage-mounts', ...opts.stage.home, ...opts.stage.data, ...code, '--',
    tools.setpriv, `--reuid=${opts.uid}`, `--regid=${opts.gid}`, '--init-groups', '--no-new-privs', '--',
    tools.bwrap, ...opts.bwrapArgs,
  ];
}
