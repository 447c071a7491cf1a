import { ADMIN_SCOPES, impliedBases, parseScope, selfScopes, type ParsedScope } from '@eucp/core';

/**
 * Scope-set arithmetic on top of `@eucp/core`'s scope logic: roles of a user, full
 * expansion (every implied sub-scope written out with the same filter), reduction and
 * intersection (JupyterHub's `_intersect_expanded_scopes`), token-scope resolution.
 */

export interface ScopeOwner {
  name: string;
  admin: boolean;
}

/**
 * Scopes of a user's roles (unexpanded): admins get JupyterHub's `admin` role plus their
 * own `user` role; everyone gets the `user` role (`self`) plus the unfiltered
 * `read:users:name` and `read:groups:name` that JupyterHub 5's `user` role has.
 */
export function roleScopes(user: ScopeOwner): string[] {
  const base = [...selfScopes(user.name), 'read:users:name', 'read:groups:name'];
  return user.admin ? [...ADMIN_SCOPES, ...base] : base;
}

/** Role names shown in the user model. */
export function roleNames(user: ScopeOwner): string[] {
  return user.admin ? ['admin', 'user'] : ['user'];
}

/** Identify scopes of `name` (what `GET /hub/api/user` always lets a caller read). */
export function identifyScopes(name: string): string[] {
  return [`read:users:name!user=${name}`, `read:users:groups!user=${name}`];
}

function render(base: string, filter: ParsedScope['filter']): string {
  return filter ? `${base}!${filter.kind}=${filter.value}` : base;
}

/**
 * Writes out every implied sub-scope with the filter of its parent, drops unknown scopes,
 * removes redundant filtered entries, and sorts. `self`/`inherit` must be resolved first.
 */
export function expandFully(scopes: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of scopes) {
    const p = parseScope(s);
    if (!p || p.base === 'self' || p.base === 'inherit') continue;
    for (const b of impliedBases(p.base)) out.add(render(b, p.filter));
  }
  return reduceScopes([...out]);
}

/**
 * Drops entries covered by another entry of the same base: filtered ones when the
 * unfiltered base is present, `server=u/s` when `user=u` is present. Sorted result.
 */
export function reduceScopes(scopes: readonly string[]): string[] {
  const parsed = scopes.map((s) => parseScope(s)).filter((p): p is ParsedScope => p !== null);
  const unfiltered = new Set(parsed.filter((p) => p.filter === null).map((p) => p.base));
  const userFiltered = new Set(parsed.filter((p) => p.filter?.kind === 'user').map((p) => `${p.base}!${p.filter!.value}`));
  const out = new Set<string>();
  for (const p of parsed) {
    if (p.filter !== null && unfiltered.has(p.base)) continue;
    if (p.filter?.kind === 'server' && userFiltered.has(`${p.base}!${p.filter.value.split('/')[0]}`)) continue;
    out.add(render(p.base, p.filter));
  }
  return [...out].sort();
}

function intersectFilter(a: ParsedScope['filter'], b: ParsedScope['filter']): ParsedScope['filter'] | undefined {
  if (a === null) return b;
  if (b === null) return a;
  if (a.kind === b.kind) return a.value === b.value ? a : undefined;
  const owner = (f: NonNullable<ParsedScope['filter']>) => f.value.split('/')[0];
  if (a.kind === 'user' && b.kind === 'server' && owner(b) === a.value) return b;
  if (a.kind === 'server' && b.kind === 'user' && owner(a) === b.value) return a;
  // Group filters against user/server filters would need group membership: dropped (stricter).
  return undefined;
}

/** Intersection of two scope sets, each expanded first; result reduced and sorted. */
export function intersectScopes(a: readonly string[], b: readonly string[]): string[] {
  const pa = expandFully(a).map((s) => parseScope(s)!);
  const pb = expandFully(b).map((s) => parseScope(s)!);
  const out: string[] = [];
  for (const x of pa) {
    for (const y of pb) {
      if (x.base !== y.base) continue;
      const f = intersectFilter(x.filter, y.filter);
      if (f !== undefined) out.push(render(x.base, f));
    }
  }
  return reduceScopes(out);
}

/** Replaces `self` by the owner's `user`-role scopes and `inherit` by all the owner's role scopes. */
export function resolveOwnerRefs(scopes: readonly string[], owner: ScopeOwner): string[] {
  const out: string[] = [];
  for (const s of scopes) {
    if (s === 'inherit') out.push(...roleScopes(owner));
    else if (s === 'self') out.push(...selfScopes(owner.name));
    else out.push(s);
  }
  return out;
}

/**
 * Results of `userScopes` / `effectiveTokenScopes` by their inputs. Both are pure functions
 * of (stored scopes, owner name, admin flag) and are needed on every request, so each
 * distinct input is expanded once; the result is frozen and shared (which also lets
 * `compileScopes` keep its compiled form). Bounded: the oldest entry goes first.
 */
const EXPANDED_CACHE_MAX = 2048;
const expandedCache = new Map<string, readonly string[]>();

function memoExpanded(key: string, compute: () => string[]): readonly string[] {
  const hit = expandedCache.get(key);
  if (hit !== undefined) return hit;
  const value = Object.freeze(compute());
  if (expandedCache.size >= EXPANDED_CACHE_MAX) expandedCache.delete(expandedCache.keys().next().value!);
  expandedCache.set(key, value);
  return value;
}

function ownerKey(owner: ScopeOwner): string {
  return `${owner.admin ? 'a' : 'u'}\u0000${owner.name}`;
}

/** Expanded scopes of a user's own session (frozen, shared). */
export function userScopes(owner: ScopeOwner): readonly string[] {
  return memoExpanded(`s\u0000${ownerKey(owner)}`, () => expandFully(roleScopes(owner)));
}

/**
 * Effective scopes of a token at use time: its stored scopes (`self`/`inherit` resolved
 * against the owner now) intersected with the owner's current scopes, so demoting an
 * admin demotes every token of theirs. Frozen, shared.
 */
export function effectiveTokenScopes(stored: readonly string[], owner: ScopeOwner): readonly string[] {
  return memoExpanded(`t\u0000${ownerKey(owner)}\u0000${stored.join('\u0000')}`,
    () => intersectScopes(resolveOwnerRefs(stored, owner), roleScopes(owner)));
}
