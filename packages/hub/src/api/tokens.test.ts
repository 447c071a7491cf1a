import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, createTestContext, userWithToken, type TestContext } from '@eucp/testing/hub-factory';

let ctx: TestContext;
let app: FastifyInstance;
let root: Awaited<ReturnType<typeof userWithToken>>;
let alice: Awaited<ReturnType<typeof userWithToken>>;

beforeEach(async () => {
  ctx = await createTestContext();
  app = await buildTestApp(ctx);
  root = await userWithToken(ctx, 'root', { admin: true });
  alice = await userWithToken(ctx, 'alice');
  await ctx.accounts.createUser('bob');
});
afterEach(async () => {
  await app.close();
  await ctx.close();
});

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, headers: Record<string, string>, body?: unknown) =>
  app.inject({ method, url, headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { payload: JSON.stringify(body) }) });

describe('tokens API', () => {
  it('issues a token (201 model + token) that works, lists, gets and revokes it (204)', async () => {
    const r = await call('POST', '/hub/api/users/alice/tokens', alice.headers, { note: 'my script', expires_in: 3600, scopes: ['read:users!user=alice'] });
    assert.equal(r.statusCode, 201);
    const t = r.json();
    assert.match(t.token, /^[0-9a-f]{64}$/);
    assert.match(t.id, /^a\d+$/);
    assert.equal(t.user, 'alice');
    assert.equal(t.kind, 'api_token');
    assert.deepEqual(t.roles, []);
    assert.equal(t.note, 'my script');
    assert.equal(t.expires_at, '2024-05-02T10:00:00Z');
    assert.equal(t.oauth_client, 'JupyterHub');
    assert.deepEqual(t.scopes, ['read:users!user=alice', 'read:users:activity!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice']);
    const stored = await ctx.db.selectFrom('api_tokens').select('hash').where('id', '=', Number(t.id.slice(1))).executeTakeFirstOrThrow();
    assert.notEqual(stored.hash, t.token, 'only the hash is stored');

    const me = await call('GET', '/hub/api/user', { authorization: `token ${t.token}` });
    assert.equal(me.json().name, 'alice');
    assert.equal((await call('GET', '/hub/api/users/alice/tokens', { authorization: `token ${t.token}` })).statusCode, 403, 'scope read:tokens not granted');

    const list = (await call('GET', '/hub/api/users/alice/tokens', alice.headers)).json();
    assert.deepEqual(list.api_tokens.map((x: { id: string }) => x.id).sort(), [`a${alice.tokenId}`, t.id].sort());
    assert.equal(list.api_tokens.some((x: Record<string, unknown>) => 'token' in x), false, 'secrets are never listed');
    const one = await call('GET', `/hub/api/users/alice/tokens/${t.id}`, alice.headers);
    assert.equal(one.json().note, 'my script');
    assert.equal((await call('DELETE', `/hub/api/users/alice/tokens/${t.id}`, alice.headers)).statusCode, 204);
    assert.equal((await call('GET', '/hub/api/user', { authorization: `token ${t.token}` })).statusCode, 403);
    assert.equal((await call('GET', `/hub/api/users/alice/tokens/${t.id}`, alice.headers)).statusCode, 404);
  });

  it('refuses scopes the requester does not hold (400 naming them) and bad bodies', async () => {
    const r = await call('POST', '/hub/api/users/alice/tokens', alice.headers, { scopes: ['admin:users', 'read:users!user=alice'] });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /admin:users/);
    const other = await call('POST', '/hub/api/users/alice/tokens', alice.headers, { scopes: ['read:users!user=bob'] });
    assert.equal(other.statusCode, 400);
    assert.match(other.json().message, /read:users!user=bob/);
    assert.equal((await call('POST', '/hub/api/users/alice/tokens', alice.headers, { scopes: ['no-such-scope'] })).statusCode, 400);
    assert.equal((await call('POST', '/hub/api/users/alice/tokens', alice.headers, { expires_in: 'soon' })).statusCode, 400);
    assert.equal((await call('POST', '/hub/api/users/alice/tokens', alice.headers, { expires_in: 1.5 })).statusCode, 400);
    assert.equal((await ctx.auth.listTokens(alice.user.id)).length, 1, 'nothing issued');
  });

  it("a user's token cannot act on another user's tokens (404); missing scopes are 403 naming the scope", async () => {
    const bobToken = await userWithToken(ctx, 'bob');
    for (const [method, url] of [
      ['GET', '/hub/api/users/bob/tokens'],
      ['POST', '/hub/api/users/bob/tokens'],
      ['GET', `/hub/api/users/bob/tokens/a${bobToken.tokenId}`],
      ['DELETE', `/hub/api/users/bob/tokens/a${bobToken.tokenId}`],
    ] as const) {
      const r = await call(method, url, alice.headers, method === 'POST' ? {} : undefined);
      assert.equal(r.statusCode, 404, `${method} ${url}`);
    }
    assert.ok(await ctx.auth.resolveToken(bobToken.token), "bob's token survives");
    const narrow = await ctx.auth.issueToken({ userId: alice.user.id, scopes: ['read:users:name!user=alice'] });
    const r = await call('GET', '/hub/api/users/alice/tokens', { authorization: `token ${narrow.token}` });
    assert.equal(r.statusCode, 403);
    assert.match(r.json().message, /read:tokens/);
  });

  it('an admin issues for another user only what that user holds; default is inherit', async () => {
    const r = await call('POST', '/hub/api/users/bob/tokens', root.headers, {});
    assert.equal(r.statusCode, 201);
    assert.match(r.json().note, /by user root/);
    assert.ok(r.json().scopes.includes('access:servers!user=bob'));
    assert.ok(!r.json().scopes.includes('admin:users'));
    const tooMuch = await call('POST', '/hub/api/users/bob/tokens', root.headers, { scopes: ['admin:users'] });
    assert.equal(tooMuch.statusCode, 400);
  });

  it('a limited token issues by default only what it holds itself', async () => {
    const limited = await ctx.auth.issueToken({ userId: alice.user.id, scopes: ['tokens!user=alice'] });
    const r = await call('POST', '/hub/api/users/alice/tokens', { authorization: `token ${limited.token}` }, {});
    assert.equal(r.statusCode, 201);
    assert.deepEqual(r.json().scopes, ['read:tokens!user=alice', 'tokens!user=alice']);
  });

  it('demoting an admin demotes their tokens; expired tokens stop working and are pruned', async () => {
    const second = await userWithToken(ctx, 'second', { admin: true });
    assert.equal((await call('GET', '/hub/api/info', second.headers)).statusCode, 200);
    await ctx.accounts.setAdmin('second', false);
    assert.equal((await call('GET', '/hub/api/info', second.headers)).statusCode, 403);

    const short = await ctx.auth.issueToken({ userId: alice.user.id, scopes: ['inherit'], expiresInMs: 60_000 });
    assert.equal((await call('GET', '/hub/api/user', { authorization: `token ${short.token}` })).statusCode, 200);
    ctx.clock.advance(60_000);
    assert.equal((await call('GET', '/hub/api/user', { authorization: `token ${short.token}` })).statusCode, 403);
    const ids = (await call('GET', '/hub/api/users/alice/tokens', alice.headers)).json().api_tokens.map((t: { id: string }) => t.id);
    assert.deepEqual(ids, [`a${alice.tokenId}`]);
  });

  it('revoking one OAuth token revokes the user\'s other tokens of that client', async () => {
    const a = await ctx.auth.issueToken({ userId: alice.user.id, scopes: ['read:users:name!user=alice'], oauthClientId: 'jupyterhub-user-bob' });
    const b = await ctx.auth.issueToken({ userId: alice.user.id, scopes: ['read:users:name!user=alice'], oauthClientId: 'jupyterhub-user-bob' });
    assert.equal((await call('DELETE', `/hub/api/users/alice/tokens/a${a.id}`, alice.headers)).statusCode, 204);
    assert.equal(await ctx.auth.resolveToken(b.token), null);
    assert.ok(await ctx.auth.resolveToken(alice.token));
  });

  it('rejects malformed token ids with 404', async () => {
    for (const id of ['abc', 'a0', '../a1']) {
      assert.equal((await call('GET', `/hub/api/users/alice/tokens/${encodeURIComponent(id)}`, alice.headers)).statusCode, 404, id);
    }
  });
});
