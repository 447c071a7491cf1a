/**
 * BtrfsStoragePool on a real loop-mounted btrfs image (root needed; fails, never skips,
 * without it): areas as subvolumes, the user's two areas under one limit, EDQUOT at the
 * limit with deletes still working, usage from the kernel's counters, and a pool that
 * survives a hub restart and a reboot (the image mounted again, files intact).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createTestBtrfsPool, type TestBtrfsPool } from '@eucp/testing/btrfs-pool';
import { BtrfsStoragePool } from './btrfs-pool.js';
import { readMounts, unmount } from './mounts.js';

const MiB = 1024 ** 2;
/** Linux errno of "Disk quota exceeded". */
const EDQUOT = 122;

/** Writes `bytes` in 1 MiB chunks until done or the filesystem refuses; resolves what was written and the error code. */
async function fill(file: string, bytes: number): Promise<{ written: number; code: string | null }> {
  const fh = await open(file, 'a');
  let written = 0;
  try {
    const chunk = randomBytes(MiB);
    while (written < bytes) {
      await fh.write(chunk);
      written += chunk.length;
    }
    await fh.sync();
    return { written, code: null };
  } catch (err) {
    // libuv has no name for EDQUOT (122): Node reports "Unknown system error -122".
    const e = err as NodeJS.ErrnoException;
    return { written, code: e.errno === -EDQUOT ? 'EDQUOT' : e.code ?? 'unknown' };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

const sha = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');
const mountsAt = async (dir: string): Promise<number> => (await readMounts()).filter((m) => m.mountPoint === dir).length;

describe('BtrfsStoragePool on a loop-mounted image', { concurrency: false, timeout: 300_000 }, () => {
  let t: TestBtrfsPool;
  before(async () => { t = await createTestBtrfsPool({ sizeBytes: 2 * 1024 ** 3 }); });
  after(async () => { await t?.cleanup(); });

  it('creates a sparse image, mounts it with quotas on, and makes home/, derived/ and groups/', async () => {
    const st = await stat(t.image);
    assert.equal(st.size, 2 * 1024 ** 3);
    assert.ok(st.blocks * 512 < 64 * MiB, `sparse: ${st.blocks * 512} bytes allocated`);
    assert.equal(await mountsAt(t.root), 1);
    for (const d of ['home', 'derived', 'groups']) assert.ok((await stat(path.join(t.root, d))).isDirectory());
  });

  it('a user\'s home and derived area share one hard limit: writing past it fails with EDQUOT, deleting works', async () => {
    const { home, derived } = await t.pool.ensureUser('alice');
    assert.equal(home, path.join(t.root, 'home', 'alice'));
    await t.pool.setUserLimit('alice', 32 * MiB);
    await writeFile(path.join(home, 'notes.txt'), 'keep me\n');
    const before = await sha(path.join(home, 'notes.txt'));
    const first = await fill(path.join(derived, 'big.bin'), 20 * MiB);
    assert.equal(first.code, null, '20 MiB fit under 32 MiB');
    const second = await fill(path.join(home, 'more.bin'), 40 * MiB);
    assert.equal(second.code, 'EDQUOT', 'home + derived together hit the limit');
    assert.ok(second.written < 13 * MiB, `${second.written} bytes written past the limit`);
    assert.equal(await sha(path.join(home, 'notes.txt')), before, 'what was stored is intact');
    const usage = (await t.pool.usage()).users.get('alice')!;
    assert.equal(usage.limitBytes, 32 * MiB);
    assert.ok(usage.usedBytes <= 32 * MiB && usage.usedBytes > 28 * MiB, `used ${usage.usedBytes}`);
    assert.ok(usage.derivedBytes >= 20 * MiB && usage.homeBytes > 0, JSON.stringify(usage));
    await rm(path.join(derived, 'big.bin'));
    const again = await fill(path.join(home, 'after-delete.bin'), 8 * MiB);
    assert.equal(again.code, null, 'space freed by rm is usable at once');
  });

  it('is idempotent: ensuring again and a second pool on the same mount change nothing', async () => {
    await t.pool.ensureUser('alice');
    const second = new BtrfsStoragePool({ backend: 'btrfs-loop', root: t.root, image: t.image, logger: pino({ level: 'silent' }) });
    await second.open();
    await second.ensureUser('alice');
    assert.equal(await mountsAt(t.root), 1, 'not mounted twice');
    assert.equal((await second.usage()).users.get('alice')!.limitBytes, 32 * MiB, 'the limit is kept');
  });

  it('a group workspace has its own limit', async () => {
    const dir = await t.pool.ensureGroup('climate');
    await t.pool.setGroupLimit('climate', 16 * MiB);
    const r = await fill(path.join(dir, 'shared.bin'), 32 * MiB);
    assert.equal(r.code, 'EDQUOT');
    const g = (await t.pool.usage()).groups.get('climate')!;
    assert.equal(g.limitBytes, 16 * MiB);
    assert.ok(g.usedBytes > 12 * MiB && g.usedBytes <= 16 * MiB, String(g.usedBytes));
  });

  it('after a reboot (the image no longer mounted) opening mounts the same image again, files intact', async () => {
    const file = path.join(t.root, 'home', 'alice', 'notes.txt');
    const sum = await sha(file);
    await unmount(t.root);
    assert.equal(await mountsAt(t.root), 0);
    const reopened = new BtrfsStoragePool({ backend: 'btrfs-loop', root: t.root, image: t.image, logger: pino({ level: 'silent' }) });
    await reopened.open();
    assert.equal(await mountsAt(t.root), 1);
    assert.equal(await sha(file), sum);
    assert.equal((await reopened.usage()).users.get('alice')!.limitBytes, 32 * MiB, 'limits live in the filesystem');
  });
});
