import type { AccessAction, AccessDecision, AccessMembership, AccessResult, GroupTerms, MembershipState, PolicyRule, PolicySet } from '@eucp/core';
import type { AccessGroup } from './types.js';

/** A group that would grant the access, as `GET /api/access/check` lists it. */
export interface GrantableGroup {
  group: string;
  role: string;
  automaticApproval: boolean;
  licenceId: string | null;
  membership: MembershipState;
}

/** The answer of `AccessService.check`. */
export interface CheckResult {
  resource: string;
  action: AccessAction;
  /** The user decided for; null = anonymous. */
  user: string | null;
  decision: AccessDecision;
  matchedPolicies: readonly PolicyRule[];
  /** Groups that exist here and the caller may see (visible, or already a member/requester; all for hub admins). */
  grantableBy: GrantableGroup[];
}

/**
 * What one user may read right now, prepared for many decisions (the catalog filters
 * search results with it; the sandbox decides what to mount with it). Immutable: take a
 * new one after a grant or revocation (`AccessService.onChange` says when).
 */
export interface AccessReader {
  /** The user; null = anonymous. */
  readonly user: string | null;
  /** True when Read on `resource` (an ESGF dataset id: instance_id with version, or dataset_id) is permitted. */
  canRead(resource: string): boolean;
  /**
   * True when the caller may learn that `resource` exists (its files, in the catalog): they
   * may read it, or a *visible* group would grant it (they can ask to join).
   */
  canList(resource: string): boolean;
  /** The full ESGF decision (with the groups that would grant it). */
  decide(resource: string, action?: AccessAction): AccessResult;
  /**
   * Readers with equal keys answer `canRead` and `canList` alike for every resource (same
   * policies, anonymous or not, approved memberships, visible groups): a cache key for
   * per-caller results such as the catalog's visibility masks.
   */
  readonly key: string;
}

/** A number per compiled policy set, so reader keys change when the policies are reloaded. */
const policyIds = new WeakMap<PolicySet, number>();
let nextPolicyId = 1;
function policyId(p: PolicySet): number {
  let id = policyIds.get(p);
  if (id === undefined) policyIds.set(p, (id = nextPolicyId++));
  return id;
}

/** Approval mode and licence of each group, for `PolicySet.decide`. */
export function groupTerms(groups: readonly AccessGroup[]): Map<string, GroupTerms> {
  return new Map(groups.map((g) => [g.name, { automaticApproval: g.automaticApproval, licenceId: g.licenceId }]));
}

/**
 * The ESGF decision for a caller, with the grant options filtered to what the caller may
 * see: groups unknown to the hub are left out (nobody can join them), and invisible groups
 * appear only to their members or requesters and to hub admins.
 */
export function checkFor(policies: PolicySet, groups: readonly AccessGroup[], user: string | null,
  memberships: readonly AccessMembership[], resource: string, action: AccessAction, hubAdmin: boolean): CheckResult {
  const byName = new Map(groups.map((g) => [g.name, g]));
  const r = policies.decide(resource, action, user, memberships, groupTerms(groups));
  const grantableBy: GrantableGroup[] = [];
  for (const o of r.grantableBy) {
    const g = byName.get(o.group);
    if (!g) continue;
    if (!g.visible && !hubAdmin && !memberships.some((m) => m.group === g.name)) continue;
    grantableBy.push({ group: o.group, role: o.role, automaticApproval: g.automaticApproval, licenceId: g.licenceId, membership: o.membership });
  }
  return { resource, action, user, decision: r.decision, matchedPolicies: r.matchedPolicies, grantableBy };
}

/** Builds an `AccessReader` over a compiled policy set. */
export function makeReader(policies: PolicySet, groups: readonly AccessGroup[], user: string | null,
  memberships: readonly AccessMembership[]): AccessReader {
  const subject = policies.subject(user, memberships);
  const terms = groupTerms(groups);
  const visible = new Set(groups.filter((g) => g.visible).map((g) => g.name));
  const approved = memberships.filter((m) => m.approved).map((m) => `${m.group}\u0000${m.role.toLowerCase()}`).sort();
  const key = JSON.stringify([policyId(policies), user === null, approved, [...visible].sort()]);
  return Object.freeze({
    user,
    key,
    canRead: (resource: string) => policies.permits(subject, resource, 'Read'),
    canList: (resource: string) => {
      if (policies.permits(subject, resource, 'Read')) return true;
      return policies.decideFor(subject, resource, 'Read').grantableBy.some((o) => visible.has(o.group));
    },
    decide: (resource: string, action: AccessAction = 'Read') => policies.decideFor(subject, resource, action, terms),
  });
}

/** The groups whose approved membership granted a permitted access (for the audit of reads). */
export function grantingGroups(result: AccessResult, memberships: readonly AccessMembership[]): string[] {
  const approved = new Set(memberships.filter((m) => m.approved).map((m) => m.group));
  return [...new Set(result.matchedPolicies.map((p) => p.attributeType).filter((g) => approved.has(g)))];
}
