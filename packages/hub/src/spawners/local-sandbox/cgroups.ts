import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@eucp/core';
import {
  CONTROLLERS,
  type CgroupController,
  type CgroupLimits,
  type CgroupVersion,
  limitWrites,
  v1OomKilled,
  v2OomKills,
} from './cgroup-limits.js';
import { delay, trySignal } from './process-info.js';

/** The cgroup of one server: one directory per controller on v1, one directory on v2. */
export interface ServerCgroup {
  version: CgroupVersion;
  dirs: string[];
}

/**
 * cgroup v1 and v2 behind one small interface. A driver owns one parent cgroup
 * (`<root>/<controller>/<name>` on v1, `<base>/<name>` on v2) and creates one child per
 * server in it. Methods that read a server's cgroup treat a missing cgroup as empty.
 */
export interface CgroupDriver {
  readonly version: CgroupVersion;
  /** The cgroup a server unit would get (nothing is created). */
  cgroupFor(unit: string): ServerCgroup;
  /** True if `cg` lies inside this driver's parent cgroup (guards state read from the database). */
  owns(cg: ServerCgroup): boolean;
  /**
   * Creates `cg` with `limits` applied. Throws `SANDBOX_UNAVAILABLE` if the parent cgroup
   * cannot be prepared, a plain `Error` if `cg` already exists or a limit is refused.
   */
  create(cg: ServerCgroup, limits: CgroupLimits): Promise<void>;
  /** The `cgroup.procs` files a launcher writes its own pid to, to enter `cg` before it forks. */
  procsFiles(cg: ServerCgroup): string[];
  /** Pids of every process in `cg` (empty if it does not exist). */
  pids(cg: ServerCgroup): Promise<number[]>;
  exists(cg: ServerCgroup): Promise<boolean>;
  /** True if the kernel OOM-killed a process of `cg` (false if `cg` is gone). */
  oomKilled(cg: ServerCgroup): Promise<boolean>;
  /** Sends `signal` to every process in `cg`; returns how many were signalled. */
  signalAll(cg: ServerCgroup, signal: NodeJS.Signals): Promise<number>;
  /** Removes the directories of an empty `cg`; idempotent. Throws if it stays busy for 5 s. */
  remove(cg: ServerCgroup): Promise<void>;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function assertName(kind: string, name: string): void {
  if (!NAME.test(name) || name.includes('..')) throw new Error(`invalid cgroup ${kind} name ${JSON.stringify(name)}`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function readText(p: string): Promise<string | null> {
  try {
    return await readFile(p, 'utf8');
  } catch {
    return null;
  }
}

async function readPids(dir: string): Promise<number[]> {
  const text = await readText(path.join(dir, 'cgroup.procs'));
  if (text === null) return [];
  return text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

async function writeControl(dir: string, file: string, value: string): Promise<void> {
  try {
    await writeFile(path.join(dir, file), value);
  } catch (err) {
    throw new Error(`cannot write ${JSON.stringify(value)} to ${path.join(dir, file)}: ${(err as Error).message}`, { cause: err });
  }
}

async function removeDirs(dirs: readonly string[]): Promise<void> {
  const deadline = Date.now() + 5000;
  for (const dir of dirs) {
    for (;;) {
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // EBUSY: the last processes are still exiting.
        if (code !== 'EBUSY' || Date.now() >= deadline) throw err;
        await delay(50);
      }
    }
  }
}

abstract class BaseDriver implements CgroupDriver {
  abstract readonly version: CgroupVersion;
  abstract cgroupFor(unit: string): ServerCgroup;
  protected abstract parents(): string[];
  abstract create(cg: ServerCgroup, limits: CgroupLimits): Promise<void>;
  abstract oomKilled(cg: ServerCgroup): Promise<boolean>;

  owns(cg: ServerCgroup): boolean {
    if (cg.version !== this.version) return false;
    const parents = this.parents();
    return (
      cg.dirs.length === parents.length &&
      cg.dirs.every((dir, i) => {
        const parent = parents[i];
        return parent !== undefined && path.dirname(dir) === parent && NAME.test(path.basename(dir)) && !dir.includes('..');
      })
    );
  }

  procsFiles(cg: ServerCgroup): string[] {
    return cg.dirs.map((d) => path.join(d, 'cgroup.procs'));
  }

  async pids(cg: ServerCgroup): Promise<number[]> {
    const all = new Set<number>();
    for (const dir of cg.dirs) for (const pid of await readPids(dir)) all.add(pid);
    return [...all];
  }

  async exists(cg: ServerCgroup): Promise<boolean> {
    for (const dir of cg.dirs) if (await exists(dir)) return true;
    return false;
  }

  async signalAll(cg: ServerCgroup, signal: NodeJS.Signals): Promise<number> {
    let n = 0;
    for (const pid of await this.pids(cg)) if (trySignal(pid, signal)) n++;
    return n;
  }

  remove(cg: ServerCgroup): Promise<void> {
    return removeDirs([...cg.dirs].reverse());
  }
}

/** cgroup v1: one hierarchy per controller at `<root>/<controller>`. */
export class CgroupV1Driver extends BaseDriver {
  readonly version = 'v1' as const;

  constructor(private readonly root: string, private readonly name: string) {
    super();
    assertName('parent', name);
  }

  protected parents(): string[] {
    return CONTROLLERS.map((c) => path.join(this.root, c, this.name));
  }

  cgroupFor(unit: string): ServerCgroup {
    assertName('server', unit);
    return { version: 'v1', dirs: this.parents().map((p) => path.join(p, unit)) };
  }

  private dirOf(cg: ServerCgroup, controller: CgroupController): string {
    const dir = cg.dirs[CONTROLLERS.indexOf(controller)];
    if (!dir) throw new Error(`cgroup has no ${controller} directory`);
    return dir;
  }

  async create(cg: ServerCgroup, limits: CgroupLimits): Promise<void> {
    for (const parent of this.parents()) {
      try {
        await mkdir(parent, { recursive: true });
      } catch (err) {
        throw new AppError('SANDBOX_UNAVAILABLE', `Cannot create the cgroup ${parent}: ${(err as Error).message}.`, {}, { cause: err });
      }
    }
    for (const dir of cg.dirs) await mkdir(dir);
    for (const write of limitWrites('v1', limits)) {
      const dir = this.dirOf(cg, write.controller);
      if (write.optional && !(await exists(path.join(dir, write.file)))) continue;
      await writeControl(dir, write.file, write.value);
    }
  }

  async oomKilled(cg: ServerCgroup): Promise<boolean> {
    const dir = this.dirOf(cg, 'memory');
    const oomControl = await readText(path.join(dir, 'memory.oom_control'));
    if (oomControl === null) return false;
    const num = async (file: string): Promise<number> => Number((await readText(path.join(dir, file)))?.trim() ?? 0);
    return v1OomKilled({
      oomControl,
      failcnt: await num('memory.failcnt'),
      maxUsageBytes: await num('memory.max_usage_in_bytes'),
      limitBytes: await num('memory.limit_in_bytes'),
    });
  }
}

/** cgroup v2: one unified hierarchy at `base` (the root, or `<root>/unified` on hybrid machines). */
export class CgroupV2Driver extends BaseDriver {
  readonly version = 'v2' as const;

  constructor(private readonly base: string, private readonly name: string) {
    super();
    assertName('parent', name);
  }

  protected parents(): string[] {
    return [path.join(this.base, this.name)];
  }

  cgroupFor(unit: string): ServerCgroup {
    assertName('server', unit);
    return { version: 'v2', dirs: [path.join(this.base, this.name, unit)] };
  }

  private async enableControllers(dir: string): Promise<void> {
    const current = (await readText(path.join(dir, 'cgroup.subtree_control'))) ?? '';
    const missing = CONTROLLERS.filter((c) => !current.split(/\s+/).includes(c));
    if (missing.length === 0) return;
    await writeControl(dir, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
  }

  async create(cg: ServerCgroup, limits: CgroupLimits): Promise<void> {
    const parent = path.join(this.base, this.name);
    try {
      await this.enableControllers(this.base);
      await mkdir(parent, { recursive: true });
      await this.enableControllers(parent);
    } catch (err) {
      throw new AppError(
        'SANDBOX_UNAVAILABLE',
        `Cannot delegate the memory, cpu and pids controllers to ${parent}: ${(err as Error).message}. ` +
          'On cgroup v2 the parent must not contain processes itself.',
        {},
        { cause: err },
      );
    }
    const dir = cg.dirs[0];
    if (!dir) throw new Error('cgroup has no directory');
    await mkdir(dir);
    for (const write of limitWrites('v2', limits)) {
      if (write.optional && !(await exists(path.join(dir, write.file)))) continue;
      await writeControl(dir, write.file, write.value);
    }
  }

  async oomKilled(cg: ServerCgroup): Promise<boolean> {
    const dir = cg.dirs[0];
    const events = dir ? await readText(path.join(dir, 'memory.events')) : null;
    return events !== null && v2OomKills(events) > 0;
  }

  override async signalAll(cg: ServerCgroup, signal: NodeJS.Signals): Promise<number> {
    const dir = cg.dirs[0];
    // cgroup.kill (Linux ≥ 5.14) kills every process atomically, even ones forking right now.
    if (signal === 'SIGKILL' && dir && (await exists(path.join(dir, 'cgroup.kill')))) {
      const n = (await this.pids(cg)).length;
      await writeFile(path.join(dir, 'cgroup.kill'), '1').catch(() => undefined);
      return n;
    }
    return super.signalAll(cg, signal);
  }
}

/**
 * Picks the cgroup version this machine can use for memory, cpu and pids limits: v1 if
 * those controllers are mounted as v1 hierarchies under `root`, otherwise v2 at `root`
 * (unified) or `<root>/unified` (hybrid) if it offers all three. Throws
 * `SANDBOX_UNAVAILABLE` saying what was found otherwise.
 */
export async function detectCgroupDriver(root = '/sys/fs/cgroup', name = 'eucp'): Promise<CgroupDriver> {
  const rootIsV2 = await exists(path.join(root, 'cgroup.controllers'));
  if (!rootIsV2) {
    const v1 = await Promise.all(CONTROLLERS.map((c) => exists(path.join(root, c, 'cgroup.procs'))));
    if (v1.every(Boolean) && (await exists(path.join(root, 'memory', 'memory.limit_in_bytes')))) {
      return new CgroupV1Driver(root, name);
    }
  }
  const found: string[] = [];
  for (const base of rootIsV2 ? [root] : [path.join(root, 'unified')]) {
    const controllers = await readText(path.join(base, 'cgroup.controllers'));
    if (controllers === null) continue;
    const have = controllers.trim().split(/\s+/);
    found.push(`${base} offers [${have.join(' ')}]`);
    if (CONTROLLERS.every((c) => have.includes(c))) return new CgroupV2Driver(base, name);
  }
  throw new AppError(
    'SANDBOX_UNAVAILABLE',
    `No usable cgroups under ${root}: need the memory, cpu and pids controllers either as cgroup v1 ` +
      `hierarchies (${root}/memory, …) or on cgroup v2. ${found.join('; ') || 'Nothing is mounted there.'}`,
  );
}

/**
 * The driver that owns a server cgroup recorded in state (no detection: the version and
 * directories are known), or `null` if `cg` does not lie inside `<root>…/<name>` — state
 * from the database is never trusted to point elsewhere.
 */
export function driverForCgroup(cg: ServerCgroup, root: string, name: string): CgroupDriver | null {
  const candidates: CgroupDriver[] =
    cg.version === 'v1'
      ? [new CgroupV1Driver(root, name)]
      : [new CgroupV2Driver(root, name), new CgroupV2Driver(path.join(root, 'unified'), name)];
  return candidates.find((d) => d.owns(cg)) ?? null;
}
