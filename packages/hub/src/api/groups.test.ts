import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, createTestContext, userWithToken, type TestContext } from '@eucp/testing/hub-factory';

let ctx: TestContext;
let app: FastifyInstance;
let admin: { authorization: string };
let alice: { authorization: string };

beforeEach(async () => {
  ctx = await createTestContext();
  app = await buildTestApp(ctx);
  admin = (await userWithToken(ctx, 'root', { admin: true })).headers;
  alice = (await userWithToken(ctx, 'alice')).headers;
  await ctx.accounts.createUser('bob');
});
afterEach(async () => {
  await app.close();
  await ctx.close();
});

const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, headers: Record<string, string>, body?: unknown) =>
  app.inject({ method, url, headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { payload: typeof body === 'string' ? body : JSON.stringify(body) }) });

describe('groups API', () => {
  it('creates in bulk (201), refuses existing (409) and unknown members (400) atomically', async () => {
    const r = await call('POST', '/hub/api/groups', admin, { groups: ['climate', 'ocean'], users: ['alice'] });
    assert.equal(r.statusCode, 201);
    assert.deepEqual(r.json(), [
      { kind: 'group', name: 'climate', users: ['alice'], roles: [], properties: {} },
      { kind: 'group', name: 'ocean', users: ['alice'], roles: [], properties: {} },
    ]);
    assert.equal((await call('POST', '/hub/api/groups', admin, { groups: ['ice', 'ocean'] })).statusCode, 409);
    assert.equal(await ctx.accounts.findGroup('ice'), null);
    const unknown = await call('POST', '/hub/api/groups', admin, { groups: ['ice'], users: ['nobody'] });
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.json().message, /nobody/);
    assert.equal(await ctx.accounts.findGroup('ice'), null);
    assert.equal((await call('POST', '/hub/api/groups', admin, { groups: ['Bad Name'] })).statusCode, 400);
    assert.equal((await call('POST', '/hub/api/groups', admin, { groups: [] })).statusCode, 400);
    assert.equal((await call('POST', '/hub/api/groups', admin, '{"groups": [')).json().message, 'Invalid JSON in body of request.');
  });

  it('single create, get, delete: 201/409/200/404/204', async () => {
    assert.equal((await call('POST', '/hub/api/groups/climate', admin)).statusCode, 201);
    assert.equal((await call('POST', '/hub/api/groups/climate', admin, { users: ['bob'] })).statusCode, 409);
    assert.deepEqual((await call('GET', '/hub/api/groups/climate', admin)).json(),
      { kind: 'group', name: 'climate', users: [], roles: [], properties: {} });
    assert.equal((await call('GET', '/hub/api/groups/nope', admin)).statusCode, 404);
    assert.equal((await call('DELETE', '/hub/api/groups/climate', admin)).statusCode, 204);
    assert.equal((await call('DELETE', '/hub/api/groups/climate', admin)).statusCode, 404);
  });

  it('adds and removes members (200 group model), 400 for unknown users or a bad body', async () => {
    await ctx.accounts.createGroup('climate');
    const add = await call('POST', '/hub/api/groups/climate/users', admin, { users: ['alice', 'bob'] });
    assert.equal(add.statusCode, 200);
    assert.deepEqual(add.json().users, ['alice', 'bob']);
    const rm = await call('DELETE', '/hub/api/groups/climate/users', admin, { users: ['alice'] });
    assert.equal(rm.statusCode, 200);
    assert.deepEqual(rm.json().users, ['bob']);
    assert.equal((await call('POST', '/hub/api/groups/climate/users', admin, { users: ['ghost'] })).statusCode, 400);
    assert.equal((await call('POST', '/hub/api/groups/climate/users', admin, { users: 'bob' })).statusCode, 400);
    assert.equal((await call('POST', '/hub/api/groups/nope/users', admin, { users: ['bob'] })).statusCode, 404);
    assert.deepEqual(await ctx.accounts.groupMembers('climate'), ['bob']);
  });

  it('replaces properties with PUT (200), refuses non-objects (400)', async () => {
    await ctx.accounts.createGroup('climate');
    const r = await call('PUT', '/hub/api/groups/climate/properties', admin, { quota_gb: 50, label: 'Climate' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json().properties, { quota_gb: 50, label: 'Climate' });
    assert.equal((await call('PUT', '/hub/api/groups/climate/properties', admin, [1, 2])).statusCode, 400);
    assert.equal((await call('PUT', '/hub/api/groups/climate/properties', admin, '"text"')).statusCode, 400);
    assert.deepEqual((await ctx.accounts.getGroup('climate')).properties, { quota_gb: 50, label: 'Climate' });
  });

  it('lists groups with pagination; users may read names only and may not change groups', async () => {
    for (const g of ['g1', 'g2', 'g3']) await ctx.accounts.createGroup(g, { users: ['bob'] });
    const env = (await call('GET', '/hub/api/groups?limit=2', { ...admin, accept: 'application/jupyterhub-pagination+json', host: 'h:1' })).json();
    assert.deepEqual(env.items.map((g: { name: string }) => g.name), ['g1', 'g2']);
    assert.equal(env._pagination.total, 3);
    assert.equal(env._pagination.next.url, 'http://h:1/hub/api/groups?limit=2&offset=2');
    assert.equal((await call('GET', '/hub/api/groups', alice)).statusCode, 403);
    assert.deepEqual((await call('GET', '/hub/api/groups/g1', alice)).json(), { kind: 'group', name: 'g1' });
    const denied = await call('POST', '/hub/api/groups/g1/users', alice, { users: ['alice'] });
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json().message, /groups/);
    assert.equal((await call('DELETE', '/hub/api/groups/g1', alice)).statusCode, 403);
    assert.deepEqual(await ctx.accounts.groupMembers('g1'), ['bob']);
  });
});
