import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { BtrfsStoragePool } from '@eucp/hub/storage/btrfs-pool';
import { mountAt } from '@eucp/hub/storage/mounts';

const run = promisify(execFile);

/**
 * A throw-away btrfs storage pool: a sparse image loop-mounted in a temp directory, with
 * quotas on. For tests that need limits the kernel enforces. `cleanup` unmounts it (the
 * loop device goes with it; any left attached is detached) and removes the directory.
 */
export interface TestBtrfsPool {
  /** The directory holding `storage.img` and the mount point `storage/` (a hub state dir, if given). */
  dir: string;
  image: string;
  root: string;
  pool: BtrfsStoragePool;
  cleanup(): Promise<void>;
}

/**
 * Creates and opens a {@link TestBtrfsPool} (1 GiB sparse unless `sizeBytes`), in `dir`
 * (e.g. a test hub's state directory, for the `btrfs-loop` layout) or a new temp dir.
 */
export async function createTestBtrfsPool(opts: { dir?: string; sizeBytes?: number } = {}): Promise<TestBtrfsPool> {
  const dir = opts.dir ?? (await mkdtemp('/tmp/eucp-btrfs-test-'));
  const image = path.join(dir, 'storage.img');
  const root = path.join(dir, 'storage');
  const pool = new BtrfsStoragePool({
    backend: 'btrfs-loop', root, image, imageSizeBytes: opts.sizeBytes ?? 1024 ** 3,
    logger: pino({ level: process.env.EUCP_TEST_LOG_LEVEL ?? 'silent' }),
  });
  try {
    await pool.open();
  } catch (err) {
    await unmountTestStorage(dir);
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir, image, root, pool,
    async cleanup() {
      await unmountTestStorage(dir);
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Unmounts `<dir>/storage` if a filesystem is mounted there, detaches any loop device
 * still attached to `<dir>/storage.img` and deletes the image. Safe to call when nothing
 * is mounted. Processes using the pool must have ended.
 */
export async function unmountTestStorage(dir: string): Promise<void> {
  const root = await realpath(path.join(dir, 'storage')).catch(() => path.join(dir, 'storage'));
  const image = path.join(dir, 'storage.img');
  while (await mountAt(root)) await run('/usr/bin/umount', [root]);
  const { stdout } = await run('/usr/sbin/losetup', ['-j', image]).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const dev = /^(\/dev\/loop\d+):/.exec(line)?.[1];
    if (dev) await run('/usr/sbin/losetup', ['-d', dev]).catch(() => undefined);
  }
  await rm(image, { force: true });
}

/** Deletes the workspace groups (`<prefix>ws.…`) of a test's random account prefix. */
export async function removeWorkspaceGroups(prefix: string): Promise<void> {
  if (!/^et[0-9a-f]{6}-$/.test(prefix)) return; // never touch real groups
  const names = readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':')[0]!).filter((n) => n.startsWith(`${prefix}ws.`));
  for (const name of names) await run('/usr/sbin/groupdel', [name]).catch(() => undefined);
}
