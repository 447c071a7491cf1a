/**
 * The fields of the access service that leave the hub (snake_case, ISO times). Rows never
 * leave the server; licence texts only in the single-group view.
 */
import { isoformat, type PolicyRule } from '@eucp/core';
import type { CheckResult, GroupView } from './service.js';
import type { AccessAuditRecord, AccessRequest, MembershipRecord, NotificationRecord } from './types.js';

type Json = Record<string, unknown>;
const iso = (t: number | null): string | null => (t === null ? null : isoformat(t));

export function presentPolicy(p: PolicyRule): Json {
  return { resource: p.resource, attribute_type: p.attributeType, attribute_value: p.attributeValue, action: p.action };
}

/** `GET /api/access/check`: the ESGF-compatible decision (esgf-compat.md §1, suggested REST surface). */
export function presentCheck(r: CheckResult): Json {
  return {
    resource: r.resource,
    action: r.action,
    user: r.user,
    decision: r.decision,
    matched_policies: r.matchedPolicies.map(presentPolicy),
    grantable_by: r.grantableBy.map((g) => ({
      group: g.group, role: g.role, automatic_approval: g.automaticApproval, licence_id: g.licenceId, membership: g.membership,
    })),
  };
}

/** A group; `withLicence` adds the licence text (single-group view). */
export function presentGroup(g: GroupView, withLicence = false): Json {
  return {
    name: g.name,
    description: g.description,
    grants: g.grants,
    visible: g.visible,
    automatic_approval: g.automaticApproval,
    licence: g.licenceId === null ? null : {
      id: g.licenceId, sha256: g.licenceSha256, ...(withLicence && { text: g.licenceText }),
    },
    admins: g.admins,
    memberships: g.memberships,
    can_decide: g.canDecide,
  };
}

export function presentRequest(r: AccessRequest): Json {
  return {
    id: r.id,
    user: r.user,
    group: r.group,
    role: r.role,
    state: r.state,
    purpose: r.purpose,
    licence: r.licenceId === null ? null : { id: r.licenceId, sha256: r.licenceSha256, accepted: iso(r.licenceAcceptedAt) },
    created: iso(r.createdAt),
    decided: iso(r.decidedAt),
    decided_by: r.decidedBy,
    reason: r.reason,
  };
}

export function presentMembership(m: MembershipRecord): Json {
  return { group: m.group, role: m.role, approved: m.approved, state: m.approved ? 'approved' : 'pending', requested: iso(m.requestedAt), decided: iso(m.decidedAt), decided_by: m.decidedBy };
}

export function presentNotification(n: NotificationRecord): Json {
  return { id: n.id, kind: n.kind, title: n.title, body: n.body, data: n.data, created: iso(n.createdAt), read: n.readAt !== null, read_at: iso(n.readAt) };
}

export function presentAudit(a: AccessAuditRecord): Json {
  return {
    id: a.id, at: iso(a.at), actor: a.actor, action: a.action, subject: a.subject || null, group: a.group, role: a.role,
    resource: a.resource, request_id: a.requestId, details: a.details,
  };
}
