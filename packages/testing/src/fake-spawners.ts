/**
 * Spawners with named behaviours for hub tests (never shipped):
 * - `ProcessSpawner`: runs the command as a plain detached child, no sandbox (fast).
 * - `SlowSpawner`: delays another spawner's start, reporting progress meanwhile.
 * - `CrashingSpawner`: the server ends N ms after it first answers HTTP.
 * - `FailingSpawner`: every start fails with `SPAWN_FAILED`.
 * `ProcessSpawner` and `SlowSpawner` pass the spawner contract.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@eucp/core';
import type { ServerStatus, SpawnProgress, SpawnResult, SpawnSpec, Spawner, SpawnerState } from '@eucp/hub/spawners/spawner';
import {
  type ExitInfo,
  delay,
  fileSize,
  findFreePort,
  isSameProcessAlive,
  pollUntil,
  readBootId,
  readLogTail,
  readProcStat,
  signalProcessGroup,
  watchStartup,
} from '@eucp/hub/spawners/local-sandbox/process-info';
import { answers } from './spawner-contract.js';

// A type alias, not an interface: it must be assignable to `SpawnerState` (an index signature).
type ProcessState = {
  kind: 'process';
  pid: number;
  startTime: number;
  bootId: string;
  logFile: string;
};

function parseProcessState(state: SpawnerState): ProcessState | null {
  const s = state as Partial<ProcessState>;
  if (s.kind !== 'process' || typeof s.pid !== 'number' || typeof s.startTime !== 'number' || typeof s.bootId !== 'string') return null;
  return s as ProcessState;
}

function exitCodeOf(exit: ExitInfo): number | null {
  if (exit.code !== null) return exit.code;
  return exit.signal ? 128 + constants.signals[exit.signal] : null;
}

/** Options of {@link ProcessSpawner}. */
export interface ProcessSpawnerOptions {
  /** Where logs go (`<user>[.<server>]-<random>.log`); default a folder in the OS temp dir. */
  logDir?: string;
  /** Working directory of the server; default the OS temp dir. */
  cwd?: string;
  /** How long start watches for an early exit (ms); default 3000. */
  startupWatchMs?: number;
}

/**
 * Runs `[...cmd, ...args]` as a plain detached child of the test process (own process
 * group, output to a log file) with `spec.env` and `JUPYTERHUB_SERVICE_URL` on a free
 * 127.0.0.1 port. No sandbox, no limits: for fast hub tests. `stop` ends the whole
 * process group. Exit codes are known only to the instance that started the server.
 */
export class ProcessSpawner implements Spawner {
  readonly kind = 'process';
  private readonly exits = new Map<string, { exit?: ExitInfo }>();

  constructor(private readonly opts: ProcessSpawnerOptions = {}) {}

  async start(spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void): Promise<SpawnResult> {
    onProgress?.({ progress: 0, message: 'Starting the process' });
    const [file, ...cmdArgs] = [...spec.cmd, ...spec.args];
    if (!file) throw new AppError('SPAWN_FAILED', 'The server command is empty.');
    const port = await findFreePort();
    const logDir = this.opts.logDir ?? path.join(tmpdir(), 'eucp-process-spawner');
    mkdirSync(logDir, { recursive: true });
    const logFile = path.join(logDir, `${spec.user}${spec.server ? `.${spec.server}` : ''}-${randomBytes(4).toString('hex')}.log`);
    const logOffset = await fileSize(logFile);
    const fd = openSync(logFile, 'a');
    const box: { exit?: ExitInfo } = {};
    let child;
    try {
      child = spawn(file, cmdArgs, {
        detached: true,
        cwd: this.opts.cwd ?? tmpdir(),
        stdio: ['ignore', fd, fd],
        env: {
          PATH: '/usr/local/bin:/usr/bin:/bin',
          HOME: this.opts.cwd ?? tmpdir(),
          LANG: 'C.UTF-8',
          ...spec.env,
          JUPYTERHUB_SERVICE_URL: `http://127.0.0.1:${port}${spec.prefix}`,
        },
      });
    } finally {
      closeSync(fd);
    }
    child.once('error', () => {
      box.exit ??= { code: 127, signal: null };
    });
    child.once('exit', (code, signal) => {
      box.exit = { code, signal };
    });
    child.unref();
    const stat = child.pid === undefined ? null : await readProcStat(child.pid);
    if (child.pid !== undefined && stat) this.exits.set(`${child.pid}:${stat.startTime}`, box);
    onProgress?.({ progress: 50, message: 'Waiting for the server to listen' });
    const outcome =
      child.pid === undefined || !stat
        ? { kind: 'exited' as const, exit: box.exit ?? { code: null, signal: null } }
        : await watchStartup({ port, windowMs: this.opts.startupWatchMs ?? 3000, exited: () => box.exit });
    if (outcome.kind === 'exited') {
      if (child.pid !== undefined && stat) await this.stop(this.stateOf(child.pid, stat.startTime, await readBootId(), logFile), { timeoutMs: 0 });
      const tail = await readLogTail(logFile, logOffset);
      throw new AppError('SPAWN_FAILED', `The process exited during start-up (exit code ${exitCodeOf(outcome.exit) ?? 'unknown'}). Last lines of ${logFile}:\n${tail}`, {
        logFile,
      });
    }
    onProgress?.({ progress: 100, message: 'Server started' });
    return { url: `http://127.0.0.1:${port}`, state: this.stateOf(child.pid!, stat!.startTime, await readBootId(), logFile) };
  }

  private stateOf(pid: number, startTime: number, bootId: string, logFile: string): ProcessState {
    return { kind: 'process', pid, startTime, bootId, logFile };
  }

  async poll(state: SpawnerState): Promise<ServerStatus> {
    const s = parseProcessState(state);
    if (!s || s.bootId !== (await readBootId())) {
      return { running: false, reason: 'gone', exitCode: null, message: 'Your server is no longer running. Start it again.' };
    }
    if (await isSameProcessAlive(s.pid, s.startTime)) return { running: true };
    const exit = this.exits.get(`${s.pid}:${s.startTime}`)?.exit;
    const exitCode = exit ? exitCodeOf(exit) : null;
    if (exit?.signal) {
      return { running: false, reason: 'killed', exitCode, message: `Your server was ended by ${exit.signal}. Start it again.` };
    }
    return { running: false, reason: 'exited', exitCode, message: `Your server stopped (exit code ${exitCode ?? 'unknown'}). Start it again.` };
  }

  async stop(state: SpawnerState, opts?: { timeoutMs?: number }): Promise<void> {
    const s = parseProcessState(state);
    if (!s || s.bootId !== (await readBootId())) return;
    // The server leads its own process group (detached), so its pid is the group id.
    const members = async (): Promise<boolean> => (await signalProcessGroup(s.pid, s.startTime, 0)) > 0;
    if (await members()) {
      await signalProcessGroup(s.pid, s.startTime, 'SIGTERM');
      const timeoutMs = opts?.timeoutMs ?? 10_000;
      const ended = timeoutMs > 0 && (await pollUntil(async () => !(await members()), timeoutMs));
      if (!ended) {
        const killed = await pollUntil(async () => {
          await signalProcessGroup(s.pid, s.startTime, 'SIGKILL');
          return !(await members());
        }, 10_000);
        if (!killed) throw new AppError('INTERNAL', `Process group ${s.pid} survived SIGKILL.`);
      }
    }
  }
}

/** Options of {@link SlowSpawner}. */
export interface SlowSpawnerOptions {
  inner: Spawner;
  /** Extra time before the inner start begins, in ms. */
  delayMs: number;
}

/**
 * Delays `inner.start` by `delayMs`, reporting progress 0-50 % meanwhile; the inner
 * progress is mapped onto 50-100 %. `poll` and `stop` are the inner spawner's.
 */
export class SlowSpawner implements Spawner {
  readonly kind: string;

  constructor(private readonly opts: SlowSpawnerOptions) {
    this.kind = `slow-${opts.inner.kind}`;
  }

  async start(spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void): Promise<SpawnResult> {
    const steps = 5;
    for (let i = 0; i < steps; i++) {
      onProgress?.({ progress: Math.round((i * 50) / steps), message: `Waiting for resources (${i + 1}/${steps})` });
      await delay(this.opts.delayMs / steps);
    }
    return this.opts.inner.start(spec, (p) => onProgress?.({ progress: 50 + Math.round(p.progress / 2), message: p.message }));
  }

  poll(state: SpawnerState): Promise<ServerStatus> {
    return this.opts.inner.poll(state);
  }

  stop(state: SpawnerState, opts?: { timeoutMs?: number }): Promise<void> {
    return this.opts.inner.stop(state, opts);
  }
}

/** Options of {@link CrashingSpawner}. */
export interface CrashingSpawnerOptions {
  inner: Spawner;
  /** Time between the server first answering HTTP under its prefix and its crash, in ms. */
  crashAfterMs: number;
  /** Exit code `poll` reports after the crash; default 1. */
  exitCode?: number;
}

/**
 * Starts servers with `inner`; each one is ended `crashAfterMs` after it first answers
 * HTTP (any status) under its prefix. From then on `poll` of this instance answers
 * `{ running: false, reason: 'exited', exitCode }`. Stopping before the crash cancels it.
 */
export class CrashingSpawner implements Spawner {
  readonly kind: string;
  private readonly crashed = new Set<string>();
  private readonly pending = new Map<string, AbortController>();

  constructor(private readonly opts: CrashingSpawnerOptions) {
    this.kind = `crashing-${opts.inner.kind}`;
  }

  async start(spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void): Promise<SpawnResult> {
    const result = await this.opts.inner.start(spec, onProgress);
    const key = JSON.stringify(result.state);
    const abort = new AbortController();
    this.pending.set(key, abort);
    void this.crashLater(`${result.url}${spec.prefix}`, result.state, key, abort.signal);
    return result;
  }

  private async crashLater(url: string, state: SpawnerState, key: string, signal: AbortSignal): Promise<void> {
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !(await answers(url, 1000))) await sleep(50, undefined, { signal });
      await sleep(this.opts.crashAfterMs, undefined, { signal });
    } catch {
      return; // aborted: the server was stopped before its crash
    }
    this.pending.delete(key);
    this.crashed.add(key);
    await this.opts.inner.stop(state, { timeoutMs: 0 }).catch(() => undefined);
  }

  async poll(state: SpawnerState): Promise<ServerStatus> {
    if (this.crashed.has(JSON.stringify(state))) {
      const exitCode = this.opts.exitCode ?? 1;
      return {
        running: false,
        reason: 'exited',
        exitCode,
        message: `Your server stopped by itself (exit code ${exitCode}). Start it again.`,
      };
    }
    return this.opts.inner.poll(state);
  }

  async stop(state: SpawnerState, opts?: { timeoutMs?: number }): Promise<void> {
    const key = JSON.stringify(state);
    this.pending.get(key)?.abort();
    this.pending.delete(key);
    await this.opts.inner.stop(state, opts);
  }
}

/** Options of {@link FailingSpawner}. */
export interface FailingSpawnerOptions {
  /** The `detail` of the `SPAWN_FAILED` error; default says it is the FailingSpawner. */
  detail?: string;
  /** Time before start fails, in ms; default 0. */
  delayMs?: number;
}

/** Every `start` reports a little progress, then throws `SPAWN_FAILED`; nothing ever runs. */
export class FailingSpawner implements Spawner {
  readonly kind = 'failing';

  constructor(private readonly opts: FailingSpawnerOptions = {}) {}

  async start(_spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void): Promise<SpawnResult> {
    onProgress?.({ progress: 0, message: 'Starting' });
    if (this.opts.delayMs) await delay(this.opts.delayMs);
    throw new AppError('SPAWN_FAILED', this.opts.detail ?? 'FailingSpawner never starts a server.', { logFile: null });
  }

  async poll(_state: SpawnerState): Promise<ServerStatus> {
    return { running: false, reason: 'gone', exitCode: null, message: 'Your server is not running. Start it again.' };
  }

  async stop(_state: SpawnerState, _opts?: { timeoutMs?: number }): Promise<void> {}
}
