import { z } from 'zod';
import type { ServerStatus, SpawnerState } from '../spawner.js';
import { oomMessage } from './cgroup-limits.js';

/**
 * The JSON state of a local-sandbox server, stored by the hub and parsed back here
 * (it comes from the database: never trusted blindly, see `driverForCgroup`).
 */
export const localSandboxStateSchema = z.object({
  kind: z.literal('local-sandbox'),
  version: z.literal(1),
  /** Pid of the launcher (`sh` → `setpriv` → outer `bwrap`, one process through its execs). */
  pid: z.number().int().positive(),
  /** Its start time in clock ticks since boot (from /proc/<pid>/stat): detects pid reuse. */
  startTime: z.number().int().nonnegative(),
  /** Kernel boot id at start: after a reboot the pid means nothing. */
  bootId: z.string().min(1),
  unixName: z.string().min(1),
  uid: z.number().int().positive(),
  port: z.number().int().min(1).max(65535),
  cgroup: z.object({ version: z.enum(['v1', 'v2']), dirs: z.array(z.string().min(1)).min(1) }),
  logFile: z.string().min(1),
  /** bubblewrap's `--json-status-fd` output (child pid, exit code). */
  statusFile: z.string().min(1),
  memoryLimitBytes: z.number().int().positive().nullable(),
});

export type LocalSandboxState = z.infer<typeof localSandboxStateSchema>;

/** Parses stored state; `null` if it is not a local-sandbox state of this version. */
export function parseLocalSandboxState(state: SpawnerState): LocalSandboxState | null {
  const parsed = localSandboxStateSchema.safeParse(state);
  return parsed.success ? parsed.data : null;
}

/** What bubblewrap reported through `--json-status-fd`. */
export interface BwrapStatus {
  /** Host pid of the sandbox's first process (its PID namespace's init). */
  childPid?: number;
  /** Exit status of the sandboxed command (128 + signal if it was killed by a signal). */
  exitCode?: number;
}

/** Parses bubblewrap's JSON-lines status output; tolerates a truncated last line. */
export function parseBwrapStatus(text: string): BwrapStatus {
  const out: BwrapStatus = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const doc = JSON.parse(line) as Record<string, unknown>;
      if (typeof doc['child-pid'] === 'number') out.childPid = doc['child-pid'];
      if (typeof doc['exit-code'] === 'number') out.exitCode = doc['exit-code'];
    } catch {
      // a line cut short by a killed bwrap
    }
  }
  return out;
}

/** Everything `poll` observed about a server, for {@link decideStatus}. */
export interface Observation {
  /** The machine rebooted since the server started. */
  rebooted: boolean;
  /** The launcher pid is alive with the recorded start time. */
  alive: boolean;
  /** The kernel OOM-killed a process of the server's cgroup. */
  oomKilled: boolean;
  /** Exit status: bubblewrap's report, or 128 + signal / code of the launcher; null if unknown. */
  exitCode: number | null;
  /** Any trace of the server is left (cgroup, status file or our own exit record). */
  traces: boolean;
  memoryLimitBytes: number | null;
}

/**
 * What `poll` answers for an observation. An OOM kill wins even while the launcher is
 * still alive (a kernel was killed but the server survived): the answer is then
 * `running: false, reason: 'oom'` and the caller must `stop` the server.
 */
export function decideStatus(o: Observation): ServerStatus {
  if (o.rebooted) {
    return { running: false, reason: 'gone', exitCode: null, message: 'Your server is no longer running because the machine restarted. Start it again.' };
  }
  if (o.oomKilled) return { running: false, reason: 'oom', exitCode: o.exitCode, message: oomMessage(o.memoryLimitBytes) };
  if (o.alive) return { running: true };
  if (o.exitCode !== null && o.exitCode > 128 && o.exitCode < 128 + 65) {
    return {
      running: false,
      reason: 'killed',
      exitCode: o.exitCode,
      message: `Your server was ended by signal ${o.exitCode - 128}. Start it again; if this keeps happening, ask an administrator.`,
    };
  }
  if (o.exitCode !== null) {
    return {
      running: false,
      reason: 'exited',
      exitCode: o.exitCode,
      message: `Your server stopped by itself (exit code ${o.exitCode}). Start it again; if it keeps stopping, an administrator can find the reason in its log.`,
    };
  }
  if (o.traces) {
    return { running: false, reason: 'killed', exitCode: null, message: 'Your server was ended from outside. Start it again.' };
  }
  return { running: false, reason: 'gone', exitCode: null, message: 'Your server is no longer running. Start it again.' };
}
