/**
 * The EUCP-SYN access oracles (expected.json `access`, synthetic-climate-data.md §3.4):
 * every entry's decision and grantable_by, through the pure `decide` (policies from both the
 * XML and the JSON file) and through `GET /api/access/check` on a test hub that imported
 * the fixture groups and users at its first start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { AppError, type AccessMembership } from '@eucp/core';
import { AccessService, loadPolicySet } from '@eucp/hub/access/index';
import { groupTerms } from '@eucp/hub/access/decisions';
import { createTestContext } from '@eucp/testing/hub-factory';
import { accessHarness, demoData, type AccessHarness, type AccessOracle } from './access-harness.js';

let data: Awaited<ReturnType<typeof demoData>>;
let h: AccessHarness;

before(async () => {
  data = await demoData();
  h = await accessHarness(data.dir);
});
after(async () => {
  await h?.close();
  await data?.remove();
});

const label = (o: AccessOracle) => `${o.user ?? 'anonymous'} ${o.action} ${o.resource}`;

describe('access oracles', () => {
  it('the oracle covers every fixture user but alice, and anonymous', () => {
    assert.deepEqual([...new Set(data.oracles.map((o) => o.user))].sort(), ['bob', 'carol', 'dave', 'erin', null].sort());
    assert.ok(data.oracles.length >= 25);
  });

  for (const file of ['policies.xml', 'policies.json']) {
    it(`decide() answers every oracle with the policies of ${file}`, async () => {
      const policies = loadPolicySet([path.join(data.dir, 'access', file)], { unmatched: 'Deny', groupAdminsRead: true });
      const groups = (await h.ctx.access.listGroups(null));
      const terms = groupTerms(groups);
      for (const o of data.oracles) {
        const memberships: AccessMembership[] = o.user ? await h.ctx.access.membershipsOf(h.ids[o.user as 'bob']) : [];
        const r = policies.decide(o.resource, o.action, o.user, memberships, terms);
        assert.equal(r.decision, o.decision, label(o));
        assert.deepEqual(r.grantableBy.map((g) => ({
          group: g.group, role: g.role, automatic_approval: g.automaticApproval, licence_id: g.licenceId, membership: g.membership,
        })), o.grantable_by, label(o));
      }
    });
  }

  it('GET /api/access/check answers every oracle (tokens; anonymous without credentials)', async () => {
    for (const o of data.oracles) {
      const headers = o.user ? h.as[o.user as 'bob'] : {};
      const res = await h.call('GET', `/api/access/check?resource=${encodeURIComponent(o.resource)}&action=${o.action}`, headers);
      assert.equal(res.statusCode, 200, label(o));
      const body = res.json();
      assert.equal(body.decision, o.decision, label(o));
      assert.deepEqual(body.grantable_by, o.grantable_by, label(o));
      assert.equal(body.user, o.user);
      assert.equal(body.resource, o.resource);
    }
  });

  it('check names the matched policies, defaults to Read, and refuses bad input with 400', async () => {
    const tas = data.oracles.find((o) => o.user === 'bob' && o.resource.includes('.tas.') && o.resource.startsWith('cordex'))!;
    const body = (await h.call('GET', `/hub/api/eucp/access/check?resource=${encodeURIComponent(tas.resource)}`, h.as.bob)).json();
    assert.equal(body.action, 'Read');
    assert.deepEqual(body.matched_policies.map((p: { attribute_type: string }) => p.attribute_type), ['CORDEX Research', 'CORDEX Commercial']);
    const missing = await h.call('GET', '/api/access/check');
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json().message, /resource/);
    const badAction = await h.call('GET', '/api/access/check?resource=x&action=Delete');
    assert.equal(badAction.statusCode, 400);
    assert.match(badAction.json().message, /Read or Write/);
    // Write on CORDEX: only publishers of CORDEX Research; alice (group admin) is not one.
    const write = (await h.call('GET', `/api/access/check?resource=${encodeURIComponent(tas.resource)}&action=Write`, h.as.alice)).json();
    assert.equal(write.decision, 'Deny');
    assert.deepEqual(write.grantable_by.map((g: { role: string }) => g.role), ['publisher']);
  });

  it('alice, admin of CORDEX Research, reads its data (access.groupAdminsRead)', async () => {
    const pr = data.oracles.find((o) => o.resource.startsWith('cordex') && o.resource.includes('.pr.'))!;
    const res = (await h.call('GET', `/api/access/check?resource=${encodeURIComponent(pr.resource)}`, h.as.alice)).json();
    assert.equal(res.decision, 'Permit');
  });

  it('readers agree with check: erin reads tas, not pr, and may list both (visible groups)', async () => {
    const reader = await h.ctx.access.reader({ id: h.ids.erin, name: 'erin' });
    const cordex = [...new Set(data.oracles.map((o) => o.resource))];
    for (const id of cordex) {
      const expected = data.oracles.find((o) => o.user === 'erin' && o.resource === id)!;
      assert.equal(reader.canRead(id), expected.decision === 'Permit', id);
      assert.equal(reader.canList(id), true, id);
    }
    const readable = await h.ctx.access.readableDatasets({ id: h.ids.erin, name: 'erin' }, cordex);
    assert.deepEqual([...readable].sort(), cordex.filter((id) => !id.includes('.pr.')).sort());
    const anon = await h.ctx.access.reader(null);
    assert.equal(anon.canRead(cordex.find((id) => id.startsWith('CMIP6'))!), true);
    assert.equal(anon.canRead(cordex.find((id) => id.startsWith('cordex'))!), false);
  });
});

describe('policies at load time', () => {
  it('a broken policy regex stops the access service, naming the policy and the regex', async () => {
    const file = path.join(data.dir, 'broken-policies.xml');
    await writeFile(file, '<policies>\n  <policy resource="^CMIP6\\." attribute_type="ANY" attribute_value="" action="Read"/>\n'
      + '  <policy resource="^cordex\\.(output" attribute_type="CORDEX Research" attribute_value="user" action="Read"/>\n</policies>\n');
    // The hub refuses to start (createTestContext builds the AccessService as createHub does).
    await assert.rejects(createTestContext({ config: { dataDir: data.dir, access: { policyFiles: [file] } } }), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'ACCESS_POLICY_INVALID');
      assert.match(err.message, /broken-policies\.xml line 3/);
      assert.ok(err.message.includes('"^cordex\\\\.(output"'), err.message);
      assert.equal(err.fields.resource, '^cordex\\.(output');
      return true;
    });
  });

  it('an unreadable policy file is a configuration error naming access.policyFiles', async () => {
    await assert.rejects(createTestContext({ config: { dataDir: data.dir, access: { policyFiles: [path.join(data.dir, 'nope.xml')] } } }),
      (err: unknown) => err instanceof AppError && err.code === 'CONFIG_INVALID' && err.fields.key === 'access.policyFiles');
  });

  it('the first start imports the groups once; without importFixtureUsers no accounts are created', async () => {
    const ctx = await createTestContext({ config: { dataDir: data.dir } });
    try {
      const s = await AccessService.create({ db: ctx.db, config: ctx.config, log: ctx.log, accounts: ctx.accounts });
      const groups = await s.listGroups(null);
      assert.deepEqual(groups.map((g) => [g.name, g.automaticApproval, g.licenceId]),
        [['CORDEX Commercial', true, 'cordex-unrestricted-v1'], ['CORDEX Research', false, 'cordex-nc-research-v1']]);
      assert.match(groups[1]!.licenceText!, /non-commercial/);
      assert.equal(await ctx.accounts.findUser('bob'), null);
      assert.equal(await s.firstStart(), false);
      await s.upsertGroup({ ...groups[0]!, description: 'changed' });
      await AccessService.create({ db: ctx.db, config: ctx.config, log: ctx.log });
      assert.equal((await s.getGroup('CORDEX Commercial', null)).description, 'changed');
    } finally {
      await ctx.close();
    }
  });
});
