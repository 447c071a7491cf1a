/**
 * The registration-and-approval flow over the API (esgf-compat.md §1) on the EUCP-SYN
 * fixtures: automatic approval, pending → approve by the group admin, reject, revoke and
 * withdraw; who may decide (others get 404); licence acceptance; notifications; the audit.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessChange } from '@eucp/hub/access/index';
import { sessionFor } from '@eucp/testing/hub-factory';
import { accessHarness, demoData, type AccessHarness } from './access-harness.js';

let data: Awaited<ReturnType<typeof demoData>>;
let h: AccessHarness;
let changes: AccessChange[];

const TAS = 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.tas.v20200101';
const PR = 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.pr.v20200101';
const RESEARCH = { group: 'CORDEX Research', accept_licence: 'cordex-nc-research-v1', purpose: 'Alpine precipitation study' };
const COMMERCIAL = { group: 'CORDEX Commercial', accept_licence: 'cordex-unrestricted-v1' };

before(async () => {
  data = await demoData();
});
after(async () => {
  await data?.remove();
});
beforeEach(async () => {
  h = await accessHarness(data.dir);
  changes = [];
  h.ctx.access.onChange((c) => changes.push(c));
});
afterEach(async () => {
  await h.close();
});

const decision = async (who: { authorization: string }, resource: string) =>
  (await h.call('GET', `/api/access/check?resource=${encodeURIComponent(resource)}`, who)).json().decision as string;
const notes = async (who: { authorization: string }) => (await h.call('GET', '/hub/api/eucp/notifications', who)).json();
const auditRows = async (q = '') => (await h.call('GET', `/hub/api/eucp/access/audit${q}`, h.as.alice)).json() as Array<Record<string, unknown>>;

describe('access requests', () => {
  it('CORDEX Commercial approves at once: bob reads tas (not pr) and is told to restart his server', async () => {
    assert.equal(await decision(h.as.bob, TAS), 'Deny');
    const res = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, COMMERCIAL);
    assert.equal(res.statusCode, 201);
    const r = res.json();
    assert.equal(r.state, 'approved');
    assert.equal(r.decided_by, 'system');
    assert.equal(r.licence.id, 'cordex-unrestricted-v1');
    assert.match(r.licence.sha256, /^[0-9a-f]{64}$/);
    assert.equal(await decision(h.as.bob, TAS), 'Permit');
    assert.equal(await decision(h.as.bob, PR), 'Deny');
    const n = await notes(h.as.bob);
    assert.equal(n.unread, 1);
    assert.equal(n.notifications[0].kind, 'access.request.approved');
    assert.match(n.notifications[0].body, /restart/);
    assert.deepEqual(changes, [{ user: 'bob', group: 'CORDEX Commercial', role: 'user', change: 'granted' }]);
    const again = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, COMMERCIAL);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().id, r.id);
    const audit = await auditRows(`?subject=bob`);
    assert.deepEqual(audit.map((a) => [a.action, a.actor]), [['approve', 'system'], ['request', 'bob']]);
    assert.equal((audit[1]!.details as Record<string, unknown>).licence_id, 'cordex-unrestricted-v1');
  });

  it('CORDEX Research: pending until alice (group admin) approves; notifications both ways; audit rows', async () => {
    const res = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, RESEARCH);
    assert.equal(res.statusCode, 201);
    const id = res.json().id as number;
    assert.equal(res.json().state, 'pending');
    const check = (await h.call('GET', `/api/access/check?resource=${encodeURIComponent(PR)}`, h.as.bob)).json();
    assert.equal(check.decision, 'Deny');
    assert.equal(check.grantable_by[0].membership, 'pending');
    assert.equal((await notes(h.as.bob)).notifications[0].kind, 'access.request.pending');
    const aliceNotes = await notes(h.as.alice);
    assert.equal(aliceNotes.unread, 1);
    assert.equal(aliceNotes.notifications[0].kind, 'access.request.new');
    assert.equal(aliceNotes.notifications[0].data.request_id, id);
    assert.match(aliceNotes.notifications[0].body, /Alpine/);

    const pending = (await h.call('GET', '/hub/api/eucp/access/requests?state=pending', h.as.alice)).json();
    assert.deepEqual(pending.map((p: { user: string }) => p.user).sort(), ['bob', 'dave']);
    const ok = await h.call('POST', `/hub/api/eucp/access/requests/${id}/approve`, h.as.alice, {});
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().state, 'approved');
    assert.equal(ok.json().decided_by, 'alice');
    assert.equal(await decision(h.as.bob, PR), 'Permit');
    assert.equal(await decision(h.as.bob, TAS), 'Permit');

    const bobNotes = await notes(h.as.bob);
    assert.deepEqual(bobNotes.notifications.map((n: { kind: string }) => n.kind), ['access.request.approved', 'access.request.pending']);
    assert.match(bobNotes.notifications[0].body, /alice approved/);
    assert.equal((await notes(h.as.alice)).unread, 0, 'the decision settles the admin notification');
    const audit = await auditRows(`?subject=bob&group=${encodeURIComponent('CORDEX Research')}`);
    assert.deepEqual(audit.map((a) => [a.action, a.actor, a.request_id]), [['approve', 'alice', id], ['request', 'bob', id]]);
    assert.deepEqual(changes.map((c) => c.change), ['requested', 'granted']);
    // Idempotent approval; rejecting an approved request is refused.
    assert.equal((await h.call('POST', `/hub/api/eucp/access/requests/${id}/approve`, h.as.alice)).statusCode, 200);
    assert.equal((await h.call('POST', `/hub/api/eucp/access/requests/${id}/reject`, h.as.alice)).statusCode, 400);
  });

  it('dave\'s fixture request is pending; a hub admin (not group admin) may approve it too', async () => {
    const [daves] = (await h.call('GET', '/hub/api/eucp/access/requests?state=pending&group=CORDEX%20Research', h.as.alice)).json();
    assert.equal(daves.user, 'dave');
    assert.equal(await decision(h.as.dave, TAS), 'Deny');
    const { headers: root } = await (await import('@eucp/testing/hub-factory')).userWithToken(h.ctx, 'root', { admin: true });
    assert.equal((await h.call('POST', `/hub/api/eucp/access/requests/${daves.id}/approve`, root)).statusCode, 200);
    assert.equal(await decision(h.as.dave, TAS), 'Permit');
  });

  it('reject: the requester is told why, the membership is gone, a new request is possible', async () => {
    const id = (await h.call('POST', '/hub/api/eucp/access/requests', h.as.erin, RESEARCH)).json().id;
    const res = await h.call('POST', `/hub/api/eucp/access/requests/${id}/reject`, h.as.alice, { reason: 'Commercial use is not covered' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().state, 'rejected');
    assert.equal(res.json().reason, 'Commercial use is not covered');
    assert.equal(await decision(h.as.erin, PR), 'Deny');
    const check = (await h.call('GET', `/api/access/check?resource=${encodeURIComponent(PR)}`, h.as.erin)).json();
    assert.equal(check.grantable_by[0].membership, 'none');
    const n = (await notes(h.as.erin)).notifications[0];
    assert.equal(n.kind, 'access.request.rejected');
    assert.match(n.body, /Commercial use is not covered/);
    assert.deepEqual((await auditRows('?action=reject')).map((a) => [a.subject, a.actor]), [['erin', 'alice']]);
    const again = await h.call('POST', '/hub/api/eucp/access/requests', h.as.erin, RESEARCH);
    assert.equal(again.statusCode, 201);
    assert.notEqual(again.json().id, id);
  });

  it('others may not decide: 404 for a non-admin (also on their own request) and for unknown ids', async () => {
    const id = (await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, RESEARCH)).json().id;
    for (const who of [h.as.carol, h.as.erin, h.as.bob]) {
      const res = await h.call('POST', `/hub/api/eucp/access/requests/${id}/approve`, who);
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().code, 'NOT_FOUND');
    }
    assert.equal((await h.call('POST', `/hub/api/eucp/access/requests/${id}/reject`, h.as.carol)).statusCode, 404);
    assert.equal((await h.call('POST', '/hub/api/eucp/access/requests/99999/approve', h.as.alice)).statusCode, 404);
    assert.equal((await h.call('POST', '/hub/api/eucp/access/requests/abc/approve', h.as.alice)).statusCode, 404);
    assert.deepEqual((await h.call('GET', '/hub/api/eucp/access/requests?state=pending', h.as.carol)).json(), []);
    assert.equal((await h.call('GET', '/hub/api/eucp/access/audit', h.as.carol)).statusCode, 403);
    assert.equal(await decision(h.as.bob, PR), 'Deny');
  });

  it('a request without the licence accepted is refused with 400 and says what to do', async () => {
    for (const body of [{ group: 'CORDEX Research' }, { group: 'CORDEX Research', accept_licence: 'cordex-unrestricted-v1' }]) {
      const res = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, body);
      assert.equal(res.statusCode, 400);
      const e = res.json();
      assert.equal(e.code, 'LICENCE_NOT_ACCEPTED');
      assert.match(e.message, /requires accepting its licence cordex-nc-research-v1/);
      assert.match(e.message, /"accept_licence": "cordex-nc-research-v1"/);
      assert.equal(e.licence_id, 'cordex-nc-research-v1');
    }
    const changed = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { ...RESEARCH, licence_sha256: '0'.repeat(64) });
    assert.equal(changed.statusCode, 400);
    assert.match(changed.json().message, /has changed since you read it/);
    const group = (await h.call('GET', '/hub/api/eucp/access/groups/CORDEX%20Research', h.as.bob)).json();
    assert.match(group.licence.text, /non-commercial research/);
    const ok = await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { ...RESEARCH, licence_sha256: group.licence.sha256 });
    assert.equal(ok.statusCode, 201);
    assert.equal((await h.call('GET', '/hub/api/eucp/access/me', h.as.bob)).json().requests.length, 1);
    // Other bad bodies.
    assert.equal((await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { group: 'Nope', accept_licence: 'x' })).statusCode, 404);
    assert.equal((await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { ...COMMERCIAL, role: 'super' })).statusCode, 400);
    assert.equal((await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { ...COMMERCIAL, extra: 1 })).statusCode, 400);
    assert.equal((await h.call('POST', '/hub/api/eucp/access/requests', {}, COMMERCIAL)).statusCode, 403);
  });

  it('revoke by the group admin; the member may leave; withdrawal of one\'s own pending request', async () => {
    const carols = (await h.call('GET', '/hub/api/eucp/access/me', h.as.carol)).json();
    assert.deepEqual(carols.memberships.map((m: { group: string; state: string }) => [m.group, m.state]), [['CORDEX Research', 'approved']]);
    const [carolReq] = carols.requests;
    assert.equal(await decision(h.as.carol, PR), 'Permit');
    const rev = await h.call('POST', `/hub/api/eucp/access/requests/${carolReq.id}/revoke`, h.as.alice, { reason: 'Project ended' });
    assert.equal(rev.json().state, 'revoked');
    assert.equal(await decision(h.as.carol, PR), 'Deny');
    assert.equal((await notes(h.as.carol)).notifications[0].kind, 'access.membership.revoked');
    const erinReq = (await h.call('GET', '/hub/api/eucp/access/me', h.as.erin)).json().requests[0];
    assert.equal((await h.call('POST', `/hub/api/eucp/access/requests/${erinReq.id}/revoke`, h.as.erin)).json().state, 'revoked');
    assert.equal(await decision(h.as.erin, TAS), 'Deny');
    const pend = (await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, RESEARCH)).json();
    assert.equal((await h.call('POST', `/hub/api/eucp/access/requests/${pend.id}/revoke`, h.as.bob)).json().state, 'withdrawn');
    assert.deepEqual(changes.map((c) => [c.user, c.change]), [['carol', 'revoked'], ['erin', 'revoked'], ['bob', 'requested'], ['bob', 'revoked']]);
    assert.deepEqual((await auditRows('?action=revoke')).map((a) => [a.subject, a.actor]), [['erin', 'erin'], ['carol', 'alice']]);
  });

  it('notifications: mark one read, 404 for someone else\'s, mark all read; cookie writes need the CSRF header', async () => {
    await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, RESEARCH);
    await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, COMMERCIAL);
    const list = await notes(h.as.bob);
    assert.equal(list.unread, 2);
    const [first] = list.notifications;
    assert.equal((await h.call('POST', `/hub/api/eucp/notifications/${first.id}/read`, h.as.erin)).statusCode, 404);
    const read = await h.call('POST', `/hub/api/eucp/notifications/${first.id}/read`, h.as.bob);
    assert.equal(read.json().read, true);
    assert.equal((await h.call('GET', '/hub/api/eucp/notifications?unread=1', h.as.bob)).json().notifications.length, 1);
    const session = await sessionFor(h.ctx, h.ids.bob);
    const noCsrf = await h.call('POST', '/hub/api/eucp/notifications/read-all', { cookie: session.cookie });
    assert.equal(noCsrf.statusCode, 403);
    assert.equal(noCsrf.json().code, 'CSRF_FAILED');
    const withCsrf = await h.call('POST', '/hub/api/eucp/notifications/read-all', { cookie: session.cookie, 'x-xsrftoken': session.csrfToken });
    assert.deepEqual(withCsrf.json(), { marked: 1 });
    // A session also identifies the caller for check (no CSRF needed for GET).
    assert.equal((await h.call('GET', `/api/access/check?resource=${encodeURIComponent(TAS)}`, { cookie: session.cookie })).json().decision, 'Permit');
  });

  it('groups: visible ones to everyone, with admins and the caller\'s memberships; audit of reads', async () => {
    const groups = (await h.call('GET', '/hub/api/eucp/access/groups')).json();
    assert.deepEqual(groups.map((g: { name: string; admins: string[] }) => [g.name, g.admins]), [['CORDEX Commercial', []], ['CORDEX Research', ['alice']]]);
    assert.equal(groups[1].licence.text, undefined);
    const aliceView = (await h.call('GET', '/hub/api/eucp/access/groups', h.as.alice)).json();
    assert.deepEqual(aliceView[1].memberships, [{ role: 'admin', approved: true }]);
    assert.equal(aliceView[1].can_decide, true);
    await h.ctx.access.upsertGroup({ name: 'Hidden', visible: false, automaticApproval: true, licenceId: null, licenceText: null });
    assert.equal((await h.call('GET', '/hub/api/eucp/access/groups', h.as.bob)).json().length, 2);
    assert.equal((await h.call('POST', '/hub/api/eucp/access/requests', h.as.bob, { group: 'Hidden' })).statusCode, 404);
    const carol = { id: h.ids.carol, name: 'carol' as never };
    const read = { resource: PR, file: 'cordex/pr.nc', bytes: 10, via: 'test' };
    await h.ctx.access.recordFileRead(carol, { ...read, range: 'bytes=0-9' });
    await h.ctx.access.recordFileRead(carol, { ...read, range: 'bytes=10-19' });
    await h.ctx.access.recordFileRead(carol, { ...read, range: null });
    const reads = await auditRows('?action=read');
    assert.deepEqual(reads.map((a) => [a.subject, a.group, a.resource, (a.details as { range?: string }).range]),
      [['carol', 'CORDEX Research', PR, undefined], ['carol', 'CORDEX Research', PR, 'bytes=0-9']], 'range reads within the window once, whole reads always');
  });
});
