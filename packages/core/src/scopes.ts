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
  base: string;
  filter: { kind: 'user' | 'server' | 'group'; value: string } | null;
}

/** Parses one scope string; returns null for an unknown base or filter. */
export function parseScope(scope: string): ParsedScope | null {
  const [base, filterPart, extra] = scope.split('!');
  if (base === undefined || extra !== undefined || !KNOWN_SCOPES.has(base)) return null;
  if (filterPart === undefined) return { base, filter: null };
  const eq = filterPart.indexOf('=');
  const kind = filterPart.slice(0, eq);
  const value = filterPart.slice(eq + 1);
  if (eq < 1 || !value || (kind !== 'user' && kind !== 'server' && kind !== 'group')) return null;
  return { base, filter: { kind, value } };
}

/** All base scopes a base scope implies, itself included. */
export function impliedBases(base: string): Set<string> {
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

function filterCovers(filter: ParsedScope['filter'], target: ScopeTarget): boolean {
  if (filter === null) return true;
  switch (filter.kind) {
    case 'user':
      return target.user === filter.value;
    case 'server':
      return target.server !== undefined && target.server === filter.value;
    case 'group':
      return target.group === filter.value || (target.userGroups ?? []).includes(filter.value);
  }
}

/** True if the held scopes grant `required` on `target` (unfiltered if no target). */
export function hasScope(held: readonly string[], required: string, target: ScopeTarget = {}): boolean {
  for (const s of held) {
    const p = parseScope(s);
    if (!p || !impliedBases(p.base).has(required)) continue;
    if (filterCovers(p.filter, target)) return true;
  }
  return false;
}

/** True if the held scopes grant `required` on at least one resource (filtered or not). */
export function hasAnyScope(held: readonly string[], required: string): boolean {
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
