import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@eucp/core';
import { createTestContext, insertServer, type TestContext } from '@eucp/testing/hub-factory';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof AppError && err.code === code);
}

describe('Accounts', () => {
  let ctx: TestContext;
  beforeEach(async () => { ctx = await createTestContext(); });
  afterEach(async () => { await ctx.close(); });

  it('creates users, refuses duplicates and invalid names', async () => {
    const alice = await ctx.accounts.createUser('alice', { password: 'alice-secret-1' });
    assert.equal(alice.name, 'alice');
    assert.equal(alice.admin, false);
    assert.equal(alice.hasPassword, true);
    await rejectsWith(ctx.accounts.createUser('alice'), 'NAME_TAKEN');
    for (const bad of ['Alice', '1abc', 'a b', '../x', '', 'x'.repeat(33)]) await rejectsWith(ctx.accounts.createUser(bad), 'INVALID_NAME');
    await rejectsWith(ctx.accounts.createUser('bob', { password: 'short' }), 'INVALID_INPUT');
    assert.deepEqual((await ctx.accounts.listUsers()).map((u) => u.name), ['alice']);
    await rejectsWith(ctx.accounts.getUser('nobody'), 'NOT_FOUND');
  });

  it('verifies passwords and stores only argon2id hashes', async () => {
    await ctx.accounts.createUser('alice', { password: 'alice-secret-1' });
    assert.equal((await ctx.accounts.verifyPassword('alice', 'alice-secret-1'))?.name, 'alice');
    assert.equal(await ctx.accounts.verifyPassword('alice', 'wrong-password'), null);
    assert.equal(await ctx.accounts.verifyPassword('nobody', 'alice-secret-1'), null);
    const row = await ctx.db.selectFrom('users').select('password_hash').where('name', '=', 'alice').executeTakeFirstOrThrow();
    assert.match(row.password_hash ?? '', /^\$argon2id\$/);
    await ctx.accounts.setPassword('alice', 'a-new-password');
    assert.equal(await ctx.accounts.verifyPassword('alice', 'alice-secret-1'), null);
    assert.ok(await ctx.accounts.verifyPassword('alice', 'a-new-password'));
  });

  it('never removes or demotes the last admin', async () => {
    await ctx.accounts.createUser('root', { admin: true });
    await rejectsWith(ctx.accounts.removeUser('root'), 'LAST_ADMIN');
    await rejectsWith(ctx.accounts.setAdmin('root', false), 'LAST_ADMIN');
    await ctx.accounts.createUser('second', { admin: true });
    await ctx.accounts.setAdmin('root', false);
    assert.equal((await ctx.accounts.getUser('root')).admin, false);
    await rejectsWith(ctx.accounts.removeUser('second'), 'LAST_ADMIN');
    assert.equal(await ctx.accounts.countAdmins(), 1);
  });

  it('renames, but not onto a taken name nor while a server runs', async () => {
    const a = await ctx.accounts.createUser('alice');
    await ctx.accounts.createUser('bob');
    await rejectsWith(ctx.accounts.renameUser('alice', 'bob'), 'NAME_TAKEN');
    await rejectsWith(ctx.accounts.renameUser('alice', 'Bad Name'), 'INVALID_NAME');
    await insertServer(ctx, a.id, { state: 'running' });
    await rejectsWith(ctx.accounts.renameUser('alice', 'alicia'), 'INVALID_INPUT');
    await ctx.db.updateTable('servers').set({ state: 'stopped' }).execute();
    assert.equal((await ctx.accounts.renameUser('alice', 'alicia')).id, a.id);
    assert.equal(await ctx.accounts.findUser('alice'), null);
  });

  it('manages groups atomically', async () => {
    await ctx.accounts.createUser('alice');
    await ctx.accounts.createUser('bob');
    const g = await ctx.accounts.createGroup('climate', { users: ['alice'] });
    assert.deepEqual(g.users, ['alice']);
    await rejectsWith(ctx.accounts.createGroup('climate'), 'NAME_TAKEN');
    await rejectsWith(ctx.accounts.createGroups(['ocean', 'climate']), 'NAME_TAKEN');
    assert.equal(await ctx.accounts.findGroup('ocean'), null, 'bulk create is all or nothing');
    await rejectsWith(ctx.accounts.addGroupMembers('climate', ['bob', 'nobody']), 'INVALID_INPUT');
    assert.deepEqual(await ctx.accounts.groupMembers('climate'), ['alice'], 'nothing changed');
    await ctx.accounts.addGroupMembers('climate', ['bob', 'bob']);
    assert.deepEqual(await ctx.accounts.groupMembers('climate'), ['alice', 'bob']);
    await ctx.accounts.removeGroupMembers('climate', ['alice']);
    const bob = await ctx.accounts.getUser('bob');
    assert.deepEqual(await ctx.accounts.groupsOf(bob.id), ['climate']);
    await ctx.accounts.setGroupProperties('climate', { quota: 5 });
    assert.deepEqual((await ctx.accounts.getGroup('climate')).properties, { quota: 5 });
    await rejectsWith(ctx.accounts.setGroupProperties('climate', [1]), 'INVALID_INPUT');
    await ctx.accounts.deleteGroup('climate');
    await rejectsWith(ctx.accounts.deleteGroup('climate'), 'NOT_FOUND');
    assert.deepEqual(await ctx.accounts.groupsOf(bob.id), []);
  });

  it('writes an audit row for every mutation, without secrets', async () => {
    await ctx.accounts.createUser('alice', { password: 'alice-secret-1', actor: 'root' });
    await ctx.accounts.setPassword('alice', 'another-secret-2', 'root');
    await ctx.accounts.createGroup('g1', { users: ['alice'], actor: 'root' });
    await ctx.accounts.removeUser('alice', 'root');
    const rows = await ctx.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
    assert.deepEqual(rows.map((r) => [r.actor, r.action, r.target]), [
      ['root', 'user.create', 'alice'], ['root', 'user.password', 'alice'], ['root', 'group.create', 'g1'], ['root', 'user.remove', 'alice'],
    ]);
    const text = JSON.stringify(rows);
    assert.ok(!text.includes('secret'), 'no password in the audit log');
    assert.ok(!text.includes('argon2'), 'no hash in the audit log');
  });

  it('ensureInitialAdmin creates admin once, with a working one-time password', async () => {
    const first = await ctx.accounts.ensureInitialAdmin();
    assert.ok(first);
    assert.equal(first.name, 'admin');
    assert.ok(first.password.length >= 20);
    assert.equal((await ctx.accounts.verifyPassword('admin', first.password))?.admin, true);
    assert.equal(await ctx.accounts.ensureInitialAdmin(), null);
  });

  it('ensureInitialAdmin still creates admin when the only admins cannot log in (imported without a password)', async () => {
    await ctx.accounts.createUser('alice', { admin: true });
    const r = await ctx.accounts.ensureInitialAdmin();
    assert.ok(r, 'someone can log in as administrator');
    assert.equal((await ctx.accounts.verifyPassword('admin', r.password))?.admin, true);
    assert.equal(await ctx.accounts.ensureInitialAdmin(), null);
  });

  it('ensureInitialAdmin promotes an existing non-admin "admin" account', async () => {
    await ctx.accounts.createUser('admin', { password: 'old-password-1' });
    const r = await ctx.accounts.ensureInitialAdmin();
    assert.ok(r);
    const u = await ctx.accounts.verifyPassword('admin', r.password);
    assert.equal(u?.admin, true);
    assert.equal(await ctx.accounts.verifyPassword('admin', 'old-password-1'), null);
  });
});
