/**
 * The registration-and-approval flow of esgf-compat.md §1: request (licence accepted) →
 * automatic approval or pending → a group admin approves or rejects → later revoked or
 * withdrawn. Each step is one transaction that keeps the request, the membership (the ESGF
 * permission), the notifications and the audit trail consistent; listeners hear of it after
 * the commit.
 */
import { AppError, type UserName } from '@eucp/core';
import type { Db } from '../db/index.js';
import { isUniqueViolation } from '../accounts/audit.js';
import * as store from './store.js';
import type { AccessActor, AccessChange, AccessGroup, AccessRequest } from './types.js';

/** Roles a user may ask for; `user` is the one automatic approval applies to. */
export const REQUESTABLE_ROLES: readonly string[] = ['user', 'publisher', 'admin'];

/** What a requester sends. */
export interface RequestInput {
  group: string;
  /** Default `user`. */
  role?: string | undefined;
  /** Id of the group's licence, meaning "I have read and accept it"; required when the group has a licence. */
  acceptLicence?: string | undefined;
  /** The licence version (sha256) the requester read; refused if the licence changed since. */
  licenceSha256?: string | undefined;
  purpose?: string | undefined;
}

type Decision = 'approve' | 'reject' | 'revoke';

const ref = (id: number): string => `access_request:${id}`;
const RESTART_HINT = 'The data appears in your sandbox (/data) when your server next starts: restart it from the hub home page if it is running.';

export class RequestWorkflow {
  constructor(private readonly db: Db, private readonly now: () => number, private readonly emit: (c: AccessChange) => void) {}

  async request(actor: AccessActor, input: RequestInput): Promise<{ request: AccessRequest; created: boolean }> {
    const group = await store.groupByName(this.db, input.group);
    const mine = group ? (await store.membershipsOf(this.db, actor.id)).filter((m) => m.groupId === group.id) : [];
    if (!group || (!group.visible && !actor.hubAdmin && mine.length === 0)) throw new AppError('NOT_FOUND', `No such access group: ${input.group}.`);
    const role = (input.role ?? 'user').toLowerCase();
    if (!REQUESTABLE_ROLES.includes(role)) {
      throw new AppError('INVALID_INPUT', `"role": ${JSON.stringify(input.role)} cannot be requested; use one of ${REQUESTABLE_ROLES.join(', ')}.`, { field: 'role' });
    }
    checkLicence(group, input);
    const existing = await store.liveRequest(this.db, actor.id, group.id, role);
    if (existing) return { request: existing, created: false };
    const auto = group.automaticApproval && role === 'user';
    const at = this.now();
    let id: number;
    try {
      id = await this.db.transaction().execute(async (trx) => {
        const row = await trx.insertInto('access_requests').values({
          user_id: actor.id, group_id: group.id, role, state: auto ? 'approved' : 'pending', purpose: input.purpose ?? '',
          licence_id: group.licenceId, licence_sha256: group.licenceSha256, licence_accepted_at: group.licenceId ? at : null,
          created_at: at, decided_at: auto ? at : null, decided_by: auto ? 'system' : null, reason: null,
        }).returning('id').executeTakeFirstOrThrow();
        await trx.insertInto('access_memberships').values({
          user_id: actor.id, group_id: group.id, role, approved: auto ? 1 : 0, requested_at: at, decided_at: auto ? at : null, decided_by: auto ? 'system' : null,
        }).onConflict((oc) => oc.columns(['user_id', 'group_id', 'role']).doUpdateSet({
          approved: auto ? 1 : 0, requested_at: at, decided_at: auto ? at : null, decided_by: auto ? 'system' : null,
        })).execute();
        const entry = { subject: actor.name, group: group.name, role, requestId: row.id };
        await store.audit(trx, at, { ...entry, actor: actor.name, action: 'request', details: { licence_id: group.licenceId, licence_sha256: group.licenceSha256 } });
        const data = { request_id: row.id, group: group.name, role, user: actor.name };
        if (auto) {
          await store.audit(trx, at, { ...entry, actor: 'system', action: 'approve', details: { automatic: true } });
          await store.notify(trx, at, [{ userId: actor.id, kind: 'access.request.approved', subjectRef: ref(row.id), data,
            title: `Access granted: ${group.name}`, body: `Your request for ${group.name} (${role}) was approved automatically. ${RESTART_HINT}` }]);
        } else {
          let admins = await store.groupAdminIds(trx, group.id);
          if (admins.length === 0) admins = await store.hubAdminIds(trx);
          await store.notify(trx, at, [
            { userId: actor.id, kind: 'access.request.pending', subjectRef: ref(row.id), data,
              title: `Access requested: ${group.name}`, body: `Your request for ${group.name} (${role}) waits for a group administrator; you will be notified of the decision.` },
            ...admins.filter((a) => a !== actor.id).map((userId) => ({ userId, kind: 'access.request.new', subjectRef: ref(row.id), data,
              title: `${actor.name} requests ${group.name} (${role})`, body: input.purpose ? `Purpose: ${input.purpose}` : 'Approve or reject the request.' })),
          ]);
        }
        return row.id;
      });
    } catch (err) {
      // Another request of the same user for the same group and role won the race.
      if (!isUniqueViolation(err)) throw err;
      const live = await store.liveRequest(this.db, actor.id, group.id, role);
      if (live) return { request: live, created: false };
      throw err;
    }
    this.emit({ user: actor.name, group: group.name, role, change: auto ? 'granted' : 'requested' });
    return { request: (await store.requestById(this.db, id))!, created: true };
  }

  async decide(actor: AccessActor, id: number, decision: Decision, reason?: string): Promise<AccessRequest> {
    const req = await store.requestById(this.db, id);
    if (!req) throw new AppError('NOT_FOUND', `No such access request: ${id}.`);
    const isDecider = actor.hubAdmin || (await store.administeredGroupIds(this.db, actor.id)).has(req.groupId);
    const isOwn = req.userId === actor.id;
    if (!isDecider && !(decision === 'revoke' && isOwn)) throw new AppError('NOT_FOUND', `No such access request: ${id}.`);
    const plan = planOf(decision, req, isOwn);
    if (plan === 'done') return req;
    const at = this.now();
    const changed = await this.db.transaction().execute(async (trx) => {
      if (!(await store.transition(trx, id, [plan.from], plan.to, { at, by: actor.name, reason: reason ?? null }))) return false;
      if (plan.to === 'approved') {
        const decided = { approved: 1, decided_at: at, decided_by: actor.name };
        await trx.insertInto('access_memberships').values({ user_id: req.userId, group_id: req.groupId, role: req.role, requested_at: req.createdAt, ...decided })
          .onConflict((oc) => oc.columns(['user_id', 'group_id', 'role']).doUpdateSet(decided)).execute();
      } else {
        await trx.deleteFrom('access_memberships').where('user_id', '=', req.userId).where('group_id', '=', req.groupId).where('role', '=', req.role).execute();
      }
      const action = plan.to === 'approved' ? 'approve' : plan.to === 'rejected' ? 'reject' : plan.to === 'withdrawn' ? 'withdraw' : 'revoke';
      await store.audit(trx, at, { actor: actor.name, action, subject: req.user, group: req.group, role: req.role, requestId: id, details: reason ? { reason } : {} });
      // The admins' "new request" notifications are settled by any decision.
      await trx.updateTable('notifications').set({ read_at: at }).where('subject_ref', '=', ref(id))
        .where('kind', '=', 'access.request.new').where('read_at', 'is', null).execute();
      if (req.userId !== actor.id) {
        const data = { request_id: id, group: req.group, role: req.role, by: actor.name, ...(reason && { reason }) };
        const why = reason ? ` Reason: ${reason}` : '';
        const note = plan.to === 'approved'
          ? { kind: 'access.request.approved', title: `Access granted: ${req.group}`, body: `${actor.name} approved your request for ${req.group} (${req.role}). ${RESTART_HINT}` }
          : plan.to === 'rejected'
            ? { kind: 'access.request.rejected', title: `Access refused: ${req.group}`, body: `${actor.name} rejected your request for ${req.group} (${req.role}).${why}` }
            : { kind: 'access.membership.revoked', title: `Access revoked: ${req.group}`, body: `${actor.name} revoked your ${req.role} membership of ${req.group}; it ends at your server's next start at the latest.${why}` };
        await store.notify(trx, at, [{ userId: req.userId, subjectRef: ref(id), data, ...note }]);
      }
      return true;
    });
    const now = (await store.requestById(this.db, id))!;
    if (!changed) return planOf(decision, now, isOwn) === 'done' ? now : this.decide(actor, id, decision, reason);
    this.emit({ user: req.user, group: req.group, role: req.role, change: plan.to === 'approved' ? 'granted' : plan.to === 'rejected' ? 'rejected' : 'revoked' });
    return now;
  }

  /** A membership set directly (import, admin tooling): a request row decided by `actor`, no licence. */
  async grant(userId: number, groupName: string, role: string, approved: boolean, actor: string): Promise<AccessRequest> {
    const group = await store.groupByName(this.db, groupName);
    if (!group) throw new AppError('NOT_FOUND', `No such access group: ${groupName}.`);
    const user = await this.db.selectFrom('users').select('name').where('id', '=', userId).executeTakeFirst();
    if (!user) throw new AppError('NOT_FOUND', `No such user id: ${userId}.`);
    const existing = await store.liveRequest(this.db, userId, group.id, role);
    const at = this.now();
    const id = await this.db.transaction().execute(async (trx) => {
      if (existing) {
        await trx.updateTable('access_requests').set({ state: approved ? 'approved' : 'pending', decided_at: approved ? at : null, decided_by: approved ? actor : null })
          .where('id', '=', existing.id).execute();
      }
      const reqId = existing?.id ?? (await trx.insertInto('access_requests').values({
        user_id: userId, group_id: group.id, role, state: approved ? 'approved' : 'pending', purpose: '', licence_id: null, licence_sha256: null,
        licence_accepted_at: null, created_at: at, decided_at: approved ? at : null, decided_by: approved ? actor : null, reason: null,
      }).returning('id').executeTakeFirstOrThrow()).id;
      const values = { approved: approved ? 1 : 0, requested_at: at, decided_at: approved ? at : null, decided_by: approved ? actor : null };
      await trx.insertInto('access_memberships').values({ user_id: userId, group_id: group.id, role, ...values })
        .onConflict((oc) => oc.columns(['user_id', 'group_id', 'role']).doUpdateSet(values)).execute();
      await store.audit(trx, at, { actor, action: approved ? 'approve' : 'request', subject: user.name, group: group.name, role, requestId: reqId, details: { direct: true } });
      return reqId;
    });
    this.emit({ user: user.name as UserName, group: group.name, role, change: approved ? 'granted' : 'requested' });
    return (await store.requestById(this.db, id))!;
  }
}

/** Refuses a request whose licence was not accepted (or has changed since it was read). */
function checkLicence(group: AccessGroup, input: RequestInput): void {
  if (!group.licenceId) return;
  const how = `Read it (GET /hub/api/eucp/access/groups/${encodeURIComponent(group.name)}) and send "accept_licence": "${group.licenceId}".`;
  if (input.acceptLicence !== group.licenceId) {
    throw new AppError('LICENCE_NOT_ACCEPTED', `The group ${group.name} requires accepting its licence ${group.licenceId}. ${how}`,
      { group: group.name, licence_id: group.licenceId });
  }
  if (input.licenceSha256 !== undefined && input.licenceSha256 !== group.licenceSha256) {
    throw new AppError('LICENCE_NOT_ACCEPTED', `The licence ${group.licenceId} of ${group.name} has changed since you read it. ${how}`,
      { group: group.name, licence_id: group.licenceId, licence_sha256: group.licenceSha256 });
  }
}

/** Which transition a decision makes on a request in its current state; 'done' when it already holds. */
function planOf(decision: Decision, req: AccessRequest, isOwn: boolean): 'done' | { from: AccessRequest['state']; to: AccessRequest['state'] } {
  const refuse = (what: string): never => {
    throw new AppError('INVALID_INPUT', `Access request ${req.id} is ${req.state}; ${what}.`, { state: req.state });
  };
  switch (decision) {
    case 'approve':
      if (req.state === 'approved') return 'done';
      return req.state === 'pending' ? { from: 'pending', to: 'approved' } : refuse('only a pending request can be approved');
    case 'reject':
      if (req.state === 'rejected') return 'done';
      return req.state === 'pending' ? { from: 'pending', to: 'rejected' } : refuse('only a pending request can be rejected (revoke an approved one)');
    case 'revoke':
      if (req.state === 'revoked' || req.state === 'withdrawn') return 'done';
      if (req.state === 'approved') return { from: 'approved', to: 'revoked' };
      if (req.state === 'pending') return isOwn ? { from: 'pending', to: 'withdrawn' } : { from: 'pending', to: 'rejected' };
      return refuse('there is nothing to revoke');
  }
}
