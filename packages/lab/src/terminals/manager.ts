import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { isoformat } from '@eucp/core';
import { HolderConnection, HolderConnectError } from './connection.js';
import { launchHolder } from './launch.js';
import { backgroundJobs, foregroundBusy, pidAlive, sessionPids } from './procfs.js';
import { TERMINAL_NAME, terminalPaths, type HolderConfig, type HolderInfo } from './protocol.js';
import type {
  CreateTerminalOptions,
  TerminalAttachment,
  TerminalClient,
  TerminalManager,
  TerminalModel,
} from './types.js';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH_BYTES = 107;
/** How long `kill` waits for a terminal's processes to go before SIGKILL. */
const KILL_WAIT_MS = 5000;
const POLL_MS = 25;

/** Options of {@link LocalTerminalManager}. */
export interface LocalTerminalManagerOptions {
  /** The lab server's state directory; terminals live in `<stateDir>/terminals/`. */
  stateDir: string;
  /** The lab root: default working directory, base of relative `cwd`s. */
  rootDir: string;
  log: Logger;
  /** Extra environment for the terminals (over this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Shell to run; default `$SHELL` or `/bin/bash`. */
  shell?: string;
  /** Lines of scrollback kept and replayed; default 10,000. */
  scrollback?: number;
}

interface Entry {
  name: string;
  info: HolderInfo;
  lastActivity: number;
  /** The manager's own link to the holder: activity, exit, status. */
  control: HolderConnection;
  /** Clients attached through this manager, to detach them all at once. */
  attachments: Set<() => void>;
  /** Last answer of the holder to `status` (used where `/proc` is not available). */
  busyCache: boolean;
  /** Set while the manager itself drops the terminal (kill, detach): no exit handling. */
  dropping: boolean;
}

/**
 * The lab server's terminals, each held by a detached holder process (`holder.ts`), so
 * that shells and their scrollback survive closed browsers and lab-server restarts.
 * Call {@link LocalTerminalManager.reattach} once at start to adopt the running holders.
 */
export class LocalTerminalManager implements TerminalManager {
  private readonly terminals = new Map<string, Entry>();
  private readonly starting = new Map<string, Promise<TerminalModel>>();
  /** Terminals being killed: their names stay taken until their files are gone. */
  private readonly ending = new Map<string, Promise<boolean>>();
  private readonly log: Logger;
  private readonly shell: string;
  private readonly scrollback: number;

  constructor(private readonly options: LocalTerminalManagerOptions) {
    this.log = options.log.child({ component: 'terminals' });
    this.shell = options.shell ?? options.env?.SHELL ?? process.env.SHELL ?? '/bin/bash';
    this.scrollback = options.scrollback ?? 10_000;
  }

  /**
   * Adopts every live holder found in `<stateDir>/terminals/` (after a lab-server
   * restart) and removes sockets nobody listens on. Idempotent.
   */
  async reattach(): Promise<void> {
    const { dir } = terminalPaths(this.options.stateDir, 'x');
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      return;
    }
    await Promise.all(
      files.map(async (file) => {
        const name = /^(\w+)\.sock$/.exec(file)?.[1];
        if (!name || !TERMINAL_NAME.test(name) || this.terminals.has(name)) return;
        const paths = terminalPaths(this.options.stateDir, name);
        try {
          this.adopt(name, await HolderConnection.connect(paths.socket));
          this.log.info({ terminal: name }, 'reattached to running terminal');
        } catch (err) {
          if (err instanceof HolderConnectError && err.stale) {
            await rm(paths.socket, { force: true });
            this.log.info({ terminal: name }, 'removed the socket of a terminal that is gone');
          } else {
            this.log.warn({ terminal: name, err }, 'cannot reattach to terminal');
          }
        }
      }),
    );
  }

  list(): TerminalModel[] {
    return [...this.terminals.values()].map(model);
  }

  get(name: string): TerminalModel | undefined {
    const entry = this.terminals.get(name);
    return entry && model(entry);
  }

  async create(options: CreateTerminalOptions = {}): Promise<TerminalModel> {
    const requested = options.name;
    if (requested !== undefined) {
      if (!TERMINAL_NAME.test(requested)) throw new Error(`invalid terminal name: ${JSON.stringify(requested)}`);
      const existing = this.terminals.get(requested);
      if (existing) return model(existing);
      const pending = this.starting.get(requested);
      if (pending) return pending;
      await this.ending.get(requested);
      if (this.terminals.has(requested) || this.starting.has(requested)) return this.create(options);
    }
    const name = requested ?? this.freeName();
    const started = this.start(name, this.workingDir(options.cwd));
    this.starting.set(name, started);
    try {
      return await started;
    } finally {
      this.starting.delete(name);
    }
  }

  async kill(name: string): Promise<boolean> {
    const ending = this.ending.get(name);
    if (ending) return ending;
    const entry = this.terminals.get(name);
    if (!entry) return false;
    this.terminals.delete(name);
    const killed = this.end(entry);
    this.ending.set(name, killed);
    try {
      return await killed;
    } finally {
      this.ending.delete(name);
    }
  }

  private async end(entry: Entry): Promise<boolean> {
    const { name } = entry;
    entry.dropping = true;
    const { holderPid, shellPid } = entry.info;
    // Everything in the shell's session (its jobs too) goes with the terminal.
    const pids = [...new Set([holderPid, shellPid, ...sessionPids(shellPid)])];
    entry.control.send({ type: 'kill' });
    await withTimeout(entry.control.whenClosed(), KILL_WAIT_MS);
    if (!(await gone(pids, KILL_WAIT_MS))) {
      const left = pids.filter(pidAlive);
      this.log.warn({ terminal: name, pids: left }, 'terminal processes ignored SIGHUP; killing them');
      for (const pid of left) signal(pid, 'SIGKILL');
      await gone(pids, KILL_WAIT_MS);
    }
    entry.control.close();
    for (const detach of entry.attachments) detach();
    const paths = terminalPaths(this.options.stateDir, name);
    await Promise.all([paths.socket, paths.state, paths.log].map((path) => rm(path, { force: true })));
    this.log.info({ terminal: name }, 'terminal killed');
    return true;
  }

  async attach(name: string, client: TerminalClient): Promise<TerminalAttachment | null> {
    const entry = this.terminals.get(name);
    if (!entry) return null;
    let connection: HolderConnection;
    try {
      connection = await HolderConnection.connect(terminalPaths(this.options.stateDir, name).socket);
    } catch (err) {
      this.log.warn({ terminal: name, err }, 'cannot attach to terminal');
      return null;
    }
    let ended = false;
    let detachedByUs = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      entry.attachments.delete(detachAll);
      connection.close();
    };
    const detachAll = (): void => {
      detachedByUs = true;
      end();
      client.detached?.();
    };
    entry.attachments.add(detachAll);
    connection.onMessage((message) => {
      if (ended) return;
      if (message.type === 'state') {
        // Reset first: a reconnecting browser keeps its old screen, the replay replaces it.
        client.output(`\x1bc${message.data}`);
      } else if (message.type === 'output') {
        client.output(message.data);
      } else if (message.type === 'exit') {
        // Forget it now: whoever hears of the exit must no longer find the terminal.
        this.forget(entry);
        end();
        client.exit();
      }
    });
    connection.onClose(() => {
      if (ended || detachedByUs) return;
      end();
      client.exit();
    });
    connection.send({ type: 'attach', replay: true, output: true });
    return {
      input: (data) => {
        entry.lastActivity = Date.now();
        connection.send({ type: 'input', data });
      },
      resize: (rows, cols) => connection.send({ type: 'resize', rows, cols }),
      detach: end,
    };
  }

  busy(): boolean {
    let busy = false;
    for (const entry of this.terminals.values()) {
      const fromProc = foregroundBusy(entry.info.shellPid);
      if (fromProc === null) entry.control.send({ type: 'status' }); // answer used next time
      if (fromProc ?? entry.busyCache) busy = true;
      // A job left running in the background (`./long.sh &`) is work too: job control gives
      // it a process group of its own (the shell's short-lived helpers stay in the shell's).
      else if (backgroundJobs(entry.info.shellPid)) busy = true;
    }
    return busy;
  }

  async detachAll(): Promise<void> {
    const entries = [...this.terminals.values()];
    this.terminals.clear();
    for (const entry of entries) {
      entry.dropping = true;
      for (const detach of [...entry.attachments]) detach();
      entry.control.close();
    }
    await Promise.all(entries.map((entry) => entry.control.whenClosed()));
  }

  async shutdownAll(): Promise<void> {
    await Promise.all([...this.starting.values()].map((p) => p.catch(() => undefined)));
    await Promise.all([...this.terminals.keys(), ...this.ending.keys()].map((name) => this.kill(name)));
  }

  /** PIDs of a terminal's holder and shell (diagnostics and tests). */
  pids(name: string): { holder: number; shell: number } | undefined {
    const entry = this.terminals.get(name);
    return entry && { holder: entry.info.holderPid, shell: entry.info.shellPid };
  }

  private async start(name: string, cwd: string): Promise<TerminalModel> {
    const paths = terminalPaths(this.options.stateDir, name);
    if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`terminal socket path is too long for a unix socket: ${paths.socket}`);
    }
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    chmodSync(paths.dir, 0o700);
    const config: HolderConfig = { name, stateDir: this.options.stateDir, cwd, shell: this.shell, rows: 24, cols: 80, scrollback: this.scrollback };
    const env = { ...process.env, ...this.options.env };
    const holderPid = await launchHolder(config, paths, env);
    let connection: HolderConnection;
    try {
      connection = await HolderConnection.connect(paths.socket);
    } catch (err) {
      signal(holderPid, 'SIGTERM');
      throw err;
    }
    const entry = this.adopt(name, connection);
    this.log.info({ terminal: name, holderPid, shellPid: entry.info.shellPid, cwd }, 'terminal started');
    return model(entry);
  }

  /** Registers a terminal whose holder answered on `control`. */
  private adopt(name: string, control: HolderConnection): Entry {
    const entry: Entry = {
      name,
      info: control.info,
      lastActivity: control.info.lastActivity,
      control,
      attachments: new Set(),
      busyCache: false,
      dropping: false,
    };
    this.terminals.set(name, entry);
    control.onMessage((message) => {
      if (message.type === 'activity') entry.lastActivity = Math.max(entry.lastActivity, message.at);
      else if (message.type === 'status') entry.busyCache = message.busy;
      else if (message.type === 'exit') {
        this.log.info({ terminal: name, ...message }, 'terminal exited');
        this.forget(entry);
      }
    });
    control.onClose(() => {
      if (entry.dropping) return;
      this.forget(entry);
      if (!pidAlive(entry.info.holderPid)) {
        // A holder that died without cleaning up leaves its socket behind.
        void rm(terminalPaths(this.options.stateDir, name).socket, { force: true });
      }
    });
    control.send({ type: 'attach', replay: false, output: false });
    return entry;
  }

  /** Drops a terminal whose process has exited (its final state file stays as a record). */
  private forget(entry: Entry): void {
    if (entry.dropping) return;
    entry.dropping = true;
    if (this.terminals.get(entry.name) === entry) this.terminals.delete(entry.name);
  }

  private freeName(): string {
    for (let i = 1; ; i++) {
      const name = String(i);
      if (!this.terminals.has(name) && !this.starting.has(name) && !this.ending.has(name)) return name;
    }
  }

  private workingDir(cwd: string | undefined): string {
    const root = this.options.rootDir;
    if (!cwd) return root;
    const dir = isAbsolute(cwd) ? cwd : resolve(root, cwd);
    try {
      if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
    } catch {
      // Not accessible: fall back to the root, as jupyter_server does.
    }
    return root;
  }
}

function model(entry: Entry): TerminalModel {
  return { name: entry.name, last_activity: isoformat(entry.lastActivity) as string };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise`, at most `ms`. */
async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Waits (polling: there is no exit event for processes that are not our children). */
async function gone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive)) {
    if (Date.now() > deadline) return false;
    await delay(POLL_MS);
  }
  return true;
}
