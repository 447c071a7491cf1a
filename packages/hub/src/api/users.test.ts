import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, createTestContext, insertServer, userWithToken, type TestContext } from '@eucp/testing/hub-factory';

let ctx: TestContext;
let app: FastifyInstance;
let admin: { authorization: string };
let alice: Awaited<ReturnType<typeof userWithToken>>;

beforeEach(async () => {
  ctx = await createTestContext();
  app = await buildTestApp(ctx);
  admin = (await userWithToken(ctx, 'root', { admin: true })).headers;
  alice = await userWithToken(ctx, 'alice');
});
afterEach(async () => {
  await app.close();
  await ctx.close();
});

const json = (headers: Record<string, string>) => ({ ...headers, 'content-type': 'application/json' });
const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });
const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, body?: unknown) =>
  app.inject({ method, url, headers: json(headers), ...(body !== undefined && { payload: typeof body === 'string' ? body : JSON.stringify(body) }) });

describe('hub endpoints', () => {
  it('GET /hub/api[/] answers the version without credentials, with CORS and the version header', async () => {
    for (const url of ['/hub/api', '/hub/api/']) {
      const r = await get(url);
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { version: '5.2.1' });
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.equal(r.headers['x-jupyterhub-version'], '5.2.1');
    }
  });

  it('OPTIONS answers 200 with the allowed headers; unknown API paths are JSON 404', async () => {
    const o = await app.inject({ method: 'OPTIONS', url: '/hub/api/users' });
    assert.equal(o.statusCode, 200);
    assert.equal(o.headers['access-control-allow-headers'], 'accept, content-type, authorization');
    const nf = await get('/hub/api/no-such-thing', admin);
    assert.equal(nf.statusCode, 404);
    assert.equal(nf.json().status, 404);
  });

  it('GET /hub/api/info needs read:hub', async () => {
    assert.equal((await get('/hub/api/info', admin)).json().version, '5.2.1');
    const r = await get('/hub/api/info', alice.headers);
    assert.equal(r.statusCode, 403);
    assert.match(r.json().message, /read:hub/);
  });

  it('GET /hub/api/user identifies the token owner; 403 without a token', async () => {
    const none = await get('/hub/api/user');
    assert.equal(none.statusCode, 403);
    assert.equal(none.json().status, 403);
    assert.equal((await get('/hub/api/user', { authorization: 'token not-a-real-token' })).statusCode, 403);
    const r = await get('/hub/api/user', { authorization: `Bearer ${alice.token}` });
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.equal(body.kind, 'user');
    assert.equal(body.name, 'alice');
    assert.equal(body.admin, false);
    assert.deepEqual(body.groups, []);
    assert.equal(body.token_id, `a${alice.tokenId}`);
    assert.equal(body.session_id, null);
    assert.deepEqual(body.scopes, [...body.scopes].sort());
    assert.ok(body.scopes.includes('access:servers!user=alice'));
    assert.ok(body.scopes.includes('read:users:name!user=alice') || body.scopes.includes('read:users:name'));
  });

  it('a token limited to identify scopes sees only kind, name, admin, groups', async () => {
    const t = await ctx.auth.issueToken({ userId: alice.user.id, scopes: ['read:users:name!user=alice', 'read:users:groups!user=alice'] });
    const body = (await get('/hub/api/user', { authorization: `token ${t.token}` })).json();
    assert.deepEqual(Object.keys(body).sort(), ['admin', 'groups', 'kind', 'name', 'scopes', 'session_id', 'token_id']);
    assert.deepEqual(body.scopes, ['read:users:groups!user=alice', 'read:users:name!user=alice']);
  });
});

describe('GET /hub/api/users', () => {
  beforeEach(async () => {
    for (const n of ['ann', 'bea', 'cid', 'dan']) await ctx.accounts.createUser(n);
  });

  it('needs list:users (403 naming it)', async () => {
    const r = await get('/hub/api/users', alice.headers);
    assert.equal(r.statusCode, 403);
    assert.match(r.json().message, /list:users/);
  });

  it('returns a bare list by default and the envelope with the Accept header, with an absolute next.url', async () => {
    const bare = await get('/hub/api/users', admin);
    assert.equal(bare.statusCode, 200);
    assert.deepEqual(bare.json().map((u: { name: string }) => u.name), ['root', 'alice', 'ann', 'bea', 'cid', 'dan']);
    const r = await get('/hub/api/users?sort=name&limit=3&name_filter=A', { ...admin, accept: 'application/json, application/jupyterhub-pagination+json', host: 'hub.test:8000' });
    const body = r.json();
    assert.deepEqual(body.items.map((u: { name: string }) => u.name), ['alice', 'ann', 'bea']);
    assert.deepEqual(body._pagination, {
      offset: 0, limit: 3, total: 4,
      next: { offset: 3, limit: 3, url: 'http://hub.test:8000/hub/api/users?sort=name&limit=3&name_filter=A&offset=3' },
    });
    const last = (await get(body._pagination.next.url.replace('http://hub.test:8000', ''), { ...admin, accept: 'application/jupyterhub-pagination+json' })).json();
    assert.deepEqual(last.items.map((u: { name: string }) => u.name), ['dan']);
    assert.equal(last._pagination.next, null);
  });

  it('caps and validates limit/offset, validates state and sort', async () => {
    const page = (await get('/hub/api/users?limit=0', { ...admin, accept: 'application/jupyterhub-pagination+json' })).json();
    assert.equal(page._pagination.limit, 1);
    const big = (await get('/hub/api/users?limit=100000', { ...admin, accept: 'application/jupyterhub-pagination+json' })).json();
    assert.equal(big._pagination.limit, 200);
    for (const q of ['offset=x', 'limit=1.5', 'state=running', 'sort=age']) {
      const r = await get(`/hub/api/users?${q}`, admin);
      assert.equal(r.statusCode, 400, q);
    }
    const desc = (await get('/hub/api/users?sort=-name', admin)).json();
    assert.equal(desc[0].name, 'root');
  });

  it('filters by server state and lists stopped servers only when asked', async () => {
    const ann = await ctx.accounts.getUser('ann');
    const bea = await ctx.accounts.getUser('bea');
    const cid = await ctx.accounts.getUser('cid');
    await insertServer(ctx, ann.id, { state: 'running' });
    await insertServer(ctx, bea.id, { state: 'starting' });
    await insertServer(ctx, cid.id, { state: 'stopped' });
    const names = async (q: string) => (await get(`/hub/api/users?${q}`, admin)).json().map((u: { name: string }) => u.name);
    assert.deepEqual(await names('state=ready'), ['ann']);
    assert.deepEqual(await names('state=active'), ['ann', 'bea']);
    assert.deepEqual(await names('state=inactive'), ['root', 'alice', 'cid', 'dan']);
    const all = (await get('/hub/api/users?name_filter=cid', admin)).json();
    assert.deepEqual(all[0].servers, {});
    const withStopped = (await get('/hub/api/users?name_filter=cid&include_stopped_servers', admin)).json();
    assert.equal(withStopped[0].servers[''].stopped, true);
  });
});

describe('users', () => {
  it('presents the user and server models of the contract', async () => {
    await ctx.accounts.createGroup('climate', { users: ['alice'] });
    await insertServer(ctx, alice.user.id, { state: 'running', startedAt: Date.UTC(2024, 4, 2, 8, 0, 0) });
    await insertServer(ctx, alice.user.id, { name: 'gpu', state: 'starting' });
    const u = (await get('/hub/api/users/alice', admin)).json();
    assert.deepEqual(Object.keys(u), ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity', 'servers', 'auth_state']);
    assert.equal(u.kind, 'user');
    assert.deepEqual(u.roles, ['user']);
    assert.deepEqual(u.groups, ['climate']);
    assert.equal(u.server, '/user/alice/');
    assert.equal(u.pending, null);
    assert.equal(u.created, '2024-05-02T09:00:00Z');
    assert.deepEqual(u.servers[''], {
      name: '', full_name: 'alice/', last_activity: null, started: '2024-05-02T08:00:00Z', pending: null, ready: true, stopped: false,
      url: '/user/alice/', user_options: {}, progress_url: '/hub/api/users/alice/server/progress', full_url: null, full_progress_url: null,
      state: {},
    });
    assert.equal(u.servers.gpu.pending, 'spawn');
    assert.equal(u.servers.gpu.ready, false);
    assert.equal(u.servers.gpu.url, '/user/alice/gpu/');
    assert.equal(u.servers.gpu.progress_url, '/hub/api/users/alice/servers/gpu/progress');
    // Alice herself sees her model but not the spawner state.
    const own = (await get('/hub/api/users/alice', alice.headers)).json();
    assert.equal(own.servers[''].state, undefined);
    assert.equal(own.name, 'alice');
  });

  it("another user's model shows only name fields; unknown users are 404", async () => {
    const r = await get('/hub/api/users/root', alice.headers);
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { kind: 'user', name: 'root', admin: true });
    assert.equal((await get('/hub/api/users/nobody', admin)).statusCode, 404);
  });

  it('POST /hub/api/users creates in bulk: 201, 409 when all exist, 400 for bad names or bodies', async () => {
    const r = await send('POST', '/hub/api/users', admin, { usernames: ['xena', 'yves'] });
    assert.equal(r.statusCode, 201);
    assert.deepEqual(r.json().map((u: { name: string }) => u.name), ['xena', 'yves']);
    const again = await send('POST', '/hub/api/users', admin, { usernames: ['xena', 'yves'] });
    assert.equal(again.statusCode, 409);
    const partial = await send('POST', '/hub/api/users', admin, { usernames: ['xena', 'zoe'] });
    assert.equal(partial.statusCode, 201);
    assert.deepEqual(partial.json().map((u: { name: string }) => u.name), ['zoe']);
    const bad = await send('POST', '/hub/api/users', admin, { usernames: ['okname', 'Bad Name'] });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'INVALID_NAME');
    assert.equal(await ctx.accounts.findUser('okname'), null, 'nothing created');
    assert.equal((await send('POST', '/hub/api/users', admin, { usernames: [] })).statusCode, 400);
    assert.equal((await send('POST', '/hub/api/users', admin, { usernames: 'x' })).statusCode, 400);
  });

  it('malformed JSON ⇒ 400 "Invalid JSON in body of request" and nothing changes', async () => {
    const before = (await ctx.accounts.listUsers()).length;
    const r = await send('POST', '/hub/api/users', admin, '{"usernames": ["mal"');
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().status, 400);
    assert.match(r.json().message, /^Invalid JSON in body of request/);
    assert.equal((await ctx.accounts.listUsers()).length, before);
    const p = await send('PATCH', '/hub/api/users/alice', admin, '{admin: true}');
    assert.equal(p.statusCode, 400);
    assert.equal((await ctx.accounts.getUser('alice')).admin, false);
  });

  it('POST /hub/api/users/:name: 201, 409 duplicate, 400 invalid name, 403 for non-admins', async () => {
    const r = await send('POST', '/hub/api/users/carol', admin, { admin: true });
    assert.equal(r.statusCode, 201);
    assert.equal(r.json().admin, true);
    assert.equal((await send('POST', '/hub/api/users/carol', admin)).statusCode, 409);
    assert.equal((await send('POST', '/hub/api/users/Carol', admin)).statusCode, 400);
    const denied = await send('POST', '/hub/api/users/dave', alice.headers);
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json().message, /admin:users/);
  });

  it('PATCH renames and changes admin; taken names are 400; the last admin stays', async () => {
    await ctx.accounts.createUser('bob');
    assert.equal((await send('PATCH', '/hub/api/users/alice', admin, { name: 'bob' })).statusCode, 400);
    const r = await send('PATCH', '/hub/api/users/alice', admin, { name: 'alicia', admin: true });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().name, 'alicia');
    assert.equal(r.json().admin, true);
    await send('PATCH', '/hub/api/users/alicia', admin, { admin: false });
    const last = await send('PATCH', '/hub/api/users/root', admin, { admin: false });
    assert.equal(last.statusCode, 400);
    assert.equal(last.json().code, 'LAST_ADMIN');
    // Alice's token follows her rename (same account).
    assert.equal((await get('/hub/api/user', alice.headers)).json().name, 'alicia');
  });

  it('DELETE stops the servers first, then answers 204; refuses self and unknown users', async () => {
    await ctx.accounts.createUser('bob');
    const r = await send('DELETE', '/hub/api/users/bob', admin);
    assert.equal(r.statusCode, 204);
    assert.deepEqual(ctx.fakeServers.stoppedUsers, ['bob']);
    assert.equal(await ctx.accounts.findUser('bob'), null);
    assert.equal((await send('DELETE', '/hub/api/users/bob', admin)).statusCode, 404);
    const self = await send('DELETE', '/hub/api/users/root', admin);
    assert.equal(self.statusCode, 400);
    assert.equal(self.json().code, 'CANNOT_DELETE_SELF');
    const denied = await send('DELETE', '/hub/api/users/root', alice.headers);
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json().message, /delete:users/);
    assert.deepEqual(ctx.fakeServers.stoppedUsers, ['bob']);
  });
});

describe('POST /hub/api/users/:name/activity', () => {
  let server: { authorization: string };
  beforeEach(async () => {
    await insertServer(ctx, alice.user.id, { state: 'running' });
    const t = await ctx.auth.issueToken({ userId: alice.user.id, scopes: ['users:activity!user=alice', 'access:servers!server=alice/'], note: 'Server at /user/alice/' });
    server = { authorization: `token ${t.token}` };
  });
  const stamps = async () => ({
    user: (await ctx.accounts.getUser('alice')).lastActivity,
    server: (await ctx.db.selectFrom('servers').select('last_activity').where('user_id', '=', alice.user.id).executeTakeFirstOrThrow()).last_activity,
  });

  it('stores newer timestamps only and answers 200', async () => {
    const body = { servers: { '': { last_activity: '2024-05-02T08:30:00.123456Z' } }, last_activity: '2024-05-02T08:30:00.123456Z' };
    const r = await send('POST', '/hub/api/users/alice/activity', server, body);
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '');
    const t = Date.UTC(2024, 4, 2, 8, 30, 0, 123);
    assert.deepEqual(await stamps(), { user: t, server: t });
    const older = { servers: { '': { last_activity: '2024-05-02T08:00:00Z' } }, last_activity: '2024-05-02T08:00:00' };
    assert.equal((await send('POST', '/hub/api/users/alice/activity', server, older)).statusCode, 200);
    assert.deepEqual(await stamps(), { user: t, server: t }, 'older report ignored');
    // The user's model shows it.
    assert.equal((await get('/hub/api/users/alice', admin)).json().last_activity, '2024-05-02T08:30:00.123000Z');
  });

  it('rejects unknown servers, far-future and malformed timestamps, empty bodies (400) and changes nothing', async () => {
    const cases: unknown[] = [
      { servers: { gpu: { last_activity: '2024-05-02T08:30:00Z' } } },
      { last_activity: '2024-05-02T11:00:00Z' }, // clock is 09:00Z; 2 h ahead
      { last_activity: 'yesterday' },
      { servers: { '': {} } },
      {},
      [],
    ];
    for (const body of cases) {
      const r = await send('POST', '/hub/api/users/alice/activity', server, body);
      assert.equal(r.statusCode, 400, JSON.stringify(body));
    }
    const unknown = await send('POST', '/hub/api/users/alice/activity', server, { servers: { gpu: { last_activity: '2024-05-02T08:30:00Z' } } });
    assert.match(unknown.json().message, /No such server 'gpu' for user alice/);
    assert.deepEqual(await stamps(), { user: null, server: null });
    const nearFuture = await send('POST', '/hub/api/users/alice/activity', server, { last_activity: '2024-05-02T09:50:00Z' });
    assert.equal(nearFuture.statusCode, 200, 'up to 59 minutes ahead is accepted');
  });

  it("a token for alice cannot report bob's activity (404); unknown users are 404", async () => {
    await ctx.accounts.createUser('bob');
    const r = await send('POST', '/hub/api/users/bob/activity', server, { last_activity: '2024-05-02T08:30:00Z' });
    assert.equal(r.statusCode, 404);
    assert.equal((await send('POST', '/hub/api/users/nobody/activity', admin, { last_activity: '2024-05-02T08:30:00Z' })).statusCode, 404);
  });
});
