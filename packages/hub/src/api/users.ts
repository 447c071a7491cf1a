import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, impliedBases, isAppError, parseScope, parseTimestamp, type UserName } from '@eucp/core';
import type { HubContext } from '../context.js';
import type { UserRecord } from '../accounts/types.js';
import { queryUsers, recordActivity, serversOfUsers, type UserSortKey, type UserStateFilter } from '../accounts/user-queries.js';
import { requireScope } from '../auth/plugin.js';
import type { AuthContext } from '../auth/types.js';
import { paginated, parsePagination } from './pagination.js';
import { parseBody, queryFlag, queryParam } from './input.js';
import { presentUser, serverActive, type ServerRow, type UserPresentOptions } from './presenters.js';

interface NameParams { name: string }

/** Activity more than this far in the future is refused (JupyterHub: 59 minutes). */
const MAX_FUTURE_ACTIVITY_MS = 59 * 60_000;

/** Scopes any of which lets a caller see (part of) a user model. */
const READ_USER_SCOPES = ['read:users', 'read:users:name', 'read:servers', 'read:users:groups', 'read:users:activity', 'read:roles:users'];

const createUsersBody = z.object({
  usernames: z.array(z.string()).min(1, 'Must specify at least one user to create.'),
  admin: z.boolean().optional(),
});
const createUserBody = z.object({ admin: z.boolean().optional() });
const patchUserBody = z.object({ name: z.string().optional(), admin: z.boolean().optional(), auth_state: z.unknown().optional() });

/** Loads groups and servers of users and presents them with the requester's scopes. */
export async function presentUsers(ctx: HubContext, users: readonly UserRecord[], opts: UserPresentOptions): Promise<Array<Record<string, unknown>>> {
  const ids = users.map((u) => u.id);
  const [groups, servers] = await Promise.all([ctx.accounts.groupsOfUsers(ids), serversOfUsers(ctx.db, ids)]);
  return users.map((user) => presentUser({ user, groups: groups.get(user.id) ?? [], servers: servers.get(user.id) ?? [] }, opts));
}

/** The users (and groups) a filtered `list:users` lets the caller list; undefined = all. */
function listRestriction(scopes: readonly string[]): { users: string[]; groups: string[] } | undefined {
  const users: string[] = [];
  const groups: string[] = [];
  for (const s of scopes) {
    const p = parseScope(s);
    if (!p || !impliedBases(p.base).has('list:users')) continue;
    if (!p.filter) return undefined;
    if (p.filter.kind === 'user') users.push(p.filter.value);
    else if (p.filter.kind === 'server') users.push(p.filter.value.split('/')[0]!);
    else groups.push(p.filter.value);
  }
  return { users, groups };
}

function parseState(raw: string | undefined): UserStateFilter | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'active' || raw === 'ready' || raw === 'inactive') return raw;
  throw new AppError('INVALID_INPUT', `Unrecognized state filter: ${JSON.stringify(raw)}; use active, ready or inactive.`, { field: 'state' });
}

function parseSort(raw: string | undefined): { key: UserSortKey; descending: boolean } | undefined {
  if (raw === undefined || raw === '') return undefined;
  const descending = raw.startsWith('-');
  const key = descending ? raw.slice(1) : raw;
  if (key === 'id' || key === 'name' || key === 'last_activity') return { key, descending };
  throw new AppError('INVALID_INPUT', `Unrecognized sort: ${JSON.stringify(raw)}; use id, name or last_activity (prefix - for descending).`, { field: 'sort' });
}

function presentOpts(ctx: HubContext, auth: AuthContext, req: FastifyRequest): UserPresentOptions {
  return { scopes: auth.scopes, publicUrl: ctx.config.publicUrl, includeStoppedServers: queryFlag(req.query, 'include_stopped_servers') };
}

async function userTarget(ctx: HubContext, name: string): Promise<{ user: UserRecord | null; target: { user: string; userGroups: string[] } }> {
  const user = await ctx.accounts.findUser(name);
  const userGroups = user ? await ctx.accounts.groupsOf(user.id) : [];
  return { user, target: { user: name, userGroups } };
}

function mustExist(user: UserRecord | null, name: string): UserRecord {
  if (!user) throw new AppError('NOT_FOUND', `No such user: ${name}.`);
  return user;
}

/** Parses the activity body (contract §c.2). Throws `INVALID_INPUT`. */
export function parseActivityBody(body: unknown, now: number): { user?: number; servers: Map<string, number> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('INVALID_INPUT', 'The body must be a JSON object with last_activity and/or servers.');
  }
  const b = body as Record<string, unknown>;
  if (b.last_activity === undefined && b.servers === undefined) {
    throw new AppError('INVALID_INPUT', 'Give last_activity or servers.');
  }
  const stamp = (raw: unknown, where: string): number => {
    const t = parseTimestamp(raw);
    if (t === null) throw new AppError('INVALID_INPUT', `${where} must be an ISO 8601 timestamp, got ${JSON.stringify(raw)}.`);
    if (t > now + MAX_FUTURE_ACTIVITY_MS) throw new AppError('INVALID_INPUT', `${where} is in the future: ${String(raw)}.`);
    return t;
  };
  const out: { user?: number; servers: Map<string, number> } = { servers: new Map() };
  if (b.last_activity !== undefined && b.last_activity !== null) out.user = stamp(b.last_activity, 'last_activity');
  if (b.servers !== undefined) {
    if (typeof b.servers !== 'object' || b.servers === null || Array.isArray(b.servers)) {
      throw new AppError('INVALID_INPUT', 'servers must be an object {name: {last_activity: timestamp}}.');
    }
    for (const [name, info] of Object.entries(b.servers as Record<string, unknown>)) {
      const la = typeof info === 'object' && info !== null ? (info as Record<string, unknown>).last_activity : undefined;
      if (la === undefined) throw new AppError('INVALID_INPUT', `servers.${JSON.stringify(name)} must have last_activity.`);
      out.servers.set(name, stamp(la, `servers[${JSON.stringify(name)}].last_activity`));
    }
  }
  return out;
}

/**
 * Users endpoints of the JupyterHub REST API (contract §d.4): list (paginated,
 * filterable), bulk create, get/create/patch/delete one user, and activity reports.
 */
export async function registerUsersApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  app.get('/hub/api/users', async (req) => {
    const auth = requireScope(req, 'list:users', 'any');
    const state = parseState(queryParam(req.query, 'state'));
    const sort = parseSort(queryParam(req.query, 'sort'));
    const page = parsePagination(req);
    const restrictTo = listRestriction(auth.scopes);
    const { items, total } = await queryUsers(ctx.db, {
      offset: page.offset, limit: page.limit, ...(state && { state }), ...(sort && { sort }), ...(restrictTo && { restrictTo }),
      nameFilter: queryParam(req.query, 'name_filter') ?? '',
    });
    const serverFilter = state === 'ready' ? (r: ServerRow) => r.state === 'running'
      : state === 'active' ? serverActive : undefined;
    const models = await presentUsers(ctx, items, { ...presentOpts(ctx, auth, req), ...(serverFilter && { serverFilter }) });
    return paginated(req, page, models, total);
  });

  app.post('/hub/api/users', async (req, reply) => {
    const auth = requireScope(req, 'admin:users');
    const body = parseBody(createUsersBody, req.body);
    if (body.admin && !auth.user.admin) throw new AppError('FORBIDDEN', 'Only administrators can create administrators.');
    const { created, existing } = await ctx.accounts.createUsers(body.usernames, { admin: body.admin ?? false, actor: auth.user.name });
    if (created.length === 0) throw new AppError('NAME_TAKEN', `All ${existing.length} users already exist.`);
    return reply.status(201).send(await presentUsers(ctx, created, presentOpts(ctx, auth, req)));
  });

  app.get<{ Params: NameParams }>('/hub/api/users/:name', async (req) => {
    const { user, target } = await userTarget(ctx, req.params.name);
    const auth = requireScope(req, READ_USER_SCOPES, target);
    const [model] = await presentUsers(ctx, [mustExist(user, req.params.name)], presentOpts(ctx, auth, req));
    return model;
  });

  app.post<{ Params: NameParams }>('/hub/api/users/:name', async (req, reply) => {
    const auth = requireScope(req, 'admin:users', { user: req.params.name });
    const body = parseBody(createUserBody, req.body);
    if (body.admin && !auth.user.admin) throw new AppError('FORBIDDEN', 'Only administrators can create administrators.');
    const user = await ctx.accounts.createUser(req.params.name, { admin: body.admin ?? false, actor: auth.user.name });
    const [model] = await presentUsers(ctx, [user], presentOpts(ctx, auth, req));
    return reply.status(201).send(model);
  });

  app.patch<{ Params: NameParams }>('/hub/api/users/:name', async (req) => {
    const { user: found, target } = await userTarget(ctx, req.params.name);
    const auth = requireScope(req, 'admin:users', target);
    const body = parseBody(patchUserBody, req.body);
    let user = mustExist(found, req.params.name);
    if (body.auth_state !== undefined) throw new AppError('INVALID_INPUT', 'auth_state is not stored by this hub.', { field: 'auth_state' });
    if (body.admin === true && !auth.user.admin) throw new AppError('FORBIDDEN', 'Only administrators can grant admin.');
    if (body.name !== undefined && body.name !== user.name && (await ctx.accounts.findUser(body.name))) {
      throw new AppError('INVALID_INPUT', `User ${body.name} already exists.`, { field: 'name' });
    }
    if (body.admin !== undefined) user = await ctx.accounts.setAdmin(user.name, body.admin, auth.user.name);
    if (body.name !== undefined && body.name !== user.name) {
      try {
        user = await ctx.accounts.renameUser(user.name, body.name, auth.user.name);
      } catch (err) {
        if (isAppError(err) && err.code === 'NAME_TAKEN') throw new AppError('INVALID_INPUT', `User ${body.name} already exists.`, { field: 'name' });
        throw err;
      }
    }
    const [model] = await presentUsers(ctx, [user], presentOpts(ctx, auth, req));
    return model;
  });

  app.delete<{ Params: NameParams }>('/hub/api/users/:name', async (req, reply) => {
    const { user: found, target } = await userTarget(ctx, req.params.name);
    const auth = requireScope(req, 'delete:users', target);
    const user = mustExist(found, req.params.name);
    if (user.id === auth.user.id) throw new AppError('CANNOT_DELETE_SELF');
    if (user.admin && (await ctx.accounts.countAdmins()) <= 1) throw new AppError('LAST_ADMIN', `${user.name} is the only administrator.`);
    await ctx.servers.stopAll(user.name as UserName);
    await ctx.accounts.removeUser(user.name, auth.user.name);
    return reply.status(204).send();
  });

  app.post<{ Params: NameParams }>('/hub/api/users/:name/activity', async (req, reply) => {
    const { user: found, target } = await userTarget(ctx, req.params.name);
    requireScope(req, 'users:activity', target);
    const user = mustExist(found, req.params.name);
    const update = parseActivityBody(req.body, ctx.now());
    if (update.servers.size) {
      const names = new Set((await serversOfUsers(ctx.db, [user.id])).get(user.id)?.map((s) => s.name));
      for (const name of update.servers.keys()) {
        if (!names.has(name)) throw new AppError('INVALID_INPUT', `No such server '${name}' for user ${user.name}.`);
      }
    }
    await recordActivity(ctx.db, user.id, { ...(update.user !== undefined && { user: update.user }), servers: update.servers });
    return reply.status(200).send();
  });
}
