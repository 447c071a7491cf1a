import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Path of the btrfs-progs command (Debian: /usr/bin/btrfs; `btrfs` on PATH otherwise). */
export const BTRFS = '/usr/bin/btrfs';

/** A failed btrfs-progs command: the argv and what it printed on standard error. */
export class BtrfsCommandError extends Error {
  constructor(readonly argv: readonly string[], readonly stderr: string, readonly exitCode: number | null) {
    super(`btrfs ${argv.join(' ')} failed${exitCode !== null ? ` (exit ${exitCode})` : ''}: ${stderr.trim() || 'no message'}`);
  }
}

/** One quota group as `btrfs qgroup show --raw -rep` reports it. */
export interface QgroupInfo {
  /** `<level>/<id>`, e.g. `0/257` (a subvolume) or `1/257` (a user's group of subvolumes). */
  id: string;
  referencedBytes: number;
  exclusiveBytes: number;
  /** Limit of referenced bytes; null = none. */
  maxReferencedBytes: number | null;
  /** Parent qgroups (`1/257`…). */
  parents: string[];
  /** Path of the subvolume relative to the filesystem's top level (level-0 qgroups only), else ''. */
  path: string;
}

/**
 * Runs one btrfs-progs command (argv, never a shell) and resolves its standard output.
 * Throws {@link BtrfsCommandError} with the command's standard error.
 */
export async function btrfs(args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(BTRFS, [...args], { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; code?: unknown; message: string };
    throw new BtrfsCommandError(args, e.stderr || e.message, typeof e.code === 'number' ? e.code : null);
  }
}

/** True if a btrfs command failed because the object already exists (`File exists`). */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof BtrfsCommandError && /File exists/i.test(err.stderr);
}

const ROW = /^(\d+\/\d+)\s+(\d+)\s+(\d+)\s+(\d+|none)\s+(\d+|none)\s+(\S+)\s*(.*)$/;

/**
 * Parses the text of `btrfs qgroup show --raw -r -e -p` (btrfs-progs 5.x/6.x: columns
 * qgroupid, referenced, exclusive, max referenced, max exclusive, parent, and from 6.x
 * path). Header and separator lines are skipped. (`--format json` crashes in 6.2.)
 */
export function parseQgroupShow(text: string): Map<string, QgroupInfo> {
  const out = new Map<string, QgroupInfo>();
  for (const line of text.split('\n')) {
    const m = ROW.exec(line.trim());
    if (!m) continue;
    const [, id, rfer, excl, maxRfer, , parent, rest] = m;
    const level0 = id!.startsWith('0/');
    const path = level0 && rest && !rest.startsWith('<') ? rest.trim() : '';
    out.set(id!, {
      id: id!,
      referencedBytes: Number(rfer),
      exclusiveBytes: Number(excl),
      maxReferencedBytes: maxRfer === 'none' ? null : Number(maxRfer),
      parents: parent === '-' ? [] : parent!.split(',').filter(Boolean),
      path,
    });
  }
  return out;
}

/** The quota groups of the filesystem holding `mountPath`, after syncing it (counters then include all written data). */
export async function qgroupShow(mountPath: string): Promise<Map<string, QgroupInfo>> {
  await btrfs(['filesystem', 'sync', mountPath]);
  return parseQgroupShow(await btrfs(['qgroup', 'show', '--raw', '-r', '-e', '-p', mountPath]));
}

/** The subvolume id of the subvolume holding `path` (`btrfs inspect-internal rootid`). */
export async function subvolumeId(path: string): Promise<number> {
  const id = Number((await btrfs(['inspect-internal', 'rootid', path])).trim());
  if (!Number.isInteger(id) || id <= 0) throw new BtrfsCommandError(['inspect-internal', 'rootid', path], 'unexpected output', null);
  return id;
}

/** Sets (bytes) or removes (null) the referenced-bytes limit of `qgroup` (`0/N`, `1/N`). */
export async function qgroupLimit(mountPath: string, qgroup: string, bytes: number | null): Promise<void> {
  await btrfs(['qgroup', 'limit', bytes === null ? 'none' : String(bytes), qgroup, mountPath]);
}
