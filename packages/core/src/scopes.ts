/**
 * JupyterHub-compatible scopes: `<base>` or `<base>!<filter>=<value>`, where the filter
 * is `user`, `server` (`<user>/<server_name>`) or `group`. A scope grants its base and
 * every scope below it in the hierarchy, restricted by its filter.
 */

/** Which scopes each scope implies directly (JupyterHub's `scope_definitions`). */
const CHILDREN: Record<string, readonly string[]> = {
  self: [],
  inherit: [],
  'admin:users': ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
  users: ['read:users', 'list:users', 'users:activity'],
  'read:users': ['read:users:name', 'read:users:groups', 'read:users:activity'],
  'list:users': ['read:users:name'],
  'admin:servers': ['admin:server_state', 'servers'],
  servers: ['read:servers', 'delete:servers'],
  'read:servers': ['read:users:name'],
  tokens: ['read:tokens'],
  'admin:groups': ['groups', 'delete:groups'],
  groups: ['read:groups', 'list:groups'],
  'read:groups': ['read:groups:name'],
  'list:groups': ['read:groups:name'],
  'read:roles': ['read:roles:users', 'read:roles:groups', 'read:roles:services'],
  'read:hub': [],
  proxy: [],
  shutdown: [],
  'access:servers': [],
  'access:services': [],
  'list:services': ['read:services:name'],
  'read:services': ['read:services:name'],
  'admin-ui': [],
};

/** Every base scope name we know. */
export const KNOWN_SCOPES: ReadonlySet<string> = new Set([
  ...Object.keys(CHILDREN),
  ...Object.values(CHILDREN).flat(),
]);

export interface ParsedScope {
  readonly base: string;
  readonly filter: { readonly kind: 'user' | 'server' | 'group'; readonly value: string } | null;
}

function parseScopeUncached(scope: string): ParsedScope | null {
  const [base, filterPart, extra] = scope.split('!');
  if (base === undefined || extra !== undefined || !KNOWN_SCOPES.has(base)) return null;
  if (filterPart === undefined) return Object.freeze({ base, filter: null });
  const eq = filterPart.indexOf('=');
  const kind = filterPart.slice(0, eq);
  const value = filterPart.slice(eq + 1);
  if (eq < 1 || !value || (kind !== 'user' && kind !== 'server' && kind !== 'group')) return null;
  return Object.freeze({ base, filter: Object.freeze({ kind, value }) });
}

/**
 * Scope strings seen recently → their parse (null for invalid ones). Parsing is pure and
 * the same few hundred strings recur on every request, so they are parsed once. Bounded:
 * the oldest entry goes first; over-long strings (never valid in practice) are not kept.
 */
const PARSE_CACHE_MAX = 4096;
const PARSE_CACHE_MAX_KEY = 256;
const parseCache = new Map<string, ParsedScope | null>();

/** Parses one scope string; returns null for an unknown base or filter. The result is frozen and shared. */
export function parseScope(scope: string): ParsedScope | null {
  const hit = parseCache.get(scope);
  if (hit !== undefined) return hit;
  const parsed = parseScopeUncached(scope);
  if (scope.length <= PARSE_CACHE_MAX_KEY) {
    if (parseCache.size >= PARSE_CACHE_MAX) parseCache.delete(parseCache.keys().next().value!);
    parseCache.set(scope, parsed);
  }
  return parsed;
}

function impliedBasesUncached(base: string): Set<string> {
  const out = new Set<string>();
  const stack = [base];
  while (stack.length) {
    const s = stack.pop()!;
    if (out.has(s)) continue;
    out.add(s);
    stack.push(...(CHILDREN[s] ?? []));
  }
  return out;
}

/** The closure of every known base, computed once (the tree is static). */
const IMPLIED: ReadonlyMap<string, ReadonlySet<string>> = new Map([...KNOWN_SCOPES].map((b) => [b, impliedBasesUncached(b)]));

/** All base scopes a base scope implies, itself included. Shared: do not modify. */
export function impliedBases(base: string): ReadonlySet<string> {
  return IMPLIED.get(base) ?? new Set([base]);
}

/** The scopes of JupyterHub's built-in `user` role for `user` (what `self` expands to). */
export function selfScopes(user: string): string[] {
  const f = `!user=${user}`;
  return [
    'read:users', 'users:activity', 'servers', 'access:servers', 'tokens', 'read:tokens',
  ].map((s) => s + f).concat([`read:groups:name`]);
}

/** The scopes of JupyterHub's built-in `admin` role. */
export const ADMIN_SCOPES: readonly string[] = [
  'admin-ui', 'admin:users', 'admin:servers', 'tokens', 'admin:groups', 'read:roles',
  'access:servers', 'read:hub', 'proxy', 'shutdown', 'list:services', 'read:services',
  'access:services',
];

/** Replaces `self` by the owner's scopes; drops duplicates; keeps the order stable. */
export function expandScopes(scopes: readonly string[], owner: string): string[] {
  const out = new Set<string>();
  for (const s of scopes) {
    if (s === 'self' || s === 'inherit') for (const x of selfScopes(owner)) out.add(x);
    else out.add(s);
  }
  return [...out].sort();
}

/** What a check is about: the user (and server) the action touches, with its groups. */
export interface ScopeTarget {
  user?: string;
  /** `<user>/<server_name>` */
  server?: string;
  group?: string;
  /** Groups `user` belongs to, for `!group=` filters. */
  userGroups?: readonly string[];
}

type ScopeFilter = NonNullable<ParsedScope['filter']>;

function filterCovers(filter: ScopeFilter, target: ScopeTarget): boolean {
  switch (filter.kind) {
    case 'user':
      return target.user === filter.value;
    case 'server':
      return target.server !== undefined && target.server === filter.value;
    case 'group':
      return target.group === filter.value || (target.userGroups ?? []).includes(filter.value);
  }
}

/**
 * A set of held scopes compiled for lookups: every base it grants (implied ones included),
 * unfiltered or with the filters that restrict it. Build one with `compileScopes`.
 */
export class ScopeSet {
  /** Bases granted without a filter. */
  private readonly unfiltered = new Set<string>();
  /** Bases granted only with filters (not in `unfiltered`) → those filters. */
  private readonly filtered = new Map<string, ScopeFilter[]>();

  constructor(held: readonly string[]) {
    for (const s of held) {
      const p = parseScope(s);
      if (!p) continue;
      for (const b of impliedBases(p.base)) {
        if (p.filter === null) this.unfiltered.add(b);
        else {
          const list = this.filtered.get(b);
          if (list) list.push(p.filter); else this.filtered.set(b, [p.filter]);
        }
      }
    }
    for (const b of this.unfiltered) this.filtered.delete(b);
  }

  /** True if `required` is granted on `target` (unfiltered if no target). */
  has(required: string, target: ScopeTarget = {}): boolean {
    if (this.unfiltered.has(required)) return true;
    const filters = this.filtered.get(required);
    if (filters === undefined) return false;
    for (const f of filters) if (filterCovers(f, target)) return true;
    return false;
  }

  /** True if `required` is granted without any filter (on every resource). */
  hasUnfiltered(required: string): boolean {
    return this.unfiltered.has(required);
  }

  /** True if `required` is granted on at least one resource (filtered or not). */
  hasAny(required: string): boolean {
    return this.unfiltered.has(required) || this.filtered.has(required);
  }
}

/**
 * Compiled sets of frozen scope arrays (the expanded scopes of an AuthContext are frozen
 * and shared between requests), so each is compiled once. Unfrozen arrays may still be
 * changed by their owner and are compiled afresh on every call.
 */
const compiled = new WeakMap<readonly string[], ScopeSet>();

/** The compiled form of `held`; cached when `held` is frozen. */
export function compileScopes(held: readonly string[]): ScopeSet {
  if (!Object.isFrozen(held)) return new ScopeSet(held);
  let set = compiled.get(held);
  if (set === undefined) {
    set = new ScopeSet(held);
    compiled.set(held, set);
  }
  return set;
}

/** True if the held scopes grant `required` on `target` (unfiltered if no target). */
export function hasScope(held: readonly string[], required: string, target: ScopeTarget = {}): boolean {
  if (Object.isFrozen(held)) return compileScopes(held).has(required, target);
  for (const s of held) {
    const p = parseScope(s);
    if (!p || !impliedBases(p.base).has(required)) continue;
    if (p.filter === null || filterCovers(p.filter, target)) return true;
  }
  return false;
}

/** True if the held scopes grant `required` on at least one resource (filtered or not). */
export function hasAnyScope(held: readonly string[], required: string): boolean {
  if (Object.isFrozen(held)) return compileScopes(held).hasAny(required);
  return held.some((s) => {
    const p = parseScope(s);
    return p !== null && impliedBases(p.base).has(required);
  });
}

/**
 * Intersection used when issuing tokens: keeps each requested scope that the holder's
 * scopes cover (a requested `x!user=a` is covered by held `x` or `x!user=a`).
 * Returns the scopes that are not covered separately so the caller can refuse them.
 */
export function coverScopes(requested: readonly string[], held: readonly string[]): { granted: string[]; refused: string[] } {
  const granted: string[] = [];
  const refused: string[] = [];
  for (const r of requested) {
    const p = parseScope(r);
    if (!p) { refused.push(r); continue; }
    const target: ScopeTarget = {};
    if (p.filter?.kind === 'user') target.user = p.filter.value;
    if (p.filter?.kind === 'server') { target.server = p.filter.value; target.user = p.filter.value.split('/')[0]; }
    if (p.filter?.kind === 'group') target.group = p.filter.value;
    const ok = p.filter === null
      ? held.some((h) => { const hp = parseScope(h); return hp !== null && hp.filter === null && impliedBases(hp.base).has(p.base); })
      : hasScope(held, p.base, target);
    (ok ? granted : refused).push(r);
  }
  return { granted, refused };
}
