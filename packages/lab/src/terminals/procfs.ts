/**
 * What Linux's `/proc` says about a terminal's processes. Every function answers `null`
 * (or an empty list) where `/proc` is not available, so callers can fall back.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** The fields of `/proc/<pid>/stat` we use. */
export interface ProcStat {
  pid: number;
  /** Process group id. */
  pgrp: number;
  /** Session id. */
  session: number;
  /** Foreground process group of the controlling terminal, or -1 without one. */
  tpgid: number;
}

/** Reads `/proc/<pid>/stat`, or null if the process is gone or `/proc` is missing. */
export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // `comm` (field 2) is in parentheses and may itself contain spaces and parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest: state ppid pgrp session tty_nr tpgid ...
  const pgrp = Number(rest[2]);
  const session = Number(rest[3]);
  const tpgid = Number(rest[5]);
  if (![pgrp, session, tpgid].every(Number.isFinite)) return null;
  return { pid, pgrp, session, tpgid };
}

/**
 * True while the terminal whose shell is `shellPid` has a foreground process group other
 * than the shell's own (a program is running in the foreground); false at an idle
 * prompt; null if it cannot be told (no `/proc`, shell gone).
 */
export function foregroundBusy(shellPid: number): boolean | null {
  const stat = procStat(shellPid);
  if (!stat) return null;
  return stat.tpgid > 0 && stat.tpgid !== stat.pgrp;
}

/** True while the session of the shell `shellPid` has a process group other than the shell's (a job). */
export function backgroundJobs(shellPid: number): boolean {
  const shell = procStat(shellPid);
  if (!shell) return false;
  // A job just killed (Ctrl-C) can linger as a zombie until the shell reaps it: not work.
  return sessionPids(shellPid).some((pid) => procStat(pid)?.pgrp !== shell.pgrp && !isZombie(pid));
}

function isZombie(pid: number): boolean {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true; // gone
  }
}

/** PIDs of every process in session `sid` (the shell's session: its jobs included). */
export function sessionPids(sid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.session === sid) pids.push(stat.pid);
  }
  return pids;
}

/** True while a process with this PID runs (a zombie, dead but not yet reaped, does not). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    // Gone between the two looks, or no /proc: trust the signal probe.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self');
  }
}
