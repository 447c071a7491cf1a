/**
 * The sharing API over real SQLite and real files: the validation matrix of issue 5 §6,
 * 404 for other people's shares, links that expire, grants to groups (current and future
 * members), revocation, the audit log, and `canRead`. With root, also the filesystem side
 * (real bindfs and bind mounts; the sandboxes are covered by test/integration/sharing.test.ts).
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync, writeFile as writeFileCb } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createTestContext, sessionFor, userWithToken, type TestContext } from '@eucp/testing/hub-factory';
import { installHttpBasics } from '../http/basics.js';
import { registerIdentityRoutes } from '../http/identity-routes.js';
import { ShareMounts } from './mounts.js';
import { SharingService } from './service.js';
import { registerSharingRoutes } from './routes.js';

let ctx: TestContext;
let app: FastifyInstance;
let sharing: SharingService;
let mounts: ShareMounts | null;
const h: Record<string, { authorization: string }> = {};

async function setup(withMounts: boolean): Promise<void> {
  ctx = await createTestContext();
  mounts = withMounts ? new ShareMounts({ stateDir: ctx.stateDir, log: ctx.log }) : null;
  sharing = new SharingService({
    db: ctx.db, log: ctx.log, now: ctx.now, mounts, linkMaxAgeMs: 30 * 86_400_000,
    areaRoot: (user, area) => (area === 'home' ? path.join(ctx.stateDir, 'home', user) : null),
  });
  app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
  await installHttpBasics(app, ctx);
  await registerIdentityRoutes(app, ctx);
  await registerSharingRoutes(app, ctx, sharing);
  await app.ready();
  for (const u of ['alice', 'bob', 'carol', 'dave']) h[u] = (await userWithToken(ctx, u)).headers;
  await userWithToken(ctx, 'root', { admin: true }).then((r) => { h['root'] = r.headers; });
  const home = path.join(ctx.stateDir, 'home', 'alice');
  mkdirSync(path.join(home, 'results', 'sub'), { recursive: true });
  writeFileSync(path.join(home, 'results', 'tas.csv'), 'year,tas\n2000,288.1\n');
  writeFileSync(path.join(home, 'private.txt'), 'secret');
  writeFileSync(path.join(home, 'notes.txt'), 'notes');
  symlinkSync(path.join(home, 'private.txt'), path.join(home, 'results', 'abs-link'));
  symlinkSync('../private.txt', path.join(home, 'results', 'rel-link'));
  symlinkSync('results', path.join(home, 'linked-dir'));
  symlinkSync('private.txt', path.join(home, 'linked-file'));
}

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, headers: Record<string, string>, body?: unknown) =>
  app.inject({ method, url, headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { payload: JSON.stringify(body) }) });

async function shareCount(): Promise<number> {
  const r = await ctx.db.selectFrom('shares').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const g = await ctx.db.selectFrom('share_grants').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(r.n) * 1000 + Number(g.n);
}

const withMe = async (u: string) => (await call('GET', '/hub/api/eucp/shares/with-me', h[u]!)).json() as Array<{ id: number; owner: string; name: string; sandbox_path: string; expires_at: string | null; via: string[]; mounted: boolean }>;

describe('sharing API (records only)', () => {
  beforeEach(async () => setup(false));
  afterEach(async () => { await app.close(); await ctx.close(); });

  it('alice shares a folder with bob: bob finds it under "Shared with me", alice sees who has access', async () => {
    const r = await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'results', with: { users: ['bob'] } });
    assert.equal(r.statusCode, 201, r.body);
    const share = r.json() as { id: number; name: string; kind: string; grants: Array<{ kind: string; user: string }> };
    assert.equal(share.name, 'results');
    assert.equal(share.kind, 'folder');
    assert.deepEqual(share.grants.map((g) => [g.kind, g.user]), [['user', 'bob']]);
    const mine = (await call('GET', '/hub/api/eucp/shares', h['alice']!)).json() as Array<{ id: number }>;
    assert.deepEqual(mine.map((s) => s.id), [share.id]);
    const seen = await withMe('bob');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.sandbox_path, '/shared/alice/results');
    assert.equal(seen[0]!.owner, 'alice');
    assert.equal(seen[0]!.mounted, false);
    assert.deepEqual(await withMe('carol'), []);
    assert.equal(await sharing.canRead('bob', 'alice', 'results/tas.csv'), true);
    assert.equal(await sharing.canRead('bob', 'alice', 'private.txt'), false);
    assert.equal(await sharing.canRead('carol', 'alice', 'results/tas.csv'), false);
    const audit = await ctx.db.selectFrom('audit_log').select(['action', 'actor']).where('action', 'like', 'share.%').execute();
    assert.deepEqual(audit.map((a) => a.action), ['share.create', 'share.grant']);
  });

  it('refuses bad input with a clear reason and changes nothing', async () => {
    const before = await shareCount();
    const cases: Array<[unknown, number, RegExp]> = [
      [{ path: '../bob/x', with: { users: ['bob'] } }, 400, /\.\./],
      [{ path: 'results/../private.txt' }, 400, /\.\./],
      [{ path: '/etc/passwd' }, 400, /relative/],
      [{ path: 'res\0ults' }, 400, /NUL/],
      [{ path: '' }, 400, /not the area itself/],
      [{ path: 'linked-dir/tas.csv' }, 400, /symbolic link/],
      [{ path: 'linked-file' }, 400, /symbolic link/],
      [{ path: 'linked-dir' }, 400, /symbolic link/],
      [{ path: 'missing.txt' }, 404, /No such file or folder/],
      [{ path: 'results', with: { users: ['nobody'] } }, 404, /No such user: nobody/],
      [{ path: 'results', with: { groups: ['ghosts'] } }, 404, /No such group: ghosts/],
      [{ path: 'results', with: { users: ['alice'] } }, 400, /yourself/],
      [{ path: 'results', with: { link: { expires_at: new Date(ctx.now() - 1000).toISOString() } } }, 400, /past/],
      [{ path: 'results', area: 'derived' }, 400, /no derived area/],
      [{ path: 'results', name: 'a/b' }, 400, /not allowed/],
    ];
    for (const [body, status, reason] of cases) {
      const r = await call('POST', '/hub/api/eucp/shares', h['alice']!, body);
      assert.equal(r.statusCode, status, `${JSON.stringify(body)}: ${r.body}`);
      assert.match(r.body, reason, JSON.stringify(body));
    }
    assert.equal(await shareCount(), before);
    assert.equal((await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'notes.txt', name: 'n' })).statusCode, 201);
    const taken = await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'results', name: 'n' });
    assert.equal(taken.statusCode, 409, taken.body);
  });

  it('another user\'s share is 404 for every change, and bob cannot share alice\'s files', async () => {
    const { id } = (await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'results', with: { users: ['bob'] } })).json() as { id: number; grants: Array<{ id: number }> };
    const gid = ((await call('GET', '/hub/api/eucp/shares', h['alice']!)).json() as Array<{ grants: Array<{ id: number }> }>)[0]!.grants[0]!.id;
    assert.equal((await call('DELETE', `/hub/api/eucp/shares/${id}`, h['bob']!)).statusCode, 404);
    assert.equal((await call('DELETE', `/hub/api/eucp/shares/${id}/grants/${gid}`, h['bob']!)).statusCode, 404);
    assert.equal((await call('POST', `/hub/api/eucp/shares/${id}/grants`, h['bob']!, { users: ['carol'] })).statusCode, 404);
    assert.equal((await call('DELETE', `/hub/api/eucp/shares/999`, h['alice']!)).statusCode, 404);
    // bob's "results" is his own home's (which has none): not found, alice's is out of reach.
    assert.equal((await call('POST', '/hub/api/eucp/shares', h['bob']!, { path: 'results' })).statusCode, 404);
    assert.equal((await withMe('bob')).length, 1);
  });

  it('a link gives a logged-in user access until it expires; an expired link is 410 Gone', async () => {
    const expires = new Date(ctx.now() + 3600_000).toISOString();
    const r = await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'notes.txt', with: { link: { expires_at: expires } } });
    assert.equal(r.statusCode, 201, r.body);
    const linkUrl = (r.json() as { link_url: string }).link_url;
    assert.match(linkUrl, /^\/hub\/shares\/link\/[A-Za-z0-9_-]{40,}$/);
    assert.equal(((await call('GET', '/hub/api/eucp/shares', h['alice']!)).json() as Array<Record<string, unknown>>)[0]!['link_url'], undefined);
    const carol = await sessionFor(ctx, (await ctx.accounts.getUser('carol')).id);
    const anon = await app.inject({ method: 'GET', url: linkUrl });
    assert.equal(anon.statusCode, 303);
    assert.match(String(anon.headers.location), /^\/hub\/login\?next=/);
    const used = await app.inject({ method: 'GET', url: linkUrl, headers: { cookie: carol.cookie } });
    assert.equal(used.statusCode, 303, used.body);
    assert.equal(used.headers.location, '/hub/shares/with-me');
    const seen = await withMe('carol');
    assert.deepEqual(seen.map((s) => [s.name, s.expires_at, s.via]), [['notes.txt', expires, ['link']]]);
    ctx.clock.advance(2 * 3600_000);
    assert.deepEqual(await withMe('carol'), []);
    const dave = await sessionFor(ctx, (await ctx.accounts.getUser('dave')).id);
    const late = await app.inject({ method: 'GET', url: linkUrl, headers: { cookie: dave.cookie } });
    assert.equal(late.statusCode, 410, late.body);
    assert.match(late.body, /expired/);
    assert.equal((await app.inject({ method: 'GET', url: '/hub/shares/link/' + 'x'.repeat(43), headers: { cookie: dave.cookie } })).statusCode, 404);
    const actions = (await ctx.db.selectFrom('audit_log').select('action').where('action', 'like', 'share.%').execute()).map((a) => a.action);
    assert.ok(actions.includes('share.link-used'), actions.join());
  });

  it('a group grant covers current and future members; revoking it ends access', async () => {
    assert.equal((await call('POST', '/hub/api/groups/proj', h['root']!, { users: ['dave'] })).statusCode, 201);
    const r = await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'results', with: { groups: ['proj'] } });
    assert.equal(r.statusCode, 201, r.body);
    const share = r.json() as { id: number; grants: Array<{ id: number; kind: string; group: string }> };
    assert.deepEqual(share.grants.map((g) => [g.kind, g.group]), [['group', 'proj']]);
    assert.equal((await withMe('dave')).length, 1);
    assert.equal((await withMe('carol')).length, 0);
    assert.equal((await call('POST', '/hub/api/groups/proj/users', h['root']!, { users: ['carol'] })).statusCode, 200);
    assert.deepEqual((await withMe('carol')).map((s) => s.via), [['group']]);
    assert.equal(await sharing.canRead('carol', 'alice', 'results/sub'), true);
    const del = await call('DELETE', `/hub/api/eucp/shares/${share.id}/grants/${share.grants[0]!.id}`, h['alice']!);
    assert.equal(del.statusCode, 204, del.body);
    assert.equal((await withMe('carol')).length, 0);
    assert.equal((await withMe('dave')).length, 0);
    const actions = (await ctx.db.selectFrom('audit_log').select('action').where('action', 'like', 'share.%').execute()).map((a) => a.action);
    assert.deepEqual(actions, ['share.create', 'share.grant', 'share.revoke']);
  });
});

describe('shares managed by derived data', () => {
  beforeEach(async () => setup(false));
  afterEach(async () => { await app.close(); await ctx.close(); });

  it('the share of a published derived data set says so, and its owner\'s grant changes are refused with 409 until it is unpublished', async () => {
    const r = await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'results', with: { users: ['bob'] } });
    assert.equal(r.statusCode, 201, r.body);
    const share = r.json() as { id: number; grants: Array<{ id: number }>; managed_by: unknown };
    assert.equal(share.managed_by, null, 'an ordinary share is the owner\'s to manage');
    // What publishing derived data records (derived/service.ts): the data set and the share that shows it.
    const alice = await ctx.accounts.getUser('alice');
    const now = ctx.now();
    const ds = await ctx.db.insertInto('derived_datasets').values({
      owner_id: alice.id, name: 'results', area: 'home', rel_path: 'results', title: 'Results', description: '', licence_id: null,
      licence_text: null, audience: JSON.stringify({ users: ['bob'], groups: [], public: false }), share_id: share.id,
      created_at: now, updated_at: now, unpublished_at: null,
    }).returning('id').executeTakeFirstOrThrow();
    const mine = (await call('GET', '/hub/api/eucp/shares', h['alice']!)).json() as Array<{ id: number; managed_by: unknown }>;
    assert.deepEqual(mine.map((s) => [s.id, s.managed_by]), [[share.id, { kind: 'derived', id: 'derived.alice.results' }]]);

    const before = await shareCount();
    const gid = share.grants[0]!.id;
    for (const [method, url, body] of [
      ['POST', `/hub/api/eucp/shares/${share.id}/grants`, { users: ['carol'] }],
      ['DELETE', `/hub/api/eucp/shares/${share.id}/grants/${gid}`, undefined],
      ['DELETE', `/hub/api/eucp/shares/${share.id}`, undefined],
    ] as const) {
      const refused = await call(method, url, h['alice']!, body);
      assert.equal(refused.statusCode, 409, `${method} ${url}: ${refused.body}`);
      const err = refused.json() as { code: string; message: string; action: string };
      assert.equal(err.code, 'SHARE_MANAGED');
      assert.match(err.message, /published as derived data derived\.alice\.results/);
      assert.match(err.action, /\/hub\/catalog\/publish/);
      // Someone else still learns nothing about the share.
      assert.equal((await call(method, url, h['bob']!, body)).statusCode, 404);
    }
    assert.equal(await shareCount(), before, 'nothing changed');
    assert.deepEqual((await withMe('bob')).map((s) => s.name), ['results']);
    assert.deepEqual(await withMe('carol'), []);

    // The derived service keeps the grants itself (it calls the service, not the API).
    await sharing.addGrants({ id: alice.id, name: 'alice' }, share.id, { users: ['carol'] });
    assert.deepEqual((await withMe('carol')).map((s) => s.name), ['results']);

    // Unpublished: the share is the owner's again.
    await ctx.db.updateTable('derived_datasets').set({ unpublished_at: ctx.now() }).where('id', '=', ds.id).execute();
    assert.equal(((await call('GET', '/hub/api/eucp/shares', h['alice']!)).json() as Array<{ managed_by: unknown }>)[0]!.managed_by, null);
    assert.equal((await call('DELETE', `/hub/api/eucp/shares/${share.id}/grants/${gid}`, h['alice']!)).statusCode, 204);
  });
});

describe('sharing on the filesystem (root: bindfs and bind mounts)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  beforeEach(async () => setup(true));
  afterEach(async () => {
    for (const s of (await sharing.mine({ id: (await ctx.accounts.getUser('alice')).id, name: 'alice' }))) {
      await sharing.revokeShare({ id: (await ctx.accounts.getUser('alice')).id, name: 'alice' }, s.share.id);
    }
    const left = await mounts!.current();
    assert.deepEqual([left.binds, [...left.shares]], [[], []], 'every share mount is gone after revocation');
    for (const u of ['bob', 'carol', 'dave']) {
      const v = mounts!.viewOf(u);
      if ((await mounts!.mounts()).some((m) => m.mountPoint === v)) {
        await new Promise<void>((res, rej) => import('node:child_process').then(({ execFile }) => execFile('/usr/bin/umount', [v], (e) => (e ? rej(e) : res()))));
      }
    }
    await app.close();
    await ctx.close();
  });

  it('bob reads alice\'s file through his view, cannot write it, and loses it when alice revokes', async () => {
    const view = await sharing.viewFor('bob');
    assert.ok(view);
    const r = await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'results', with: { users: ['bob'] } });
    assert.equal(r.statusCode, 201, r.body);
    const f = await call('POST', '/hub/api/eucp/shares', h['alice']!, { path: 'notes.txt', with: { users: ['bob'] } });
    assert.equal(f.statusCode, 201, f.body);
    const shown = path.join(view, 'alice', 'results', 'tas.csv');
    assert.equal(readFileSync(shown, 'utf8'), 'year,tas\n2000,288.1\n');
    assert.equal(readFileSync(path.join(view, 'alice', 'notes.txt'), 'utf8'), 'notes');
    const err = await new Promise<NodeJS.ErrnoException | null>((res) => writeFileCb(shown, 'x', (e) => res(e)));
    assert.ok(err && (err.code === 'EROFS' || err.code === 'EACCES'), String(err?.code));
    assert.deepEqual((await withMe('bob')).map((s) => [s.name, s.mounted]), [['notes.txt', true], ['results', true]]);
    await call('DELETE', `/hub/api/eucp/shares/${(r.json() as { id: number }).id}`, h['alice']!);
    assert.equal(existsSync(shown), false);
    assert.equal(readFileSync(path.join(view, 'alice', 'notes.txt'), 'utf8'), 'notes');
    const actions = (await ctx.db.selectFrom('audit_log').select('action').where('action', 'in', ['share.mount', 'share.unmount']).execute()).map((a) => a.action);
    assert.deepEqual(actions, ['share.mount', 'share.mount', 'share.unmount']);
  });
});
