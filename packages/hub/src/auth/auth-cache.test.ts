/**
 * The request-authentication cache (decision 0004): a cached token or session is refused
 * on the very next request after it is revoked, logged out, demoted, removed, changed by
 * another connection, or expired; lookups in flight during a revocation are not stored.
 * Also the statement cache and write detection it relies on.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SQLite from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, createTestContext, sessionFor, userWithToken, type TestContext } from '@eucp/testing/hub-factory';
import { openDatabase, withStatementCache, writtenTables, type DbChanges, type WriteListener } from '../db/index.js';
import { AuthCache } from './auth-cache.js';
import type { AuthContext } from './types.js';

describe('writtenTables', () => {
  it('finds the tables of kysely and raw writes, and none for reads', () => {
    assert.deepEqual(writtenTables('delete from "api_tokens" where "id" = ?'), ['api_tokens']);
    assert.deepEqual(writtenTables('update "users" set "admin" = ? where "id" = ?'), ['users']);
    assert.deepEqual(writtenTables('insert into "group_members" ("group_id", "user_id") values (?, ?) on conflict do nothing'), ['group_members']);
    assert.deepEqual(writtenTables('INSERT OR REPLACE INTO sessions VALUES (?)'), ['sessions']);
    assert.deepEqual(writtenTables('DELETE FROM main.api_tokens'), ['api_tokens']);
    assert.deepEqual(writtenTables('with x as (select 1) delete from `users` where id in (select * from x)'), ['users']);
    assert.deepEqual(writtenTables('select "updated_at", "update" from "servers" where "name" = ?'), []);
    assert.deepEqual(writtenTables('select * from "api_tokens" where "hash" = ?'), []);
  });
});

describe('statement cache', () => {
  it('reuses statements, prepares afresh for one still iterating, and stays bounded', () => {
    const raw = new SQLite(':memory:');
    const writes: string[] = [];
    const db = withStatementCache(raw, 2, (t) => writes.push(t));
    db.prepare('create table t (x integer)').run([]);
    const ins = db.prepare('insert into t (x) values (?)');
    assert.equal(db.prepare('insert into t (x) values (?)'), ins);
    assert.deepEqual(writes, ['t', 't'], 'each preparation (= each run by kysely) of a write is reported');
    for (const x of [1, 2, 3]) ins.run([x]);
    const sel = db.prepare('select x from t order by x');
    const it = sel.iterate([]);
    it.next();
    const again = db.prepare('select x from t order by x');
    assert.notEqual(again, sel, 'a busy statement is not handed out twice');
    assert.deepEqual(again.all([]), [{ x: 1 }, { x: 2 }, { x: 3 }]);
    it.return?.();
    db.prepare('select 1');
    db.prepare('select 2');
    assert.notEqual(db.prepare('insert into t (x) values (?)'), ins, 'least recently used statements are dropped');
    db.close();
  });
});

/** A DbChanges stand-in: writes and other connections' commits are simulated. */
class FakeChanges implements DbChanges {
  version = 1;
  private readonly listeners = new Set<WriteListener>();
  onWrite(l: WriteListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  dataVersion(): number {
    return this.version;
  }
  write(table: string, sql: string): void {
    for (const l of this.listeners) l(table, sql);
  }
}

describe('AuthCache', () => {
  const auth = { user: { id: 1, name: 'alice' } } as unknown as AuthContext;
  let clock: number;
  let changes: FakeChanges;
  let cache: AuthCache;
  beforeEach(() => {
    clock = 1_000_000;
    changes = new FakeChanges();
    cache = new AuthCache({ now: () => clock, changes, ttlMs: 5000 });
  });

  it('keeps an entry for the TTL, and never past the credential\'s expiry', () => {
    cache.set('a', cache.begin(), auth, null);
    cache.set('b', cache.begin(), auth, clock + 1000);
    assert.equal(cache.get('a'), auth);
    clock += 1000;
    assert.equal(cache.get('b'), undefined, 'expired with its token');
    assert.equal(cache.get('a'), auth);
    clock += 4000;
    assert.equal(cache.get('a'), undefined, 'older than the TTL');
    cache.set('c', cache.begin(), auth, clock - 1);
    assert.equal(cache.size, 0, 'an already expired credential is not stored');
  });

  it('forgets everything on writes to auth tables, but not on activity timestamps or other tables', () => {
    cache.set('a', cache.begin(), auth, null);
    changes.write('api_tokens', 'update "api_tokens" set "last_activity" = ? where "id" = ?');
    changes.write('users', 'update "users" set "last_activity" = ? where "id" = ? and ("last_activity" is null or "last_activity" < ?)');
    changes.write('sessions', 'update "sessions" set "last_seen" = ? where "id_hash" = ?');
    changes.write('servers', 'update "servers" set "state" = ? where "id" = ?');
    assert.equal(cache.get('a'), auth);
    for (const [table, sql] of [
      ['api_tokens', 'delete from "api_tokens" where "id" = ?'],
      ['sessions', 'delete from "sessions" where "session_id" = ?'],
      ['users', 'update "users" set "admin" = ? where "id" = ?'],
      ['users', 'update "users" set "last_activity" = ?, "admin" = ? where "id" = ?'],
      ['group_members', 'delete from "group_members" where "group_id" = ?'],
      ['groups', 'delete from "groups" where "name" = ?'],
      ['oauth_clients', 'delete from "oauth_clients" where "id" = ?'],
    ] as const) {
      cache.set('a', cache.begin(), auth, null);
      changes.write(table, sql);
      assert.equal(cache.get('a'), undefined, sql);
    }
  });

  it('forgets everything when another connection committed (data_version)', () => {
    cache.set('a', cache.begin(), auth, null);
    changes.version++;
    assert.equal(cache.get('a'), undefined);
  });

  it('does not store a lookup that was in flight during an invalidation', () => {
    const g1 = cache.begin();
    changes.write('api_tokens', 'delete from "api_tokens" where "id" = ?');
    cache.set('a', g1, auth, null);
    assert.equal(cache.get('a'), undefined);
    const g2 = cache.begin();
    changes.version++;
    cache.set('a', g2, auth, null);
    assert.equal(cache.get('a'), undefined);
  });

  it('caches nothing without change notifications or with a TTL of 0', () => {
    for (const c of [new AuthCache({ now: () => clock, changes: undefined }), new AuthCache({ now: () => clock, changes, ttlMs: 0 })]) {
      c.set('a', c.begin(), auth, null);
      assert.equal(c.get('a'), undefined);
      assert.equal(c.enabled, false);
    }
  });
});

describe('cached request authentication', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeEach(async () => {
    ctx = await createTestContext({ dbFile: true });
    app = await buildTestApp(ctx);
  });
  afterEach(async () => {
    await app.close();
    await ctx.close();
  });
  const get = (url: string, headers: Record<string, string>) => app.inject({ method: 'GET', url, headers });

  it('serves repeated requests from the cache (the same frozen AuthContext)', async () => {
    const alice = await userWithToken(ctx, 'alice');
    const a = await ctx.auth.authenticateHeaders(alice.headers);
    const b = await ctx.auth.authenticateHeaders(alice.headers);
    assert.ok(a);
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.user) && Object.isFrozen(a.scopes) && Object.isFrozen(a.user.groups));
  });

  it('refuses a revoked token on the very next request', async () => {
    const alice = await userWithToken(ctx, 'alice');
    const { token: other } = await ctx.auth.issueToken({ userId: alice.user.id, scopes: ['inherit'] });
    assert.equal((await get('/hub/api/user', { authorization: `token ${other}` })).statusCode, 200);
    assert.equal((await get('/hub/api/user', { authorization: `token ${other}` })).statusCode, 200);
    const id = (await ctx.auth.listTokens(alice.user.id)).find((t) => t.id !== alice.tokenId)!.id;
    const del = await app.inject({ method: 'DELETE', url: `/hub/api/users/alice/tokens/a${id}`, headers: alice.headers });
    assert.equal(del.statusCode, 204);
    assert.equal((await get('/hub/api/user', { authorization: `token ${other}` })).statusCode, 403);
    assert.equal((await get('/hub/api/user', alice.headers)).statusCode, 200, 'other tokens still work');
  });

  it('refuses a logged-out session on the very next request', async () => {
    const u = await ctx.accounts.createUser('carol');
    const s = await sessionFor(ctx, u.id);
    assert.equal((await get('/hub/api/user', { cookie: s.cookie })).statusCode, 200);
    assert.equal((await get('/hub/api/user', { cookie: s.cookie })).statusCode, 200);
    assert.equal((await get('/hub/logout', { cookie: s.cookie })).statusCode, 302);
    assert.equal((await get('/hub/api/user', { cookie: s.cookie })).statusCode, 403);
  });

  it('refuses sessions ended after a password change', async () => {
    const u = await ctx.accounts.createUser('dave', { password: 'first-password-1' });
    const s = await sessionFor(ctx, u.id);
    assert.equal((await get('/hub/api/user', { cookie: s.cookie })).statusCode, 200);
    await ctx.accounts.setPassword('dave', 'second-password-2');
    await ctx.auth.destroyUserSessions(u.id);
    assert.equal((await get('/hub/api/user', { cookie: s.cookie })).statusCode, 403);
  });

  it('applies admin changes, group changes and user removal on the next request', async () => {
    const root = await userWithToken(ctx, 'root', { admin: true });
    const eve = await userWithToken(ctx, 'eve', { admin: true });
    assert.equal((await get('/hub/api/users', eve.headers)).statusCode, 200);
    const patch = await app.inject({ method: 'PATCH', url: '/hub/api/users/eve', headers: { ...root.headers, 'content-type': 'application/json' }, payload: '{"admin": false}' });
    assert.equal(patch.statusCode, 200);
    assert.equal((await get('/hub/api/users', eve.headers)).statusCode, 403, 'a demoted admin\'s token is demoted at once');

    assert.deepEqual((await ctx.auth.authenticateHeaders(eve.headers))?.user.groups, []);
    await ctx.accounts.createGroup('climate', { users: ['eve'] });
    assert.deepEqual((await ctx.auth.authenticateHeaders(eve.headers))?.user.groups, ['climate']);
    await ctx.accounts.removeGroupMembers('climate', ['eve']);
    assert.deepEqual((await ctx.auth.authenticateHeaders(eve.headers))?.user.groups, []);

    await ctx.accounts.removeUser('eve');
    assert.equal((await get('/hub/api/user', eve.headers)).statusCode, 403);
  });

  it('notices revocations committed by another connection (e.g. the CLI)', async () => {
    const alice = await userWithToken(ctx, 'alice');
    assert.equal((await get('/hub/api/user', alice.headers)).statusCode, 200);
    const other = await openDatabase(`${ctx.stateDir}/hub.sqlite`);
    try {
      await other.deleteFrom('api_tokens').where('id', '=', alice.tokenId).execute();
    } finally {
      await other.destroy();
    }
    assert.equal((await get('/hub/api/user', alice.headers)).statusCode, 403);
  });

  it('never uses a cached token past its expiry', async () => {
    const u = await ctx.accounts.createUser('frank');
    const { token } = await ctx.auth.issueToken({ userId: u.id, scopes: ['inherit'], expiresInMs: 1000 });
    assert.ok(await ctx.auth.authenticateToken(token));
    ctx.clock.advance(999);
    assert.ok(await ctx.auth.authenticateToken(token));
    ctx.clock.advance(1);
    assert.equal(await ctx.auth.authenticateToken(token), null);
  });

  it('does not keep a result read while the token was being revoked', async () => {
    const alice = await userWithToken(ctx, 'alice');
    // Both start before either finishes: the lookup's first query runs before the revocation.
    const [during] = await Promise.all([ctx.auth.authenticateToken(alice.token), ctx.auth.revokeToken(alice.tokenId)]);
    assert.ok(during, 'the request already in flight was authenticated before the revocation');
    assert.equal(await ctx.auth.authenticateToken(alice.token), null);
  });
});
