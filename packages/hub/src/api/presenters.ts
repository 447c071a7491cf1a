import { compileScopes, hasScope, isoformat, serverPrefix, type ScopeSet, type ScopeTarget, type ServerName, type UserName } from '@eucp/core';
import type { Selectable } from 'kysely';
import type { GroupRecord, UserRecord } from '../accounts/types.js';
import type { ServersTable } from '../db/schema.js';
import type { TokenRecord } from '../auth/tokens.js';
import { tokenApiId } from '../auth/tokens.js';
import { roleNames } from '../auth/scope-sets.js';

/**
 * Presenters: the only place that decides which fields leave the hub, in the shapes of
 * the JupyterHub REST API (contract §d.3). Database rows never leave the server.
 */

export type ServerRow = Selectable<ServersTable>;
type Json = Record<string, unknown>;

export interface PresentContext {
  /** The requester's expanded scopes: they decide which fields appear. */
  scopes: readonly string[];
  /** `config.publicUrl`: with it, servers get `full_url`/`full_progress_url`. */
  publicUrl: string | null;
}

/** `spawn` while starting, `stop` while stopping, else null. */
export function serverPending(row: Pick<ServerRow, 'state'>): 'spawn' | 'stop' | null {
  return row.state === 'starting' ? 'spawn' : row.state === 'stopping' ? 'stop' : null;
}

/** Ready (running) or pending: the servers listed without `include_stopped_servers`. */
export function serverActive(row: Pick<ServerRow, 'state'>): boolean {
  return row.state === 'running' || serverPending(row) !== null;
}

function parseJsonObject(text: string): Json {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
  } catch {
    return {};
  }
}

function absolute(publicUrl: string | null, path: string): string | null {
  return publicUrl ? publicUrl.replace(/\/+$/, '') + path : null;
}

/** The server model of one `servers` row of `user`. */
export function presentServer(user: UserName, row: ServerRow, pc: PresentContext, userGroups: readonly string[] = []): Json {
  const showState = hasScope(pc.scopes, 'admin:server_state', { user, server: `${user}/${row.name}`, userGroups });
  return serverModel(user, row, pc.publicUrl, showState);
}

function serverModel(user: UserName, row: ServerRow, publicUrl: string | null, showState: boolean): Json {
  const name = row.name as ServerName;
  const url = serverPrefix(user, name);
  const progressUrl = name
    ? `/hub/api/users/${user}/servers/${name}/progress`
    : `/hub/api/users/${user}/server/progress`;
  const pending = serverPending(row);
  const ready = row.state === 'running';
  const model: Json = {
    name,
    full_name: `${user}/${name}`,
    last_activity: isoformat(row.last_activity),
    started: ready || pending ? isoformat(row.started_at) : null,
    pending,
    ready,
    stopped: !(ready || pending),
    url,
    user_options: parseJsonObject(row.user_options),
    progress_url: progressUrl,
    full_url: absolute(publicUrl, url),
    full_progress_url: absolute(publicUrl, progressUrl),
  };
  if (showState) model.state = parseJsonObject(row.spawner_state);
  return model;
}

export interface UserModelInput {
  user: UserRecord;
  groups: readonly string[];
  /** All server rows of the user; which ones appear is decided here. */
  servers: readonly ServerRow[];
}

export interface UserPresentOptions extends PresentContext {
  /** List stopped servers too (`?include_stopped_servers`). */
  includeStoppedServers?: boolean;
  /** Further restricts listed servers (the `state` filter of `GET /users`). */
  serverFilter?: (row: ServerRow) => boolean;
  /** Scopes the caller holds for this request only (identify scopes of `GET /user`). */
  extraScopes?: readonly string[];
}

/** Fields of the user model, in the order they are written. */
type UserField = 'kind' | 'name' | 'admin' | 'roles' | 'groups' | 'server' | 'pending' | 'created' | 'last_activity' | 'servers' | 'auth_state';

/** Fields each scope unlocks on a user model (contract §d.3). */
const USER_FIELDS: ReadonlyArray<[string, readonly UserField[]]> = [
  ['read:users', ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity']],
  ['read:users:name', ['kind', 'name', 'admin']],
  ['read:users:groups', ['kind', 'name', 'groups']],
  ['read:users:activity', ['kind', 'name', 'last_activity']],
  ['read:servers', ['kind', 'name', 'servers']],
  ['read:roles:users', ['kind', 'name', 'roles', 'admin']],
  ['admin:auth_state', ['kind', 'name', 'auth_state']],
];

/**
 * What a set of scopes shows of user models, worked out once per scope set instead of
 * once per user: the fields unfiltered scopes grant for every user, and the (few) filtered
 * scopes that need a per-user test. An admin's plan has no per-user part at all.
 */
interface UserFieldPlan {
  scopes: ScopeSet;
  /** Fields shown for every user. */
  always: ReadonlySet<UserField>;
  /** Scopes held only with filters, with the fields each unlocks for the users it covers. */
  conditional: ReadonlyArray<[string, readonly UserField[]]>;
  /** `read:servers` / `admin:server_state` held unfiltered. */
  allServers: boolean;
  allServerState: boolean;
}

const plans = new WeakMap<ScopeSet, UserFieldPlan>();

function userFieldPlan(scopeList: readonly string[]): UserFieldPlan {
  const scopes = compileScopes(scopeList);
  let plan = plans.get(scopes);
  if (plan) return plan;
  const always = new Set<UserField>();
  const conditional: Array<[string, readonly UserField[]]> = [];
  for (const [scope, fields] of USER_FIELDS) {
    if (scopes.hasUnfiltered(scope)) for (const f of fields) always.add(f);
    else if (scopes.hasAny(scope)) conditional.push([scope, fields]);
  }
  plan = {
    scopes, always, conditional: conditional.filter(([, fields]) => fields.some((f) => !always.has(f))),
    allServers: scopes.hasUnfiltered('read:servers'), allServerState: scopes.hasUnfiltered('admin:server_state'),
  };
  plans.set(scopes, plan);
  return plan;
}

/** The user model, with only the fields the requester's scopes cover for this user. */
export function presentUser(input: UserModelInput, opts: UserPresentOptions): Json {
  const { user, groups } = input;
  const scopeList = opts.extraScopes ? [...opts.scopes, ...opts.extraScopes] : opts.scopes;
  const plan = userFieldPlan(scopeList);
  const target: ScopeTarget = { user: user.name, userGroups: groups };
  let allowed = plan.always;
  if (plan.conditional.length) {
    let extended: Set<UserField> | null = null;
    for (const [scope, fields] of plan.conditional) {
      if (!plan.scopes.has(scope, target)) continue;
      extended ??= new Set(allowed);
      for (const f of fields) extended.add(f);
    }
    if (extended) allowed = extended;
  }

  const servers: Json = {};
  let anyServer = false;
  for (const row of input.servers) {
    if (!opts.includeStoppedServers && !serverActive(row)) continue;
    if (opts.serverFilter && !opts.serverFilter(row)) continue;
    const server = `${user.name}/${row.name}`;
    if (!plan.allServers && !plan.scopes.has('read:servers', { ...target, server })) continue;
    const showState = plan.allServerState || plan.scopes.has('admin:server_state', { ...target, server });
    servers[row.name] = serverModel(user.name, row, opts.publicUrl, showState);
    anyServer = true;
  }
  // A server-filtered read:servers scope still shows the servers it covers.
  const showServers = allowed.has('servers') || anyServer;

  const out: Json = {};
  if (allowed.has('kind')) out.kind = 'user';
  if (allowed.has('name')) out.name = user.name;
  if (allowed.has('admin')) out.admin = user.admin;
  if (allowed.has('roles')) out.roles = roleNames(user);
  if (allowed.has('groups')) out.groups = [...groups];
  if (allowed.has('server') || allowed.has('pending')) {
    const defaultServer = input.servers.find((s) => s.name === '');
    if (allowed.has('server')) out.server = defaultServer?.state === 'running' ? serverPrefix(user.name, '' as ServerName) : null;
    if (allowed.has('pending')) out.pending = defaultServer ? serverPending(defaultServer) : null;
  }
  if (allowed.has('created')) out.created = isoformat(user.createdAt);
  if (allowed.has('last_activity')) out.last_activity = isoformat(user.lastActivity);
  if (showServers) out.servers = servers;
  if (allowed.has('auth_state')) out.auth_state = null;
  return out;
}

const GROUP_FIELDS: ReadonlyArray<[string, readonly string[]]> = [
  ['read:groups', ['kind', 'name', 'users', 'properties']],
  ['read:groups:name', ['kind', 'name']],
  ['read:roles:groups', ['kind', 'name', 'roles']],
];

/** The group model `{kind, name, users, roles, properties}`, filtered by scope. */
export function presentGroup(group: GroupRecord, scopes: readonly string[]): Json {
  const allowed = new Set<string>();
  for (const [scope, fields] of GROUP_FIELDS) if (hasScope(scopes, scope, { group: group.name })) for (const f of fields) allowed.add(f);
  const full: Json = { kind: 'group', name: group.name, users: [...group.users], roles: [], properties: group.properties };
  const out: Json = {};
  for (const [k, v] of Object.entries(full)) if (allowed.has(k)) out[k] = v;
  return out;
}

/**
 * The token model. `scopes` are the token's effective expanded scopes; `oauthClient` is
 * the description of its OAuth client (JupyterHub shows `JupyterHub` for plain tokens).
 */
export function presentToken(token: TokenRecord, owner: UserName, scopes: readonly string[], oauthClient?: string | null): Json {
  return {
    user: owner,
    id: tokenApiId(token.id),
    kind: 'api_token',
    roles: [],
    scopes: [...scopes],
    created: isoformat(token.createdAt),
    last_activity: isoformat(token.lastActivity),
    expires_at: isoformat(token.expiresAt),
    note: token.note,
    session_id: token.sessionId,
    oauth_client: token.oauthClientId === null ? 'JupyterHub' : (oauthClient ?? token.oauthClientId),
  };
}
