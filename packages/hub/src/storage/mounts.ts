import { execFile } from 'node:child_process';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  /** Path inside the filesystem that forms the root of this mount (btrfs: the mounted subvolume, e.g. `/` or `/@data`). */
  root: string;
  mountPoint: string;
  fsType: string;
  /** The mounted device or file, e.g. `/dev/loop3`. */
  source: string;
  /** A shared mount (optional field `shared:N`): mounts below it propagate to its peers and slaves. */
  shared: boolean;
}

/** Decodes the octal escapes (`\040` = space) of mountinfo fields. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses /proc/self/mountinfo text (proc(5)). */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0) continue;
    out.push({
      root: unescape(f[3]!), mountPoint: unescape(f[4]!), fsType: f[sep + 1] ?? '', source: unescape(f[sep + 2] ?? ''),
      shared: f.slice(6, sep).some((o) => o.startsWith('shared:')),
    });
  }
  return out;
}

/** The mounts of this process's mount namespace. */
export async function readMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The mount whose mount point is exactly `dir` (the last one if stacked), or null. */
export async function mountAt(dir: string): Promise<MountEntry | null> {
  const all = (await readMounts()).filter((m) => m.mountPoint === dir);
  return all[all.length - 1] ?? null;
}

/** The mount holding `path`: the one with the longest mount point that is a prefix of it. */
export async function mountHolding(path: string): Promise<MountEntry | null> {
  let best: MountEntry | null = null;
  for (const m of await readMounts()) {
    const inside = path === m.mountPoint || path.startsWith(m.mountPoint.endsWith('/') ? m.mountPoint : `${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** Runs a system command (argv); rejects with its standard error in the message. */
export async function runTool(file: string, args: readonly string[], timeoutMs = 300_000): Promise<string> {
  try {
    return (await execFileAsync(file, [...args], { timeout: timeoutMs })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/**
 * Creates a sparse btrfs image of `sizeBytes` at `image` unless it exists. Written to a
 * temporary name and renamed when formatted, so an interrupted creation never leaves an
 * unformatted image behind. Returns true if it created one.
 */
export async function ensureBtrfsImage(image: string, sizeBytes: number): Promise<boolean> {
  if (await stat(image).then(() => true, () => false)) return false;
  const tmp = `${image}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.truncate(sizeBytes);
    } finally {
      await fh.close();
    }
    await runTool('/usr/sbin/mkfs.btrfs', ['-q', '-L', 'eucp-storage', tmp]);
    await rename(tmp, image);
    return true;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Mounts a btrfs image through a loop device (`mount -o loop`; the loop device is released on unmount). */
export async function mountLoopImage(image: string, mountPoint: string): Promise<void> {
  await runTool('/usr/bin/mount', ['-t', 'btrfs', '-o', 'loop,noatime', image, mountPoint]);
}

/** Unmounts `mountPoint` (the loop device of a `mount -o loop` goes with it). */
export async function unmount(mountPoint: string): Promise<void> {
  await runTool('/usr/bin/umount', [mountPoint]);
}
