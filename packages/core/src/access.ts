/**
 * ESGF access-control decisions (esgf-compat.md §1), pure and precompiled: policies are
 * compiled once into a `PolicySet` (a broken regex is refused then, naming the policy),
 * and each decision costs a cached lookup of the policies matching the resource plus a
 * few set lookups for the caller's memberships.
 *
 * The decision rule, for a resource and an action:
 * 1–2. keep the policies whose `resource` regex matches (anywhere in the string) and
 *      whose action is the action;
 * 3.   none ⇒ `Deny` (or the site default `unmatched`);
 * 4.   any `ANY` ⇒ `Permit`; otherwise an anonymous caller ⇒ `Challenge`;
 * 5.   any `AUTH_ONLY` ⇒ `Permit`;
 * 6.   an *approved* membership `(group = attribute_type, role = attribute_value)` for any
 *      kept policy ⇒ `Permit` (roles compare case-insensitively, groups exactly);
 * 7.   otherwise ⇒ `Deny`. `NONE` never permits.
 * `Deny` and `Challenge` list the (group, role) pairs of the kept policies — the groups
 * that would grant access — with the caller's membership state in each; `Permit` lists none.
 */
import { AppError } from './errors.js';
import type { AccessAction, PolicyRule } from './access-parse.js';

export * from './access-parse.js';

export type AccessDecision = 'Permit' | 'Deny' | 'Challenge';
/** The caller's membership in a group with a role: none, requested (`approved=false`), approved. */
export type MembershipState = 'none' | 'pending' | 'approved';

/** Special `attribute_type` values of ESGF policies. */
export const ANY = 'ANY';
export const AUTH_ONLY = 'AUTH_ONLY';
export const NONE = 'NONE';

/** An ESGF permission `(group, role, approved)` of the caller; `approved=false` is a pending request. */
export interface AccessMembership {
  readonly group: string;
  readonly role: string;
  readonly approved: boolean;
}

/** What a group offers a requester: automatic approval and the licence to accept. */
export interface GroupTerms {
  readonly automaticApproval: boolean;
  readonly licenceId: string | null;
}

/** A (group, role) that would grant the access, and where the caller stands with it. */
export interface GrantOption {
  readonly group: string;
  readonly role: string;
  readonly membership: MembershipState;
  /** From the `groups` passed to the decision; null when the group is not known there. */
  readonly automaticApproval: boolean | null;
  readonly licenceId: string | null;
}

export interface AccessResult {
  readonly decision: AccessDecision;
  /** Empty for `Permit`; in policy order, each (group, role) once. */
  readonly grantableBy: readonly GrantOption[];
  /** The policies that matched resource and action (steps 1–2), in file order. */
  readonly matchedPolicies: readonly PolicyRule[];
}

export interface PolicySetOptions {
  /** Decision when no policy matches (step 3); ESGF's default is `Deny`. */
  readonly unmatched?: 'Deny' | 'Permit';
  /**
   * Roles that carry other roles in the same group, e.g. `{ admin: ['user'] }` lets a group
   * administrator read what the group reads. Lower-case names. Default: none (strict ESGF).
   */
  readonly impliedRoles?: Readonly<Record<string, readonly string[]>>;
  /** Resources whose matching policies are remembered (the first ones seen, per action); 0 = none. Default 262 144. */
  readonly matchCacheSize?: number;
}

/** A caller prepared for many decisions: user (null = anonymous) and membership keys. */
export interface AccessSubject {
  readonly user: string | null;
  readonly approved: ReadonlySet<string>;
  readonly pending: ReadonlySet<string>;
}

type Kind = 'ANY' | 'AUTH_ONLY' | 'NONE' | 'GROUP';

interface CompiledPolicy {
  readonly rule: PolicyRule;
  readonly regex: RegExp;
  readonly kind: Kind;
  /** `group \0 role` (role lower-cased) for GROUP policies. */
  readonly key: string;
}

/** The policies matching one resource and action, with what the decision needs precomputed. */
interface Match {
  readonly policies: readonly CompiledPolicy[];
  readonly rules: readonly PolicyRule[];
  readonly hasAny: boolean;
  readonly hasAuthOnly: boolean;
  /** GROUP policies, one per (group, role), in policy order. */
  readonly groupPolicies: readonly CompiledPolicy[];
}

const EMPTY: Match = { policies: [], rules: [], hasAny: false, hasAuthOnly: false, groupPolicies: [] };
const DEFAULT_CACHE = 262_144;
const MAX_CACHED_RESOURCE = 256;

const membershipKey = (group: string, role: string): string => `${group}\u0000${role.toLowerCase()}`;

/**
 * Compiles an ESGF (Java) resource pattern to a JavaScript RegExp: `\A` → `^`, `\z`/`\Z` →
 * `$`, a leading `(?i)` → the `i` flag (without this, `\A` would silently mean a literal A).
 * Throws the engine's SyntaxError for an invalid pattern.
 */
export function compileResourcePattern(pattern: string): RegExp {
  let src = pattern;
  let flags = '';
  if (src.startsWith('(?i)')) {
    src = src.slice(4);
    flags = 'i';
  }
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\' && i + 1 < src.length) {
      const n = src[i + 1]!;
      out += n === 'A' ? '^' : n === 'z' || n === 'Z' ? '$' : c + n;
      i++;
    } else out += c;
  }
  return new RegExp(out, flags);
}

function kindOf(attributeType: string): Kind {
  const t = attributeType.toUpperCase();
  return t === ANY || t === AUTH_ONLY || t === NONE ? t : 'GROUP';
}

/** A compiled, immutable set of policies. Build with `compilePolicies`. */
export class PolicySet {
  private readonly byAction: ReadonlyMap<AccessAction, readonly CompiledPolicy[]>;
  private readonly cache = new Map<string, Match>();
  /** Match results per action by the indices of the matching policies (few distinct ones). */
  private readonly interned = new Map<AccessAction, Map<number | string, Match>>([['Read', new Map()], ['Write', new Map()]]);
  private readonly cacheSize: number;
  private readonly unmatched: 'Deny' | 'Permit';
  private readonly implied: ReadonlyMap<string, readonly string[]>;

  /** Use `compilePolicies`. */
  constructor(readonly rules: readonly PolicyRule[], private readonly compiled: readonly CompiledPolicy[], opts: PolicySetOptions) {
    this.byAction = new Map<AccessAction, CompiledPolicy[]>([
      ['Read', compiled.filter((p) => p.rule.action === 'Read')],
      ['Write', compiled.filter((p) => p.rule.action === 'Write')],
    ]);
    this.cacheSize = opts.matchCacheSize ?? DEFAULT_CACHE;
    this.unmatched = opts.unmatched ?? 'Deny';
    this.implied = new Map(Object.entries(opts.impliedRoles ?? {}).map(([k, v]) => [k.toLowerCase(), v.map((r) => r.toLowerCase())]));
  }

  /** Names of the groups the policies refer to (not `ANY`/`AUTH_ONLY`/`NONE`), in policy order. */
  groupNames(): string[] {
    return [...new Set(this.compiled.filter((p) => p.kind === 'GROUP').map((p) => p.rule.attributeType))];
  }

  /** Prepares a caller for many decisions (`decideFor`, `permits`). `user` null = anonymous. */
  subject(user: string | null, memberships: Iterable<AccessMembership>): AccessSubject {
    const approved = new Set<string>();
    const pending = new Set<string>();
    if (user !== null) {
      for (const m of memberships) {
        const role = m.role.toLowerCase();
        if (!m.approved) {
          pending.add(membershipKey(m.group, role));
          continue;
        }
        approved.add(membershipKey(m.group, role));
        for (const r of this.implied.get(role) ?? []) approved.add(membershipKey(m.group, r));
      }
    }
    return { user, approved, pending };
  }

  /** The ESGF decision for one resource; see the module comment. `groups` fills in approval mode and licence. */
  decide(resource: string, action: AccessAction, user: string | null, memberships: Iterable<AccessMembership>,
    groups?: ReadonlyMap<string, GroupTerms>): AccessResult {
    return this.decideFor(this.subject(user, memberships), resource, action, groups);
  }

  /** `decide` for a prepared subject. */
  decideFor(subject: AccessSubject, resource: string, action: AccessAction, groups?: ReadonlyMap<string, GroupTerms>): AccessResult {
    const m = this.match(resource, action);
    const matchedPolicies = m.rules;
    if (this.permitsMatch(subject, m)) return { decision: 'Permit', grantableBy: [], matchedPolicies };
    const grantableBy = m.groupPolicies.map((p): GrantOption => {
      const terms = groups?.get(p.rule.attributeType);
      return {
        group: p.rule.attributeType,
        role: p.rule.attributeValue,
        membership: subject.approved.has(p.key) ? 'approved' : subject.pending.has(p.key) ? 'pending' : 'none',
        automaticApproval: terms?.automaticApproval ?? null,
        licenceId: terms ? terms.licenceId : null,
      };
    });
    const decision: AccessDecision = m.policies.length > 0 && subject.user === null ? 'Challenge' : 'Deny';
    return { decision, grantableBy, matchedPolicies };
  }

  /** True when the decision is `Permit`; allocation-free on a cache hit (for filtering many resources). */
  permits(subject: AccessSubject, resource: string, action: AccessAction = 'Read'): boolean {
    return this.permitsMatch(subject, this.match(resource, action));
  }

  private permitsMatch(subject: AccessSubject, m: Match): boolean {
    if (m.policies.length === 0) return this.unmatched === 'Permit';
    if (m.hasAny) return true;
    if (subject.user === null) return false;
    if (m.hasAuthOnly) return true;
    for (const p of m.groupPolicies) if (subject.approved.has(p.key)) return true;
    return false;
  }

  private match(resource: string, action: AccessAction): Match {
    const cacheKey = action === 'Read' ? resource : `W\u0000${resource}`;
    const hit = this.cache.get(cacheKey);
    if (hit) return hit;
    // Which policies match, as a key (a bit mask while there are at most 30 policies per
    // action): the few distinct combinations are built once and shared, so a miss costs the
    // regex tests and hardly any allocation.
    const candidates = this.byAction.get(action) ?? [];
    const small = candidates.length <= 30;
    let mask = 0;
    let text = '';
    for (let i = 0; i < candidates.length; i++) {
      if (!candidates[i]!.regex.test(resource)) continue;
      if (small) mask |= 1 << i;
      else text += `${i},`;
    }
    const key: number | string = small ? mask : text;
    const interned = this.interned.get(action)!;
    let m = interned.get(key);
    if (m === undefined) {
      const policies = candidates.filter((p, i) => (small ? (mask & (1 << i)) !== 0 : text.split(',').includes(String(i))));
      const seen = new Set<string>();
      const groupPolicies = policies.filter((p) => p.kind === 'GROUP' && !seen.has(p.key) && (seen.add(p.key), true));
      m = policies.length === 0 ? EMPTY
        : { policies, rules: policies.map((p) => p.rule), hasAny: policies.some((p) => p.kind === ANY), hasAuthOnly: policies.some((p) => p.kind === AUTH_ONLY), groupPolicies };
      interned.set(key, m);
    }
    // Policies never change, so entries never go stale: once full, the cache keeps what it
    // has. (Evicting the oldest entry one by one makes V8 walk the deleted slots at the
    // front of the Map on every eviction, and clearing it makes a scan of more resources
    // than it holds pay for insertions it never uses.)
    // Over-long resources (never dataset ids) are not kept, so callers cannot bloat it.
    if (this.cache.size < this.cacheSize && resource.length <= MAX_CACHED_RESOURCE) this.cache.set(cacheKey, m);
    return m;
  }
}

/**
 * Compiles policies (from `parsePolicies*`, possibly several files concatenated) once.
 * Throws `ACCESS_POLICY_INVALID` naming the policy (its `source`) and the regex when a
 * resource pattern is not a valid regular expression, or when a group policy has no role.
 */
export function compilePolicies(rules: readonly PolicyRule[], opts: PolicySetOptions = {}): PolicySet {
  const compiled = rules.map((rule): CompiledPolicy => {
    let regex: RegExp;
    try {
      regex = compileResourcePattern(rule.resource);
    } catch (err) {
      throw new AppError('ACCESS_POLICY_INVALID',
        `${rule.source}: the resource regex ${JSON.stringify(rule.resource)} of the ${rule.attributeType} ${rule.action} policy is not valid (${(err as Error).message}).`,
        { source: rule.source, resource: rule.resource });
    }
    const kind = kindOf(rule.attributeType);
    if (kind === 'GROUP' && rule.attributeValue === '') {
      throw new AppError('ACCESS_POLICY_INVALID', `${rule.source}: the ${rule.attributeType} policy names no role (attribute_value).`,
        { source: rule.source, resource: rule.resource });
    }
    return { rule, regex, kind, key: kind === 'GROUP' ? membershipKey(rule.attributeType, rule.attributeValue) : '' };
  });
  return new PolicySet(rules, compiled, opts);
}

/**
 * One ESGF decision: `decide(policies, resource, action, user | null, memberships)`.
 * For many decisions for the same caller, use `policies.subject(...)` + `decideFor`/`permits`.
 */
export function decideAccess(policies: PolicySet, resource: string, action: AccessAction, user: string | null,
  memberships: Iterable<AccessMembership>, groups?: ReadonlyMap<string, GroupTerms>): AccessResult {
  return policies.decide(resource, action, user, memberships, groups);
}
