/**
 * The catalog's visibility masks are cached per kind of caller (decisions over every
 * distinct data set id are the cost at a million records), and the cache never answers for
 * a caller whose access differs: a grant, a policy reload or a new catalog generation make
 * a new mask, equal to deciding afresh.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import type { AuthContext } from '@eucp/hub/auth/types';
import { GenerationalEsgfIndexProvider } from '@eucp/hub/catalog/esgf-index';
import { accessVisibilityFilter } from '@eucp/hub/catalog/visibility';
import { userWithToken } from '@eucp/testing/hub-factory';
import { accessHarness, demoData, type AccessHarness } from './access-harness.js';

let data: Awaited<ReturnType<typeof demoData>>;
let h: AccessHarness;

before(async () => { data = await demoData(); });
after(async () => { await data?.remove(); });
beforeEach(async () => {
  const policies = path.join(data.dir, `policies-${Date.now()}.xml`);
  await copyFile(path.join(data.dir, 'access', 'policies.xml'), policies);
  h = await accessHarness(data.dir, { policyFiles: [policies] });
  await h.ctx.catalog.scan();
});
afterEach(async () => { await h.close(); });

const callerOf = async (name: string): Promise<AuthContext> => {
  const u = await h.ctx.accounts.getUser(name);
  return { user: { id: u.id, name: u.name } } as unknown as AuthContext;
};

describe('visibility masks', () => {
  it('warming a new catalog snapshot decides the anonymous and no-membership callers\' first search ahead of it', async () => {
    const filter = accessVisibilityFilter(h.ctx.access);
    const snapshot = new GenerationalEsgfIndexProvider(h.ctx.catalog).current();
    const index = snapshot.datasets.index;
    let decided = 0;
    const matchWhere = index.matchWhere.bind(index);
    index.matchWhere = (field, pred) => { decided++; return matchWhere(field, pred); };
    await filter.warm(snapshot);
    assert.equal(decided, 2);
    await userWithToken(h.ctx, 'frank');
    for (const caller of [null, await callerOf('frank'), await callerOf('bob')]) {
      await filter({ caller, type: 'Dataset', corpus: snapshot.datasets, purpose: 'list' });
    }
    assert.equal(decided, 2, 'anonymous, and users without memberships (frank, bob), come from the cache');
    await filter({ caller: await callerOf('carol'), type: 'Dataset', corpus: snapshot.datasets, purpose: 'list' });
    assert.equal(decided, 3, 'carol, a member of groups, is decided at her first search');
  });

  it('are computed once per kind of caller and always equal a fresh decision', async () => {
    const filter = accessVisibilityFilter(h.ctx.access);
    const corpus = new GenerationalEsgfIndexProvider(h.ctx.catalog).current().datasets;
    const mask = async (name: string | null, purpose: 'list' | 'read' = 'read') =>
      (await filter({ caller: name ? await callerOf(name) : null, type: 'Dataset', corpus, purpose }))!;
    const fresh = async (name: string) => {
      const reader = await h.ctx.access.reader({ id: h.ids[name as 'bob'], name: name as never });
      return corpus.index.matchWhere('instance_id', (id) => reader.canRead(id));
    };

    const bob = await mask('bob');
    assert.equal(await mask('bob'), bob, 'the same caller again: the cached mask');
    await userWithToken(h.ctx, 'frank');
    assert.equal(await mask('frank'), bob, 'another user with the same (no) memberships shares it');
    assert.notEqual(await mask(null), bob, 'anonymous callers are decided apart');
    assert.notEqual(await mask('bob', 'list'), bob, 'list and read are decided apart');
    assert.deepEqual(bob, await fresh('bob'));

    const granted = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { group: 'CORDEX Commercial', accept_licence: 'cordex-unrestricted-v1' });
    assert.equal(granted.json().state, 'approved');
    const after = await mask('bob');
    assert.notEqual(after, bob, 'a grant changes the mask at once');
    assert.deepEqual(after, await fresh('bob'));
    assert.notDeepEqual(after, bob);
    assert.equal(await mask('frank'), bob, 'and only for the user granted');

    const root = (await userWithToken(h.ctx, 'root', { admin: true })).headers;
    assert.equal((await h.call('POST', '/hub/api/eucp/access/policies/reload', root)).statusCode, 200);
    const reloaded = await mask('frank');
    assert.notEqual(reloaded, bob, 'reloaded policies are decided afresh');
    assert.deepEqual(reloaded, bob, '(the same files decide the same)');
  });
});
