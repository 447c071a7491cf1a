import { spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { AppError, isAppError } from '@eucp/core';
import type { ServerStatus, SpawnProgress, SpawnResult, SpawnSpec, Spawner, SpawnerState } from '../spawner.js';
import {
  ARGS_FD,
  CGROUP_ENTER_FAILED,
  DEFAULT_LAUNCH_TOOLS,
  STAGE_FAILED,
  STATUS_FD,
  buildBwrapArgs,
  buildEnvArgs,
  buildLaunchArgv,
  encodeNulSeparated,
  sandboxHome,
  stagePaths,
  type ReadOnlyBind,
  type HostRootEntry,
  type LaunchTools,
} from './bwrap-args.js';
import { type CgroupDriver, type ServerCgroup, detectCgroupDriver, driverForCgroup } from './cgroups.js';
import {
  type ExitInfo,
  fileSize,
  findFreePort,
  isSameProcessAlive,
  pollUntil,
  readBootId,
  readLogTail,
  readProcStat,
  trySignal,
  watchStartup,
} from './process-info.js';
import { LAUNCHER_PATH, inspectHostRoot, prepareStageDir, probeSandbox } from './sandbox-probe.js';
import { type LocalSandboxState, decideStatus, parseBwrapStatus, parseLocalSandboxState } from './sandbox-state.js';
import { KeyedMutex, ensureUnixAccount, unixAccountName } from './unix-accounts.js';
import { prepareStorageAccess, stageStorageBinds } from './storage-access.js';

/** Options of {@link LocalSandboxSpawner}. */
export interface LocalSandboxSpawnerOptions {
  /** Host directory holding one home per hub user (`<homeRoot>/<user>`); created mode 0711 if missing. */
  homeRoot: string;
  /** The data cache, bound read-only at `/data`; its files must be readable by the sandbox accounts. */
  dataDir: string;
  /** Where server logs (`<user>[.<server>].log`) and bubblewrap status files go; root-only. */
  logDir: string;
  /** Prefix of the Unix accounts (`<prefix><user>`, at most 32 characters in all). */
  unixUserPrefix: string;
  logger: Logger;
  /** Where cgroup file systems are mounted; default `/sys/fs/cgroup`. */
  cgroupRoot?: string;
  /** Parent cgroup of all servers; default `eucp`. */
  cgroupName?: string;
  /** Maximum processes + threads per server (against fork bombs); default 4096; null = no limit. */
  pidsLimit?: number | null;
  /** How long `start` watches for the server to listen or die before handing over to the hub's HTTP check; default 3000 ms. */
  startupWatchMs?: number;
  /**
   * Root-owned directory with two empty mount points (`home`, `data`) onto which each
   * launcher binds its server's home and data in a private mount namespace; default
   * `/run/eucp-sandbox` (created if missing).
   */
  stageDir?: string;
  /** Paths of sh, unshare, setpriv and bwrap (defaults: /bin/sh, /usr/bin/unshare, /usr/bin/setpriv, /usr/bin/bwrap). */
  tools?: Partial<LaunchTools>;
}

interface Prepared {
  driver: CgroupDriver;
  hostRoot: HostRootEntry[];
}

/** A launcher process we spawned ourselves (so we know how it exited). */
interface Launched {
  exit?: ExitInfo;
}

const KILL_DEADLINE_MS = 10_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/**
 * Runs each server in a bubblewrap sandbox as the user's own Unix account
 * (`<unixUserPrefix><user>`, created on first start), inside a cgroup with the user's
 * memory, CPU and process limits (see `bwrap-args.ts` for the launch chain).
 *
 * Inside the sandbox: read-only `/usr`, `/etc` and the host's `/bin`, `/sbin`, `/lib*`
 * (directories or merged-/usr symlinks); a fresh `/proc` (own PID namespace: only the
 * server's processes); a minimal `/dev`; a private `/tmp` (`/var/tmp` points to it); the
 * home `<homeRoot>/<user>` read-write at `/home/<unixname>` (the working directory and
 * `$HOME`); the data cache read-only at `/data` (only `spec.dataPaths` of it when set); with
 * `spec.storage`, the derived-data area read-write at `/derived` (owned by the account) and
 * the workspace of each of the user's groups read-write at `/groups/<group>` (root-owned,
 * setgid, writable by the group's Unix group `<prefix>ws.<group>`); the sandbox root itself read-only;
 * nothing else of the host (no other homes, no `/root`, no host `/tmp`, no `/sys`, no
 * hub state). Own IPC and UTS namespaces (hostname `eucp-sandbox`); the host network.
 *
 * Servers survive the hub (detached, own session, output to
 * `<logDir>/<user>[.<server>].log`); `poll`/`stop` need only the state. `poll` reports
 * `oom` as soon as the kernel OOM-killed any process of the server's cgroup, even if
 * the server itself still runs; the caller then calls `stop`.
 *
 * Requires root, bubblewrap, util-linux (`setpriv`, `unshare`, `mount`), unprivileged
 * user namespaces and cgroups (v1, or v2 with memory, cpu and pids delegated); `start`
 * throws `SANDBOX_UNAVAILABLE` saying what is missing otherwise.
 */
export class LocalSandboxSpawner implements Spawner {
  readonly kind = 'local-sandbox';
  private readonly log: Logger;
  private readonly tools: LaunchTools;
  private readonly stageDir: string;
  private readonly cgroupRoot: string;
  private readonly cgroupName: string;
  private readonly userLocks = new KeyedMutex();
  private readonly launched = new Map<string, Launched>();
  private prepared: Promise<Prepared> | undefined;

  constructor(private readonly opts: LocalSandboxSpawnerOptions) {
    this.log = opts.logger.child({ component: 'local-sandbox-spawner' });
    this.tools = { ...DEFAULT_LAUNCH_TOOLS, ...opts.tools };
    this.stageDir = opts.stageDir ?? '/run/eucp-sandbox';
    this.cgroupRoot = opts.cgroupRoot ?? '/sys/fs/cgroup';
    this.cgroupName = opts.cgroupName ?? 'eucp';
  }

  /** Probes the machine once; a failure is not cached so an operator's fix is picked up. */
  private prepare(): Promise<Prepared> {
    this.prepared ??= (async () => {
      const hostRoot = await inspectHostRoot();
      await probeSandbox(this.tools, hostRoot);
      await prepareStageDir(this.stageDir);
      return { hostRoot, driver: await detectCgroupDriver(this.cgroupRoot, this.cgroupName) };
    })();
    const p = this.prepared;
    p.catch(() => {
      if (this.prepared === p) this.prepared = undefined;
    });
    return p;
  }

  async start(spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void): Promise<SpawnResult> {
    try {
      return await this.startSandbox(spec, onProgress);
    } catch (err) {
      if (isAppError(err)) throw err;
      throw new AppError('SPAWN_FAILED', `Starting the server of ${spec.user} failed: ${(err as Error).message}`, {}, { cause: err });
    }
  }

  private async startSandbox(spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void): Promise<SpawnResult> {
    let last = -1;
    const progress = (value: number, message: string): void => {
      if (value < last) return;
      last = value;
      try {
        onProgress?.({ progress: value, message });
      } catch (err) {
        this.log.warn({ err }, 'progress listener threw');
      }
    };
    progress(0, 'Checking the sandbox');
    const { driver, hostRoot } = await this.prepare();
    const dataStat = await stat(this.opts.dataDir).catch(() => null);
    if (!dataStat?.isDirectory()) {
      throw new AppError('SANDBOX_UNAVAILABLE', `The data directory ${this.opts.dataDir} does not exist or is not a directory.`);
    }
    const unixName = unixAccountName(this.opts.unixUserPrefix, spec.user);
    // `.` cannot occur in user or server names, so `<a>.<b>` never collides with a user `<a>-<b>`.
    const unit = spec.server ? `${unixName}.${spec.server}` : unixName;
    const logBase = spec.server ? `${spec.user}.${spec.server}` : spec.user;
    return this.userLocks.run(unixName, async () => {
      progress(10, 'Preparing your account');
      const account = await ensureUnixAccount({
        name: unixName,
        homeRoot: this.opts.homeRoot,
        hostHome: path.join(this.opts.homeRoot, spec.user),
        comment: `EUCP Notebook user ${spec.user}`,
        logger: this.log,
      });
      if (spec.storage) await prepareStorageAccess(account, spec.storage, this.opts.unixUserPrefix, this.log);

      progress(25, 'Setting memory and CPU limits');
      const cg = driver.cgroupFor(unit);
      if (await driver.exists(cg)) {
        this.log.warn({ unit, dirs: cg.dirs }, 'a cgroup of this server is left over; ending its processes and removing it');
        await this.terminate(driver, cg, null, 2000);
      }
      const memoryLimitBytes = spec.limits.memoryLimitBytes;
      try {
        await driver.create(cg, {
          memoryBytes: memoryLimitBytes,
          cpuCores: spec.limits.cpuLimitCores,
          pidsMax: this.opts.pidsLimit === undefined ? 4096 : this.opts.pidsLimit,
        });
      } catch (err) {
        await driver.remove(cg).catch(() => undefined);
        if (isAppError(err)) throw err;
        throw new AppError('SANDBOX_UNAVAILABLE', `Cannot create the cgroup of ${unit}: ${(err as Error).message}`, {}, { cause: err });
      }

      let launcher: { pid: number; startTime: number } | null = null;
      try {
        progress(40, 'Starting the sandbox');
        const port = await findFreePort('127.0.0.1');
        await mkdir(this.opts.logDir, { recursive: true, mode: 0o750 });
        const logFile = path.join(this.opts.logDir, `${logBase}.log`);
        const statusFile = path.join(this.opts.logDir, `${logBase}.status`);
        const logOffset = await fileSize(logFile);
        const home = sandboxHome(unixName);
        const env: Record<string, string> = {
          HOME: home,
          USER: unixName,
          LOGNAME: unixName,
          SHELL: '/bin/bash',
          PATH: '/usr/local/bin:/usr/bin:/bin',
          LANG: 'C.UTF-8',
          // Runtime files (kernel connection files, terminal sockets) go to the sandbox's private
          // /tmp, which lives exactly as long as the server: a home at its quota cannot block them.
          JUPYTER_RUNTIME_DIR: '/tmp/jupyter-runtime',
          EUCP_LAB_RUNTIME_DIR: '/tmp/eucp-lab',
          ...(memoryLimitBytes !== null ? { MEM_LIMIT: String(memoryLimitBytes) } : {}),
          ...(spec.limits.cpuLimitCores !== null ? { CPU_LIMIT: String(spec.limits.cpuLimitCores) } : {}),
          ...spec.env,
          JUPYTERHUB_SERVICE_URL: `http://127.0.0.1:${port}${spec.prefix}`,
        };
        const staged = stagePaths(this.stageDir);
        const code = await stageCodeBinds(spec.readOnlyBinds ?? [], staged.code);
        const storage = spec.storage ? await stageStorageBinds(spec.storage, staged) : [];
        // The shared view is staged like the code binds; its later submounts propagate in (slave namespace).
        const shared = spec.sharedView ? { source: `${this.stageDir}/shared`, target: '/shared' } : null;
        if (shared) await mkdir(shared.source, { recursive: true, mode: 0o755 });
        const argv = buildLaunchArgv({
          procsFiles: driver.procsFiles(cg),
          uid: account.uid,
          gid: account.gid,
          stage: { home: [account.hostHome, staged.home], data: [path.resolve(this.opts.dataDir), staged.data], code: [...code.map((b) => [b.target, b.source] as const), ...(shared ? [[spec.sharedView!, shared.source] as const] : [])], storage: storage.map((b) => [b.host, b.source] as const) },
          tools: this.tools,
          bwrapArgs: buildBwrapArgs({ unixName, hostHome: staged.home, dataDir: staged.data, hostRoot, argv: [...spec.cmd, ...spec.args], readOnlyBinds: shared ? [...code, shared] : code, readWriteBinds: storage, dataPaths: spec.dataPaths ?? null }),
        });
        const envArgs = encodeNulSeparated(buildEnvArgs(env));

        const launched: Launched = {};
        const pid = await this.launch(argv, envArgs, logFile, statusFile, launched, `${unit} as ${unixName} on 127.0.0.1:${port}`);
        const procStat = await readProcStat(pid);
        if (procStat) launcher = { pid, startTime: procStat.startTime };
        if (launcher) this.launched.set(`${pid}:${launcher.startTime}`, launched);

        progress(60, 'Waiting for your server to start');
        const outcome = launcher
          ? await watchStartup({ port, windowMs: this.opts.startupWatchMs ?? 3000, exited: () => launched.exit })
          : { kind: 'exited' as const, exit: launched.exit ?? { code: null, signal: null } };
        if (outcome.kind === 'exited') {
          const status = parseBwrapStatus(await readFile(statusFile, 'utf8').catch(() => ''));
          const exitCode = status.exitCode ?? exitCodeOf(outcome.exit);
          const tail = await readLogTail(logFile, logOffset);
          // bwrap reports a child pid once the sandbox exists: without it, the launcher failed.
          const launcherFailed = status.childPid === undefined;
          const why =
            launcherFailed && exitCode === CGROUP_ENTER_FAILED
              ? 'its launcher could not enter the server\'s cgroup'
              : launcherFailed && exitCode === STAGE_FAILED
                ? 'its launcher could not mount the home and data directories'
                : `the server exited during start-up (exit code ${exitCode ?? 'unknown'})`;
          throw new AppError('SPAWN_FAILED', `Starting ${unit} failed: ${why}. Last lines of its log ${logFile}:\n${tail}`, {
            logFile,
            exitCode,
          });
        }
        if (!launcher) throw new AppError('SPAWN_FAILED', `Starting ${unit} failed: its process vanished at once.`, { logFile });

        const state: LocalSandboxState = {
          kind: 'local-sandbox',
          version: 1,
          pid: launcher.pid,
          startTime: launcher.startTime,
          bootId: await readBootId(),
          unixName,
          uid: account.uid,
          port,
          cgroup: { version: cg.version, dirs: cg.dirs },
          logFile,
          statusFile,
          memoryLimitBytes,
        };
        progress(100, outcome.kind === 'listening' ? 'Server started' : 'Server process started');
        this.log.info({ unit, pid: launcher.pid, port, cgroup: cg.dirs }, 'started sandboxed server');
        return { url: `http://127.0.0.1:${port}`, state };
      } catch (err) {
        await this.terminate(driver, cg, launcher, 0).catch((e: unknown) => this.log.error({ err: e, unit }, 'cleanup after failed start failed'));
        throw err;
      }
    });
  }

  /** Spawns the launcher detached (own session and process group), stdio to files; returns its pid. */
  private async launch(argv: string[], envArgs: Buffer, logFile: string, statusFile: string, launched: Launched, what: string): Promise<number> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty launch argv');
    // O_NOFOLLOW: never append to wherever a planted symlink points.
    const { O_WRONLY, O_APPEND, O_CREAT, O_TRUNC, O_NOFOLLOW } = fsConstants;
    const logFd = openSync(logFile, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o640);
    let statusFd: number | undefined;
    try {
      writeSync(logFd, `\n[eucp] ${new Date().toISOString()} starting ${what}\n`);
      statusFd = openSync(statusFile, O_WRONLY | O_TRUNC | O_CREAT | O_NOFOLLOW, 0o640);
      const child = spawn(file, args, {
        detached: true,
        cwd: '/',
        // Only what sh and setpriv need; the server's environment goes through --args.
        env: { PATH: LAUNCHER_PATH, LANG: 'C.UTF-8' },
        // Positions match STATUS_FD (3) and ARGS_FD (4) in the bwrap arguments.
        stdio: ['ignore', logFd, logFd, statusFd, 'pipe'],
      });
      const errored = new Promise<Error>((resolve) => child.once('error', resolve));
      child.once('exit', (code, signal) => {
        launched.exit = { code, signal };
      });
      child.unref();
      if (child.pid === undefined) throw await errored;
      if (STATUS_FD !== 3 || ARGS_FD !== 4) throw new Error('stdio layout and bwrap fds disagree');
      const pipe = child.stdio[ARGS_FD] as Writable & { unref?: () => void };
      pipe.on('error', () => undefined); // EPIPE if the launcher died early: reported through its exit
      pipe.unref?.();
      await new Promise<void>((resolve) => pipe.end(envArgs, () => resolve()));
      pipe.destroy();
      return child.pid;
    } finally {
      closeSync(logFd);
      if (statusFd !== undefined) closeSync(statusFd);
    }
  }

  async poll(state: SpawnerState): Promise<ServerStatus> {
    const s = parseLocalSandboxState(state);
    if (!s) return { running: false, reason: 'gone', exitCode: null, message: 'Your server is no longer running. Start it again.' };
    const cg: ServerCgroup = s.cgroup;
    const driver = driverForCgroup(cg, this.cgroupRoot, this.cgroupName);
    const rebooted = (await readBootId()) !== s.bootId;
    const alive = !rebooted && (await isSameProcessAlive(s.pid, s.startTime));
    const oomKilled = !rebooted && driver !== null && (await driver.oomKilled(cg));
    const statusText = await readFile(s.statusFile, 'utf8').catch(() => null);
    const launched = this.launched.get(`${s.pid}:${s.startTime}`);
    const exitCode = parseBwrapStatus(statusText ?? '').exitCode ?? (launched?.exit ? exitCodeOf(launched.exit) : null);
    const traces = statusText !== null || launched !== undefined || (driver !== null && (await driver.exists(cg)));
    return decideStatus({ rebooted, alive, oomKilled, exitCode, traces, memoryLimitBytes: s.memoryLimitBytes });
  }

  async stop(state: SpawnerState, opts?: { timeoutMs?: number }): Promise<void> {
    const s = parseLocalSandboxState(state);
    if (!s) {
      this.log.warn({ state }, 'stop: state is not a local-sandbox state; nothing to stop');
      return;
    }
    const driver = driverForCgroup(s.cgroup, this.cgroupRoot, this.cgroupName);
    if (!driver) {
      // Without its cgroup we cannot find every process of the sandbox: refuse loudly
      // rather than end only the launcher and leave the sandbox running.
      throw new AppError(
        'INTERNAL',
        `The server's cgroup ${s.cgroup.dirs.join(', ')} is outside ${this.cgroupRoot}/…/${this.cgroupName}; ` +
          'were spawner cgroupRoot/cgroupName changed while it ran? Restore them to stop it.',
      );
    }
    const rebooted = (await readBootId()) !== s.bootId;
    const launcher = rebooted ? null : { pid: s.pid, startTime: s.startTime };
    await this.terminate(driver, s.cgroup, launcher, opts?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    this.launched.delete(`${s.pid}:${s.startTime}`);
    this.log.info({ unixName: s.unixName, pid: s.pid }, 'stopped sandboxed server');
  }

  /**
   * SIGTERM to every process of the server (cgroup members and the launcher, if it is
   * still the recorded process), SIGKILL after `timeoutMs`, wait until none is left,
   * then remove the cgroup. Throws `INTERNAL` if processes survive SIGKILL for 10 s.
   */
  private async terminate(
    driver: CgroupDriver,
    cg: ServerCgroup,
    launcher: { pid: number; startTime: number } | null,
    timeoutMs: number,
  ): Promise<void> {
    const launcherAlive = async (): Promise<boolean> => launcher !== null && (await isSameProcessAlive(launcher.pid, launcher.startTime));
    const anyAlive = async (): Promise<boolean> => (await driver.pids(cg)).length > 0 || (await launcherAlive());
    const signalAll = async (signal: NodeJS.Signals): Promise<void> => {
      await driver.signalAll(cg, signal);
      if (launcher && (await launcherAlive())) trySignal(launcher.pid, signal);
    };
    if (await anyAlive()) {
      await signalAll('SIGTERM');
      const ended = timeoutMs > 0 && (await pollUntil(async () => !(await anyAlive()), timeoutMs));
      if (!ended) {
        const killed = await pollUntil(async () => {
          await signalAll('SIGKILL');
          return !(await anyAlive());
        }, KILL_DEADLINE_MS);
        if (!killed) throw new AppError('INTERNAL', `Processes of the server in ${cg.dirs.join(', ')} survived SIGKILL.`);
      }
    }
    await driver.remove(cg);
  }
}

/** Exit status like a shell reports it: the code, or 128 + signal number. */
function exitCodeOf(exit: ExitInfo): number | null {
  if (exit.code !== null) return exit.code;
  return exit.signal ? 128 + constants.signals[exit.signal] : null;
}

/**
 * The staging mount point of each code path (`code/d<i>` or `code/f<i>` in the staging
 * directory, created root-owned on first use): the launcher binds the host path there
 * as root, and bubblewrap binds it on at the same path as on the host. Missing paths
 * (an unbuilt UI) are left out.
 */
async function stageCodeBinds(hostPaths: readonly string[], mountPoint: (i: number, kind: 'dir' | 'file') => string): Promise<ReadOnlyBind[]> {
  const binds: ReadOnlyBind[] = [];
  for (const [i, target] of hostPaths.entries()) {
    const st = await stat(target).catch(() => null);
    if (!st) continue;
    const source = mountPoint(i, st.isDirectory() ? 'dir' : 'file');
    await mkdir(path.dirname(source), { recursive: true, mode: 0o755 });
    if (st.isDirectory()) await mkdir(source, { recursive: true, mode: 0o755 });
    else await writeFile(source, '', { flag: 'a', mode: 0o644 });
    binds.push({ source, target });
  }
  return binds;
}
