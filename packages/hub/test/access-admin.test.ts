/**
 * Administering ESGF access without editing files: hub admins create and change access
 * groups (licence versions included), group admins grant memberships directly, and hub
 * admins reload the policy files — a broken one is refused naming it and changes nothing.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AccessChange } from '@eucp/hub/access/index';
import { userWithToken } from '@eucp/testing/hub-factory';
import { accessHarness, demoData, type AccessHarness } from './access-harness.js';

const PR = 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.pr.v20200101';

let data: Awaited<ReturnType<typeof demoData>>;
let h: AccessHarness;
let admin: { authorization: string };
let changes: AccessChange[];
let policyFile: string;

before(async () => {
  data = await demoData();
});
after(async () => {
  await data?.remove();
});
beforeEach(async () => {
  policyFile = path.join(data.dir, `policies-${Date.now()}.xml`);
  await copyFile(path.join(data.dir, 'access', 'policies.xml'), policyFile);
  h = await accessHarness(data.dir, { policyFiles: [policyFile] });
  admin = (await userWithToken(h.ctx, 'root', { admin: true })).headers;
  changes = [];
  h.ctx.access.onChange((c) => changes.push(c));
});
afterEach(async () => {
  await h.close();
});

const decision = async (who: { authorization: string } | Record<string, never>, resource: string) =>
  (await h.call('GET', `/api/access/check?resource=${encodeURIComponent(resource)}`, who)).json().decision as string;

describe('access group administration', () => {
  it('a hub admin creates a group with a licence; a changed licence text must be accepted again', async () => {
    const created = await h.call('PUT', '/hub/api/eucp/access/groups/Ice%20Sheet%20Modellers', admin, {
      description: 'Greenland runs', automatic_approval: true, licence_id: 'ice-v1', licence_text: 'Cite the ice sheet papers.',
    });
    assert.equal(created.statusCode, 201, created.body);
    const g = created.json();
    assert.equal(g.name, 'Ice Sheet Modellers');
    assert.equal(g.licence.text, 'Cite the ice sheet papers.');
    const firstSha = g.licence.sha256 as string;

    const changed = await h.call('PUT', '/hub/api/eucp/access/groups/Ice%20Sheet%20Modellers', admin, {
      licence_id: 'ice-v1', licence_text: 'Cite the ice sheet papers, and share derived data.',
    });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal(changed.json().description, 'Greenland runs', 'fields not given are kept');
    assert.notEqual(changed.json().licence.sha256, firstSha);

    const stale = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { group: 'Ice Sheet Modellers', accept_licence: 'ice-v1', licence_sha256: firstSha });
    assert.equal(stale.statusCode, 400);
    assert.match(stale.json().message, /has changed since you read it/);
    const ok = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { group: 'Ice Sheet Modellers', accept_licence: 'ice-v1', licence_sha256: changed.json().licence.sha256 });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().state, 'approved');

    const audit = (await h.call('GET', '/hub/api/eucp/access/audit?action=group', admin)).json() as Array<{ actor: string; group: string }>;
    assert.deepEqual(audit.map((a) => [a.actor, a.group]), [['root', 'Ice Sheet Modellers'], ['root', 'Ice Sheet Modellers']]);
  });

  it('only hub admins create groups, and bad input names the field', async () => {
    const byBob = await h.call('PUT', '/hub/api/eucp/access/groups/Mine', h.as.bob, { visible: true });
    assert.equal(byBob.statusCode, 403);
    assert.match(byBob.json().message, /hub administrators/);
    const half = await h.call('PUT', '/hub/api/eucp/access/groups/Mine', admin, { licence_id: 'x' });
    assert.equal(half.statusCode, 400);
    assert.match(half.json().message, /licence_id and licence_text together/);
    const unknown = await h.call('PUT', '/hub/api/eucp/access/groups/Mine', admin, { visibel: true });
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.json().message, /visibel/);
    const list = (await h.call('GET', '/hub/api/eucp/access/groups', admin)).json() as Array<{ name: string }>;
    assert.ok(!list.some((x) => x.name === 'Mine'), 'nothing was created');
  });

  it("a group admin grants a membership directly; others cannot, and the grant is audited and announced", async () => {
    assert.equal(await decision(h.as.bob, PR), 'Deny');
    const byBob = await h.call('POST', '/hub/api/eucp/access/groups/CORDEX%20Research/members', h.as.bob, { user: 'bob' });
    assert.equal(byBob.statusCode, 403);
    const nobody = await h.call('POST', '/hub/api/eucp/access/groups/CORDEX%20Research/members', h.as.alice, { user: 'nobody' });
    assert.equal(nobody.statusCode, 404);

    const granted = await h.call('POST', '/hub/api/eucp/access/groups/CORDEX%20Research/members', h.as.alice, { user: 'bob' });
    assert.equal(granted.statusCode, 201, granted.body);
    assert.equal(granted.json().state, 'approved');
    assert.equal(await decision(h.as.bob, PR), 'Permit');
    assert.deepEqual(changes, [{ user: 'bob', group: 'CORDEX Research', role: 'user', change: 'granted' }]);
    const audit = (await h.call('GET', '/hub/api/eucp/access/audit?subject=bob', h.as.alice)).json() as Array<{ actor: string; action: string }>;
    assert.deepEqual(audit[0] && [audit[0].actor, audit[0].action], ['alice', 'approve']);
  });
});

describe('policy reload', () => {
  it('puts edited policies in force for every later decision and marks running servers outdated', async () => {
    assert.equal(await decision({}, PR), 'Challenge');
    const xml = await readFile(policyFile, 'utf8');
    await writeFile(policyFile, xml.replace('<policy resource="^CMIP6\\."', '<policy resource="\\.pr\\.v\\d{8}$" attribute_type="ANY" attribute_value="" action="Read"/>\n  <policy resource="^CMIP6\\."'));
    const byBob = await h.call('POST', '/hub/api/eucp/access/policies/reload', h.as.bob);
    assert.equal(byBob.statusCode, 403);
    assert.equal(await decision({}, PR), 'Challenge', 'a refused reload changes nothing');

    const res = await h.call('POST', '/hub/api/eucp/access/policies/reload', admin);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().policies, 5);
    assert.equal(await decision({}, PR), 'Permit');
    assert.deepEqual(changes.map((c) => [c.user, c.change]), [['*', 'policies']]);
  });

  it('refuses a broken policy file naming the regex, and the policies in force stay', async () => {
    const xml = await readFile(policyFile, 'utf8');
    await writeFile(policyFile, xml.replace('<policy resource="^CMIP6\\."', '<policy resource="^cordex.(" attribute_type="ANY" attribute_value="" action="Read"/>\n  <policy resource="^CMIP6\\."'));
    const res = await h.call('POST', '/hub/api/eucp/access/policies/reload', admin);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json().message, /\^cordex\.\(/);
    assert.match(res.json().message, new RegExp(path.basename(policyFile).replace(/\./g, '\\.')));
    assert.equal(await decision({}, PR), 'Challenge');
    assert.equal(await decision(h.as.carol, PR), 'Permit');
    assert.deepEqual(changes, []);
  });
});
