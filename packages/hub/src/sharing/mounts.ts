/**
 * The filesystem side of sharing: per-recipient view directories (shared mount points that
 * running sandboxes see at `/shared`), one read-only bindfs per share, and read-only kernel
 * bind mounts of a share into each recipient's view. Every program runs from an argv
 * array, never a shell.
 */
import { execFile, spawn } from 'node:child_process';
import { access, chmod, lstat, mkdir, readdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '@eucp/core';
import type { Logger } from '../log/index.js';
import { readMounts, type MountEntry } from '../storage/mounts.js';

const execFileAsync = promisify(execFile);

/** Programs used (absolute paths). */
export interface MountTools { mount: string; umount: string; bindfs: string; fusermount: string }

export const DEFAULT_MOUNT_TOOLS: MountTools = {
  mount: '/usr/bin/mount', umount: '/usr/bin/umount', bindfs: '/usr/bin/bindfs', fusermount: '/usr/bin/fusermount3',
};

/** The identity of a file or directory (device and inode), as validated before mounting. */
export interface FileIdentity { dev: number; ino: number }

/** What to mount for one share: the owner's directory (the folder, or a file's parent) and, for a file, its name. */
export interface ShareSource { dir: string; dirId: FileIdentity; file?: { name: string; id: FileIdentity } }

/**
 * Mount operations of the sharing service. Contract: every method is idempotent and
 * callers serialise them (one at a time); paths come from the hub (ids, validated user and
 * share names), never straight from a request.
 */
export class ShareMounts {
  readonly viewsDir: string;
  readonly mountsDir: string;
  private readonly tools: MountTools;
  /** bindfs processes started by this hub (share id → pid), for tests and diagnostics. */
  readonly bindfsPids = new Map<number, number>();

  constructor(private readonly opts: { stateDir: string; log: Logger; tools?: Partial<MountTools> }) {
    this.viewsDir = path.join(opts.stateDir, 'shared-views');
    this.mountsDir = path.join(opts.stateDir, 'share-mounts');
    this.tools = { ...DEFAULT_MOUNT_TOOLS, ...opts.tools };
  }

  /** Null if this machine can mount shares, else why not (for `SHARING_UNAVAILABLE`). */
  async unavailable(): Promise<string | null> {
    if (process.getuid?.() !== 0) return 'the hub does not run as root';
    for (const p of [this.tools.bindfs, this.tools.mount, this.tools.umount, '/dev/fuse']) {
      if (!(await access(p).then(() => true, () => false))) return `${p} is missing`;
    }
    return null;
  }

  async mounts(): Promise<MountEntry[]> {
    return readMounts();
  }

  viewOf(recipient: string): string {
    return path.join(this.viewsDir, recipient);
  }

  /** Host path where share `id` is served read-only (the bindfs root, or the bound file). */
  rootOf(id: number, kind: 'file' | 'folder'): string {
    return path.join(this.mountsDir, String(id), kind === 'file' ? 'file' : 'fs');
  }

  /** Makes `<viewsDir>/<recipient>` (root-owned 0755) a shared mount point; returns it. */
  async ensureView(recipient: string): Promise<string> {
    const view = this.viewOf(recipient);
    await mkdir(view, { recursive: true, mode: 0o755 });
    await chmod(view, 0o755);
    const line = (await this.mounts()).filter((m) => m.mountPoint === view).at(-1);
    if (!line) await this.run(this.tools.mount, ['--bind', view, view]);
    if (!line?.shared) await this.run(this.tools.mount, ['--make-shared', view]);
    return view;
  }

  /**
   * Serves `src` read-only (everyone may read, nobody write) at {@link rootOf}, after
   * checking that bindfs serves exactly the validated directory (and, for a file, that the
   * bind holds exactly the validated file): an owner swapping a path for a symbolic link
   * between validation and mount gets `SHARE_PATH_INVALID` and nothing is mounted.
   */
  async mountShare(id: number, kind: 'file' | 'folder', src: ShareSource): Promise<string> {
    const base = path.join(this.mountsDir, String(id));
    const fsDir = path.join(base, 'fs');
    await mkdir(this.mountsDir, { recursive: true, mode: 0o700 });
    await chmod(this.mountsDir, 0o700);
    await mkdir(fsDir, { recursive: true, mode: 0o755 });
    const mounted = new Set((await this.mounts()).map((m) => m.mountPoint));
    if (!mounted.has(fsDir)) {
      const child = spawn(this.tools.bindfs, ['-f', '-r', '--perms=a+rX,a-w', '-o', 'allow_other', src.dir, fsDir], {
        detached: true, stdio: 'ignore', cwd: '/', env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
      });
      let exited = false;
      child.once('exit', () => { exited = true; });
      child.once('error', () => { exited = true; });
      child.unref();
      const deadline = Date.now() + 10_000;
      while (!(await this.mounts()).some((m) => m.mountPoint === fsDir)) {
        if (exited || Date.now() > deadline) {
          if (!exited && child.pid) process.kill(child.pid, 'SIGKILL');
          throw new AppError('SHARING_UNAVAILABLE', `bindfs could not serve share ${id}.`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      if (child.pid) this.bindfsPids.set(id, child.pid);
      const served = child.pid ? await stat(`/proc/${child.pid}/cwd`).catch(() => null) : null;
      if (!served || served.dev !== src.dirId.dev || served.ino !== src.dirId.ino) {
        await this.unmountShare(id, kind);
        throw new AppError('SHARE_PATH_INVALID', 'The shared path changed while it was being mounted (it is, or passes through, a symbolic link).');
      }
    }
    if (kind === 'folder') return fsDir;
    const fileMp = path.join(base, 'file');
    if (!mounted.has(fileMp)) {
      await writeFile(fileMp, '', { flag: 'a', mode: 0o444 });
      await this.run(this.tools.mount, ['--bind', '-o', 'ro', path.join(fsDir, src.file!.name), fileMp]);
      const [fsStat, fileStat] = await Promise.all([stat(fsDir), stat(fileMp)]);
      if (fileStat.dev !== fsStat.dev || fileStat.ino !== src.file!.id.ino || !fileStat.isFile()) {
        await this.unmountShare(id, kind);
        throw new AppError('SHARE_PATH_INVALID', 'The shared file changed while it was being mounted (it is a symbolic link or not a regular file).');
      }
    }
    return fileMp;
  }

  /** Unmounts a share's bind (file) and bindfs, and removes their mount points. */
  async unmountShare(id: number, kind: 'file' | 'folder'): Promise<void> {
    const base = path.join(this.mountsDir, String(id));
    const lines = await this.mounts();
    for (const mp of [path.join(base, 'file'), path.join(base, 'fs')]) {
      if (lines.some((m) => m.mountPoint === mp)) await this.run(this.tools.umount, ['-l', mp]);
    }
    this.bindfsPids.delete(id);
    await unlink(path.join(base, 'file')).catch(() => undefined);
    await rmdir(path.join(base, 'fs')).catch(() => undefined);
    await rmdir(base).catch(() => undefined);
    void kind;
  }

  /** Binds `root` read-only at `<view of recipient>/<owner>/<name>` (the view must exist). */
  async bind(root: string, kind: 'file' | 'folder', recipient: string, owner: string, name: string): Promise<string> {
    const ownerDir = path.join(this.viewOf(recipient), owner);
    await mkdir(ownerDir, { recursive: true, mode: 0o755 });
    const target = path.join(ownerDir, name);
    const st = await lstat(target).catch(() => null);
    if (st && (st.isDirectory() !== (kind === 'folder') || st.isSymbolicLink())) await this.removeMountPoint(target);
    if (kind === 'folder') await mkdir(target, { recursive: true, mode: 0o755 });
    else await writeFile(target, '', { flag: 'a', mode: 0o444 });
    await this.run(this.tools.mount, ['--bind', '-o', 'ro', root, target]);
    return target;
  }

  /** Detaches a recipient's bind (lazily: open files stay readable, new opens fail) and removes its mount point. */
  async unbind(target: string): Promise<void> {
    if ((await this.mounts()).some((m) => m.mountPoint === target)) await this.run(this.tools.umount, ['-l', target]);
    await this.removeMountPoint(target);
    await rmdir(path.dirname(target)).catch(() => undefined); // the owner's directory, once empty
  }

  private async removeMountPoint(p: string): Promise<void> {
    const st = await lstat(p).catch(() => null);
    if (!st) return;
    if (st.isDirectory()) await rmdir(p).catch(() => undefined);
    else await unlink(p).catch(() => undefined);
  }

  /** Mount points below the views directory and the share mounts directory. */
  async current(): Promise<{ binds: string[]; shares: Set<number> }> {
    const lines = await this.mounts();
    const binds: string[] = [];
    const shares = new Set<number>();
    for (const m of lines) {
      const rel = path.relative(this.viewsDir, m.mountPoint).split(path.sep);
      if (rel.length === 3 && !rel[0]!.startsWith('..')) binds.push(m.mountPoint);
      const mrel = path.relative(this.mountsDir, m.mountPoint).split(path.sep);
      if (mrel.length === 2 && /^\d+$/.test(mrel[0]!)) shares.add(Number(mrel[0]));
    }
    return { binds: [...new Set(binds)], shares };
  }

  /** Owner directories left empty in views (after binds went away while the hub was down). */
  async tidyViews(): Promise<void> {
    for (const r of await readdir(this.viewsDir).catch(() => [] as string[])) {
      for (const o of await readdir(this.viewOf(r)).catch(() => [] as string[])) await rmdir(path.join(this.viewOf(r), o)).catch(() => undefined);
    }
  }

  private async run(file: string, args: string[]): Promise<void> {
    try {
      await execFileAsync(file, args, { timeout: 30_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      this.opts.log.warn({ file, args, err: (e.stderr || e.message).trim() }, 'mount command failed');
      throw new AppError('SHARING_UNAVAILABLE', `${path.basename(file)} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
    }
  }
}
