/**
 * The storage API in process, over real SQLite and a real btrfs pool (a loop-mounted
 * image): who may see and change quotas, what is refused (and that nothing changes
 * then), soft-limit warnings and notifications, and what a hub on plain storage says.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { installHttpBasics } from '../http/basics.js';
import { registerIdentityRoutes } from '../http/identity-routes.js';
import { createTestContext, userWithToken, type TestContext } from '@eucp/testing/hub-factory';
import { createTestBtrfsPool, type TestBtrfsPool } from '@eucp/testing/btrfs-pool';
import { PlainStoragePool } from './plain-pool.js';
import { registerStorageRoutes } from './routes.js';
import { StorageService } from './service.js';
import type { StoragePool } from './pool.js';

const MiB = 1024 ** 2;
type Headers = { authorization: string };

async function harness(pool: StoragePool, config: Record<string, unknown> = {}): Promise<{ ctx: TestContext; app: FastifyInstance; storage: StorageService }> {
  const ctx = await createTestContext({ config: { storage: { backend: pool.backend, usageMaxAgeMs: 60_000, ...config } } });
  const storage = new StorageService({ pool, db: ctx.db, config: ctx.config, log: ctx.log, now: () => ctx.now() });
  ctx.storage = storage;
  const app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
  await installHttpBasics(app, ctx);
  await registerIdentityRoutes(app, ctx);
  await registerStorageRoutes(app, { ...ctx, storage });
  await app.ready();
  return { ctx, app, storage };
}

describe('storage API on a btrfs pool', { concurrency: false, timeout: 120_000 }, () => {
  let t: TestBtrfsPool;
  let h: Awaited<ReturnType<typeof harness>>;
  let admin: Headers;
  let alice: Headers;
  let bob: Headers;
  const call = (method: 'GET' | 'PUT', url: string, headers: Headers, payload?: unknown) => h.app.inject({ method, url, headers, ...(payload !== undefined && { payload: payload as object }) });

  before(async () => {
    t = await createTestBtrfsPool();
    h = await harness(t.pool, { userQuota: { softBytes: 8 * MiB, hardBytes: 16 * MiB }, groupQuota: { softBytes: 4 * MiB, hardBytes: 32 * MiB } });
    admin = (await userWithToken(h.ctx, 'root', { admin: true })).headers;
    alice = (await userWithToken(h.ctx, 'alice')).headers;
    bob = (await userWithToken(h.ctx, 'bob')).headers;
    await h.ctx.accounts.createGroup('climate', { users: ['alice'] });
    const areas = await h.storage.areasFor('alice', ['climate']);
    await h.storage.started('alice');
    await writeFile(path.join(t.pool.userPaths('alice').home, 'data.bin'), randomBytes(10 * MiB));
    await writeFile(path.join(areas.derived, 'small.bin'), randomBytes(MiB));
    await writeFile(path.join(areas.groups[0]!.hostPath, 'shared.bin'), randomBytes(5 * MiB));
  });
  after(async () => {
    await h?.app.close();
    await h?.ctx.close();
    await t?.cleanup();
  });

  it('shows the caller their areas and group workspaces with usage, limits and warnings', async () => {
    await h.storage.refresh();
    const res = await call('GET', '/hub/api/eucp/storage', alice);
    assert.equal(res.statusCode, 200, res.body);
    const v = res.json();
    assert.equal(v.enforced, true);
    assert.equal(v.note, null);
    assert.equal(v.user.hard_bytes, 16 * MiB);
    assert.ok(v.user.used_bytes >= 11 * MiB && v.user.used_bytes < 12 * MiB, String(v.user.used_bytes));
    assert.match(v.user.warning, /above the soft limit of 8 MiB \(writes fail at 16 MiB\)/);
    assert.deepEqual(v.user.areas.map((a: { name: string; path: string }) => [a.name, a.path]), [['home', `/home/eucp-alice`], ['derived', '/derived']]);
    assert.equal(v.groups.length, 1);
    assert.equal(v.groups[0].path, '/groups/climate');
    assert.match(v.groups[0].warning, /workspace of group climate uses 5/);
  });

  it('notifies a user once when they cross the soft limit, and again after falling below and crossing again', async () => {
    const aliceId = (await h.ctx.accounts.findUser('alice'))!.id;
    const count = async () => (await h.ctx.access.notifications(aliceId)).items.filter((n) => n.kind === 'storage.soft-limit').length;
    const before = await count();
    assert.equal(before, 2, 'her own storage and the climate workspace');
    await h.storage.refresh();
    assert.equal(await count(), before, 'not repeated while still over');
    const file = path.join(t.pool.userPaths('alice').home, 'data.bin');
    await rm(file);
    await h.storage.refresh();
    await writeFile(file, randomBytes(10 * MiB));
    await h.storage.refresh();
    assert.equal(await count(), before + 1, 'a new crossing warns again');
  });

  it('lets an admin raise and lower limits, never a hard limit below usage (400, usage named, nothing changed)', async () => {
    const refused = await call('PUT', '/hub/api/eucp/storage/quotas/users/alice', admin, { hard: '4M' });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().code, 'QUOTA_BELOW_USAGE');
    assert.match(refused.json().message, /User alice uses 11(\.\d)? MiB/);
    assert.equal((await call('GET', '/hub/api/eucp/storage/users/alice', admin)).json().hard_bytes, 16 * MiB);
    assert.equal((await t.pool.usage()).users.get('alice')!.limitBytes, 16 * MiB, 'the filesystem limit is unchanged');

    const raised = await call('PUT', '/hub/api/eucp/storage/quotas/users/alice', admin, { soft: '20M', hard: 64 * MiB });
    assert.equal(raised.statusCode, 200, raised.body);
    assert.deepEqual({ ...(raised.json() as Record<string, unknown>), used_bytes: 0 }, {
      kind: 'user', name: 'alice', used_bytes: 0, soft_bytes: 20 * MiB, hard_bytes: 64 * MiB, soft_source: 'override', hard_source: 'override', warning: null,
    });
    assert.equal((await t.pool.usage()).users.get('alice')!.limitBytes, 64 * MiB, 'applied to the filesystem at once');
    const reset = await call('PUT', '/hub/api/eucp/storage/quotas/users/alice', admin, { soft: 'default', hard: null });
    assert.equal(reset.statusCode, 200, reset.body);
    assert.deepEqual([reset.json().soft_bytes, reset.json().soft_source, reset.json().hard_bytes], [8 * MiB, 'default', null]);
    assert.equal((await t.pool.usage()).users.get('alice')!.limitBytes, null, 'no limit');
  });

  it('refuses bad input and callers without the right, naming the reason', async () => {
    const cases: Array<[Headers, string, unknown, number, RegExp]> = [
      [admin, '/hub/api/eucp/storage/quotas/users/alice', { hard: 'lots' }, 400, /"hard".*not a size/],
      [admin, '/hub/api/eucp/storage/quotas/users/alice', { soft: '2G', hard: '1G' }, 400, /soft limit \(2 GiB\) is above the hard limit \(1 GiB\)/],
      [admin, '/hub/api/eucp/storage/quotas/users/alice', {}, 400, /Give soft and\/or hard/],
      [admin, '/hub/api/eucp/storage/quotas/users/nobody', { hard: '1G' }, 404, /No such user nobody/],
      [admin, '/hub/api/eucp/storage/quotas/groups/nogroup', { hard: '1G' }, 404, /No such group/],
      [bob, '/hub/api/eucp/storage/quotas/users/alice', { hard: '1G' }, 403, /admin:users/],
      [alice, '/hub/api/eucp/storage/quotas/groups/climate', { hard: '1G' }, 403, /admin:groups/],
    ];
    for (const [who, url, body, status, message] of cases) {
      const res = await call('PUT', url, who, body);
      assert.equal(res.statusCode, status, `${url} ${JSON.stringify(body)}: ${res.body}`);
      assert.match(res.json().message, message);
    }
    assert.equal((await call('GET', '/hub/api/eucp/storage/users/alice', bob)).statusCode, 403);
  });

  it('while a server starts, the hard limit carries the start grace; once started it is back', async () => {
    const limit = async () => (await t.pool.usage()).users.get('bob')?.limitBytes;
    await h.storage.areasFor('bob', []);
    await h.storage.areasFor('bob', []);
    assert.equal(await limit(), 16 * MiB + h.ctx.config.storage.startGraceBytes);
    await h.storage.started('bob');
    assert.equal(await limit(), 16 * MiB + h.ctx.config.storage.startGraceBytes, 'a second start of bob is still under way');
    await h.storage.started('bob');
    assert.equal(await limit(), 16 * MiB);
  });

  it('a group quota applies to the workspace\'s subvolume', async () => {
    const res = await call('PUT', '/hub/api/eucp/storage/quotas/groups/climate', admin, { soft: '6M', hard: '8M' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().warning, null, 'below the new soft limit');
    assert.equal((await t.pool.usage()).groups.get('climate')!.limitBytes, 8 * MiB);
  });
});

describe('storage API on plain storage', () => {
  it('says quotas are not enforced and counts nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'eucp-plain-storage-'));
    const pool = new PlainStoragePool(path.join(dir, 'storage'), path.join(dir, 'home'));
    const h = await harness(pool);
    try {
      await pool.open();
      const alice = (await userWithToken(h.ctx, 'alice')).headers;
      const v = (await h.app.inject({ method: 'GET', url: '/hub/api/eucp/storage', headers: alice })).json();
      assert.equal(v.enforced, false);
      assert.match(v.note, /not enforced/);
      assert.equal(v.user.used_bytes, null);
      assert.equal(v.user.warning, null);
    } finally {
      await h.app.close();
      await h.ctx.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
