import { chmod, mkdir, realpath, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { AppError } from '@eucp/core';
import { KeyedMutex } from '../spawners/local-sandbox/unix-accounts.js';
import { BtrfsCommandError, btrfs, isAlreadyExists, qgroupLimit, qgroupShow, subvolumeId } from './btrfs.js';
import { ensureBtrfsImage, mountAt, mountHolding, mountLoopImage } from './mounts.js';
import type { PoolUsage, StorageBackend, StoragePool, UsageFigure, UserAreaPaths } from './pool.js';

/** statfs(2) magic number of btrfs. */
const BTRFS_SUPER_MAGIC = 0x9123683e;
/** Inode number of the root directory of every btrfs subvolume. */
const SUBVOLUME_ROOT_INODE = 256;

/** Options of {@link BtrfsStoragePool}. */
export interface BtrfsStoragePoolOptions {
  /** `btrfs-loop`: mount `image` at `root` (creating the image if missing); `btrfs`: `root` is a directory on an existing btrfs. */
  backend: Extract<StorageBackend, 'btrfs-loop' | 'btrfs'>;
  root: string;
  /** The image file (btrfs-loop only). */
  image?: string;
  /** Size of a new image (btrfs-loop only). */
  imageSizeBytes?: number;
  logger: Logger;
}

const unavailable = (what: string, err?: unknown): AppError =>
  new AppError('STORAGE_UNAVAILABLE', `${what}${err ? `: ${(err as Error).message}` : ''}`, {}, { cause: err });

/**
 * Storage areas as btrfs subvolumes with quota groups (`btrfs quota`): `home/<user>`,
 * `derived/<user>` and `groups/<group>` are subvolumes; a user's two subvolumes belong to
 * the level-1 quota group `1/<id of the home subvolume>`, which carries the user's hard
 * limit; a group workspace's limit is on its own subvolume's quota group. The kernel
 * counts referenced bytes per quota group as data is written, so usage costs one
 * `btrfs qgroup show` whatever the number of files, and a write beyond a limit fails
 * with EDQUOT ("Disk quota exceeded") for every process — deleting still works.
 *
 * With `btrfs-loop`, `open` creates a sparse image (once) and loop-mounts it at `root`
 * unless something is mounted there already (a restarted hub finds its mount in
 * /proc/self/mountinfo; after a reboot it mounts the image again).
 */
export class BtrfsStoragePool implements StoragePool {
  readonly enforced = true;
  readonly backend: BtrfsStoragePoolOptions['backend'];
  readonly root: string;
  readonly homeRoot: string;
  private readonly log: Logger;
  private readonly locks = new KeyedMutex();
  /** Subvolume path prefix of `root` inside its filesystem (`''` when root is the top level). */
  private prefix = '';
  /** Areas known to exist with their quota groups set up, by `kind/name`. */
  private readonly ready = new Map<string, number>();

  constructor(private readonly opts: BtrfsStoragePoolOptions) {
    this.backend = opts.backend;
    this.root = path.resolve(opts.root);
    this.homeRoot = path.join(this.root, 'home');
    this.log = opts.logger.child({ component: 'storage-pool', backend: opts.backend });
  }

  async open(): Promise<void> {
    if (process.getuid?.() !== 0) throw unavailable(`Storage backend ${this.backend} needs the hub to run as root (it creates btrfs subvolumes and quota groups)`);
    if (this.backend === 'btrfs-loop') await this.mountImage();
    const fs = await statfs(this.root).catch((err: unknown) => { throw unavailable(`Cannot read ${this.root}`, err); });
    if (fs.type !== BTRFS_SUPER_MAGIC) throw unavailable(`${this.root} is not on a btrfs filesystem (storage.path must be a directory on btrfs)`);
    const real = await realpath(this.root);
    const mount = await mountHolding(real);
    if (!mount) throw unavailable(`Cannot find the mount holding ${real} in /proc/self/mountinfo`);
    this.prefix = path.posix.join(mount.root, path.relative(mount.mountPoint, real)).replace(/^\/+/, '').replace(/\/+$/, '');
    try {
      // Idempotent: enabling quotas that are enabled does nothing.
      await btrfs(['quota', 'enable', this.root]);
    } catch (err) {
      throw unavailable(`Cannot enable btrfs quotas on ${this.root}`, err);
    }
    for (const dir of ['home', 'derived', 'groups']) await mkdir(path.join(this.root, dir), { recursive: true, mode: 0o711 });
    await chmod(this.root, 0o711);
    this.log.info({ root: this.root, prefix: this.prefix }, 'storage pool ready (btrfs quotas)');
  }

  private async mountImage(): Promise<void> {
    const image = this.opts.image;
    if (!image) throw unavailable('storage backend btrfs-loop needs an image path');
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const existing = await mountAt(await realpath(this.root));
    if (existing) {
      if (existing.fsType !== 'btrfs') throw unavailable(`${this.root} has a ${existing.fsType} filesystem mounted, not the btrfs image ${image}`);
      this.log.info({ root: this.root, source: existing.source }, 'storage image already mounted');
      return;
    }
    try {
      if (await ensureBtrfsImage(image, this.opts.imageSizeBytes ?? 64 * 1024 ** 3)) this.log.info({ image }, 'created the storage image (sparse)');
    } catch (err) {
      throw unavailable(`Cannot create the storage image ${image} (mkfs.btrfs from btrfs-progs)`, err);
    }
    try {
      await mountLoopImage(image, this.root);
    } catch (err) {
      throw unavailable(`Cannot loop-mount ${image} at ${this.root} (a free loop device, /dev/loop-control and root are needed)`, err);
    }
    this.log.info({ image, root: this.root }, 'mounted the storage image');
  }

  userPaths(user: string): UserAreaPaths {
    return { home: path.join(this.homeRoot, user), derived: path.join(this.root, 'derived', user) };
  }

  groupPath(group: string): string {
    return path.join(this.root, 'groups', group);
  }

  /** Creates the subvolume at `dir` unless it is one already; resolves its id. */
  private async subvolume(dir: string, mode: number): Promise<number> {
    const st = await stat(dir).catch(() => null);
    if (st && (!st.isDirectory() || st.ino !== SUBVOLUME_ROOT_INODE)) {
      throw unavailable(`${dir} exists but is not a btrfs subvolume (move it away; the hub creates the subvolume)`);
    }
    if (!st) {
      try {
        await btrfs(['subvolume', 'create', dir]);
        await chmod(dir, mode);
      } catch (err) {
        if (!isAlreadyExists(err)) throw unavailable(`Cannot create the subvolume ${dir}`, err);
      }
    }
    return subvolumeId(dir);
  }

  async ensureUser(user: string): Promise<UserAreaPaths> {
    const paths = this.userPaths(user);
    if (this.ready.has(`user/${user}`)) return paths;
    return this.locks.run(`user/${user}`, async () => {
      if (this.ready.has(`user/${user}`)) return paths;
      const homeId = await this.subvolume(paths.home, 0o700);
      const derivedId = await this.subvolume(paths.derived, 0o700);
      const unit = `1/${homeId}`;
      await btrfs(['qgroup', 'create', unit, this.root]).catch((err: unknown) => { if (!isAlreadyExists(err)) throw err; });
      for (const id of [homeId, derivedId]) {
        // New subvolumes are empty: the kernel then adds their counters without a rescan.
        await btrfs(['qgroup', 'assign', `0/${id}`, unit, this.root]).catch((err: unknown) => { if (!isAlreadyExists(err)) throw err; });
      }
      this.ready.set(`user/${user}`, homeId);
      return paths;
    });
  }

  async ensureGroup(group: string): Promise<string> {
    const dir = this.groupPath(group);
    if (this.ready.has(`group/${group}`)) return dir;
    return this.locks.run(`group/${group}`, async () => {
      if (!this.ready.has(`group/${group}`)) this.ready.set(`group/${group}`, await this.subvolume(dir, 0o700));
      return dir;
    });
  }

  async setUserLimit(user: string, hardBytes: number | null): Promise<void> {
    await this.ensureUser(user);
    await qgroupLimit(this.root, `1/${this.ready.get(`user/${user}`)!}`, hardBytes);
  }

  async setGroupLimit(group: string, hardBytes: number | null): Promise<void> {
    await this.ensureGroup(group);
    await qgroupLimit(this.root, `0/${this.ready.get(`group/${group}`)!}`, hardBytes);
  }

  async usage(): Promise<PoolUsage> {
    const at = Date.now();
    let qgroups;
    try {
      qgroups = await qgroupShow(this.root);
    } catch (err) {
      throw err instanceof BtrfsCommandError ? unavailable('Cannot read the quota counters', err) : err;
    }
    const byPath = new Map<string, { id: string; bytes: number; limit: number | null; parents: string[] }>();
    for (const q of qgroups.values()) if (q.path) byPath.set(q.path, { id: q.id, bytes: q.referencedBytes, limit: q.maxReferencedBytes, parents: q.parents });
    const rel = (...parts: string[]): string => path.posix.join(this.prefix, ...parts);
    const users: PoolUsage['users'] = new Map();
    const groups = new Map<string, UsageFigure>();
    for (const [p, q] of byPath) {
      const m = /^(home|derived|groups)\/([a-z][a-z0-9_-]*)$/.exec(this.prefix ? (p.startsWith(`${this.prefix}/`) ? p.slice(this.prefix.length + 1) : '') : p);
      if (!m) continue;
      const [, kind, name] = m as unknown as [string, string, string];
      if (kind === 'groups') {
        groups.set(name, { usedBytes: q.bytes, limitBytes: q.limit });
        continue;
      }
      if (kind !== 'home') continue;
      const unit = qgroups.get(`1/${q.id.slice(2)}`);
      const derived = byPath.get(rel('derived', name));
      users.set(name, {
        homeBytes: q.bytes,
        derivedBytes: derived?.bytes ?? 0,
        // The level-1 group counts extents shared by home and derived (reflinks) once.
        usedBytes: unit?.referencedBytes ?? q.bytes + (derived?.bytes ?? 0),
        limitBytes: unit?.maxReferencedBytes ?? null,
      });
    }
    return { at, users, groups };
  }

  async close(): Promise<void> {
    // The filesystem stays mounted: running servers use it, and the next hub reuses it.
  }
}
