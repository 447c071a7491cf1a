/**
 * Pure arithmetic and parsing for cgroup limits (no I/O, unit-tested): which control
 * file gets which value for a server's limits, and how to read the kernel's OOM
 * counters. The drivers in `cgroups.ts` apply these.
 */

export type CgroupVersion = 'v1' | 'v2';

/** The controllers a server's cgroup uses. */
export type CgroupController = 'memory' | 'cpu' | 'pids';

export const CONTROLLERS: readonly CgroupController[] = ['memory', 'cpu', 'pids'];

/** Limits of one server's cgroup; `null` means "no limit". */
export interface CgroupLimits {
  /** Memory (RAM; swap is not allowed on top) in bytes. */
  memoryBytes: number | null;
  /** CPU bandwidth in cores (0.5 = half a core, 2 = two cores). */
  cpuCores: number | null;
  /** Maximum number of processes and threads (against fork bombs). */
  pidsMax: number | null;
}

/** One write to a control file of the server's cgroup. */
export interface LimitWrite {
  controller: CgroupController;
  /** File name inside the cgroup directory, e.g. `memory.limit_in_bytes`. */
  file: string;
  value: string;
  /** Skip silently if the kernel does not have this file (e.g. swap accounting off). */
  optional: boolean;
}

/** CFS period used for CPU quotas, in microseconds (the kernel's default). */
export const CPU_PERIOD_US = 100_000;
/** The smallest quota the kernel accepts, in microseconds. */
const MIN_CPU_QUOTA_US = 1_000;

/** CFS quota for `cores` cores per {@link CPU_PERIOD_US}, in microseconds. */
export function cpuQuotaUs(cores: number, periodUs = CPU_PERIOD_US): number {
  if (!(cores > 0) || !Number.isFinite(cores)) throw new RangeError(`CPU limit must be a positive number of cores, got ${cores}`);
  return Math.max(MIN_CPU_QUOTA_US, Math.round(cores * periodUs));
}

/**
 * The control-file writes that impose `limits`, in the order they must be applied
 * (v1 needs `memory.limit_in_bytes` before `memory.memsw.limit_in_bytes`, which must
 * not be lower). Null limits produce no write: a fresh cgroup is unlimited.
 */
export function limitWrites(version: CgroupVersion, limits: CgroupLimits): LimitWrite[] {
  const writes: LimitWrite[] = [];
  const w = (controller: CgroupController, file: string, value: number | string, optional = false): void => {
    writes.push({ controller, file, value: String(value), optional });
  };
  if (limits.memoryBytes !== null) {
    assertPositiveInteger('memory limit', limits.memoryBytes);
    if (version === 'v1') {
      w('memory', 'memory.limit_in_bytes', limits.memoryBytes);
      // memory + swap = memory: the server cannot escape its limit into swap.
      w('memory', 'memory.memsw.limit_in_bytes', limits.memoryBytes, true);
    } else {
      w('memory', 'memory.max', limits.memoryBytes);
      w('memory', 'memory.swap.max', 0, true);
    }
  }
  if (limits.cpuCores !== null) {
    const quota = cpuQuotaUs(limits.cpuCores);
    if (version === 'v1') {
      w('cpu', 'cpu.cfs_period_us', CPU_PERIOD_US);
      w('cpu', 'cpu.cfs_quota_us', quota);
    } else {
      w('cpu', 'cpu.max', `${quota} ${CPU_PERIOD_US}`);
    }
  }
  if (limits.pidsMax !== null) {
    assertPositiveInteger('pids limit', limits.pidsMax);
    w('pids', 'pids.max', limits.pidsMax);
  }
  return writes;
}

function assertPositiveInteger(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive integer, got ${n}`);
}

/** Parses `key value` lines (`memory.oom_control`, `memory.events`, `cpu.stat`). */
export function parseKeyValueLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** Input of {@link v1OomKilled}: the raw text / numbers of the v1 memory files. */
export interface V1MemoryCounters {
  /** Text of `memory.oom_control`. */
  oomControl: string;
  /** `memory.failcnt`: how often usage hit the limit. */
  failcnt: number;
  /** `memory.max_usage_in_bytes`. */
  maxUsageBytes: number;
  /** `memory.limit_in_bytes` as read back (page-rounded). */
  limitBytes: number;
}

/**
 * True if the kernel OOM-killed a process of this v1 memory cgroup. Uses the `oom_kill`
 * counter of `memory.oom_control` (Linux ≥ 4.13); on older kernels, falls back to "usage
 * reached the limit and the limit was hit" (`failcnt` > 0 with peak usage at the limit,
 * within 1 MiB), which is what precedes an OOM kill.
 */
export function v1OomKilled(c: V1MemoryCounters): boolean {
  const kills = parseKeyValueLines(c.oomControl).get('oom_kill');
  if (kills !== undefined) return kills > 0;
  return c.failcnt > 0 && c.maxUsageBytes >= c.limitBytes - 1024 * 1024;
}

/** Number of OOM kills in a v2 `memory.events` text (0 if absent). */
export function v2OomKills(memoryEvents: string): number {
  return parseKeyValueLines(memoryEvents).get('oom_kill') ?? 0;
}

/** `512 MiB`, `2 GiB`, `1.5 GiB`: a byte count in binary units for messages. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)} ${units[unit]}`;
}

/** The message a user sees when their server was killed for exceeding its memory limit. */
export function oomMessage(memoryLimitBytes: number | null): string {
  const limit = memoryLimitBytes === null ? 'its memory limit' : `more than ${formatBytes(memoryLimitBytes)} of memory (its limit)`;
  return (
    `Your server was stopped because it used ${limit}. ` +
    'Everything in memory was lost; files you saved are kept. ' +
    'Start it again and work on smaller pieces of data at a time (for example open data sets ' +
    'with xarray using dask chunks, or select a region and period before loading), ' +
    'or ask an administrator for a higher memory limit.'
  );
}
