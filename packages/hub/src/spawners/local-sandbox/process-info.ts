import { open, readFile, readdir } from 'node:fs/promises';
import net from 'node:net';

/**
 * Process bookkeeping shared by the local spawners (and the process-based fakes in
 * `@eucp/testing`): identify a process by pid *and* start time so that a recycled pid
 * is never mistaken for our server, find free ports, and watch a freshly started
 * process for an early exit.
 */

/** The fields of `/proc/<pid>/stat` we use. */
export interface ProcStat {
  pid: number;
  /** One-letter state: `R`, `S`, `D`, `Z` (zombie), `X` (dead), … */
  state: string;
  ppid: number;
  /** Process group id. */
  pgrp: number;
  /** Start time in clock ticks since boot (field 22); unique per pid between reboots. */
  startTime: number;
}

/** Parses the text of `/proc/<pid>/stat`; `null` if it is malformed. */
export function parseProcStat(text: string): ProcStat | null {
  // The command name (field 2) is in parentheses and may itself contain ") ", so split
  // at the last closing parenthesis.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const startTime = Number(rest[19]);
  if (!state || !Number.isInteger(pid) || !Number.isInteger(startTime) || !Number.isInteger(ppid)) return null;
  return { pid, state, ppid, pgrp, startTime };
}

/** Reads `/proc/<pid>/stat`; `null` if there is no such process. */
export async function readProcStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * True if `pid` exists, is not a zombie, and started at `startTime` (clock ticks since
 * boot) — i.e. it is still the very process we recorded, not a reuse of its pid.
 */
export async function isSameProcessAlive(pid: number, startTime: number): Promise<boolean> {
  const stat = await readProcStat(pid);
  return stat !== null && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** The kernel's boot id; changes on every reboot (a recorded pid is meaningless then). */
export async function readBootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}

/** All pids currently in `/proc`, in no particular order. */
export async function listPids(): Promise<number[]> {
  const names = await readdir('/proc');
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/**
 * Sends `signal` to every live process whose process group is `pgid` and that started
 * no earlier than `notBefore` (clock ticks since boot). Returns how many were signalled
 * (with signal 0: how many exist).
 */
export async function signalProcessGroup(pgid: number, notBefore: number, signal: NodeJS.Signals | 0): Promise<number> {
  let count = 0;
  for (const pid of await listPids()) {
    const stat = await readProcStat(pid);
    if (!stat || stat.pgrp !== pgid || stat.startTime < notBefore || stat.state === 'Z') continue;
    if (trySignal(pid, signal)) count++;
  }
  return count;
}

/** `process.kill` that answers false instead of throwing when the process is gone. */
export function trySignal(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * A TCP port on `host` that was free a moment ago (bind to port 0, read it, close).
 * Another process may take it before the server binds; the start-up watch then sees the
 * server exit and the spawn fails cleanly.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/** True if something accepts TCP connections on `host:port` (within `timeoutMs`). */
export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** How a child process ended, as reported by Node's `exit` event. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Result of {@link watchStartup}. */
export type StartupOutcome =
  | { kind: 'listening' }
  | { kind: 'exited'; exit: ExitInfo }
  | { kind: 'undecided' };

/**
 * Watches a process that was just started until it listens on `127.0.0.1:port`
 * (`listening`), ends (`exited`), or `windowMs` milliseconds pass (`undecided`: still
 * running, not listening yet — the caller treats it as started and the hub's HTTP
 * readiness check takes over).
 */
export async function watchStartup(opts: {
  port: number;
  windowMs: number;
  exited: () => ExitInfo | undefined;
  intervalMs?: number;
}): Promise<StartupOutcome> {
  const deadline = Date.now() + opts.windowMs;
  const interval = opts.intervalMs ?? 50;
  for (;;) {
    const exit = opts.exited();
    if (exit) return { kind: 'exited', exit };
    if (await isListening('127.0.0.1', opts.port, 250)) {
      // A server that binds and dies at once would still count as listening; check again.
      const late = opts.exited();
      return late ? { kind: 'exited', exit: late } : { kind: 'listening' };
    }
    if (Date.now() >= deadline) return { kind: 'undecided' };
    await delay(interval);
  }
}

/** Resolves after `ms` milliseconds (for polling loops with a deadline, never as synchronisation). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes.
 * Returns whether the condition became true.
 */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await delay(intervalMs);
  }
}

/** Current size of a file in bytes, 0 if it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    const handle = await open(path, 'r');
    try {
      return (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  } catch {
    return 0;
  }
}

/**
 * The last `maxLines` lines of a log file written after byte `fromOffset` (at most
 * `maxBytes` bytes are read). Empty string if the file is missing.
 */
export async function readLogTail(path: string, fromOffset = 0, maxLines = 20, maxBytes = 8192): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = (await handle.stat()).size;
    const start = Math.max(fromOffset, size - maxBytes);
    const length = Math.max(0, size - start);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, start);
    const lines = buffer.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-maxLines).join('\n');
  } finally {
    await handle.close();
  }
}
