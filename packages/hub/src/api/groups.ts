import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, impliedBases, parseScope } from '@eucp/core';
import type { HubContext } from '../context.js';
import type { GroupRecord } from '../accounts/types.js';
import { requireScope } from '../auth/plugin.js';
import { paginated, parsePagination } from './pagination.js';
import { parseBody } from './input.js';
import { presentGroup } from './presenters.js';

interface NameParams { name: string }

const createGroupsBody = z.object({
  groups: z.array(z.string()).min(1, 'Must specify at least one group to create.'),
  users: z.array(z.string()).optional(),
});
const createGroupBody = z.object({ users: z.array(z.string()).optional() });
const membersBody = z.object({ users: z.array(z.string(), 'Must specify users as a list of names.') });
const propertiesBody = z.record(z.string(), z.unknown(), 'Group properties must be a JSON object.');

/** The groups a filtered `list:groups` lets the caller list; undefined = all. */
function listRestriction(scopes: readonly string[]): Set<string> | undefined {
  const out = new Set<string>();
  for (const s of scopes) {
    const p = parseScope(s);
    if (!p || !impliedBases(p.base).has('list:groups')) continue;
    if (!p.filter) return undefined;
    if (p.filter.kind === 'group') out.add(p.filter.value);
  }
  return out;
}

const READ_GROUP_SCOPES = ['read:groups', 'read:groups:name', 'read:roles:groups'];

/**
 * Group endpoints of the JupyterHub REST API (contract §d.4): list (paginated), create
 * (bulk and single), get, delete, add/remove members, replace properties.
 */
export async function registerGroupsApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const target = (name: string) => ({ group: name });
  const mustExist = async (name: string): Promise<GroupRecord> => ctx.accounts.getGroup(name);

  app.get('/hub/api/groups', async (req) => {
    const auth = requireScope(req, 'list:groups', 'any');
    const page = parsePagination(req);
    const only = listRestriction(auth.scopes);
    let items: GroupRecord[];
    let total: number;
    if (only === undefined) {
      ({ items, total } = await ctx.accounts.listGroups({ offset: page.offset, limit: page.limit }));
    } else {
      const all = (await ctx.accounts.listGroups()).items.filter((g) => only.has(g.name));
      total = all.length;
      items = all.slice(page.offset, page.offset + page.limit);
    }
    return paginated(req, page, items.map((g) => presentGroup(g, auth.scopes)), total);
  });

  app.post('/hub/api/groups', async (req, reply) => {
    const auth = requireScope(req, 'admin:groups');
    const body = parseBody(createGroupsBody, req.body);
    const created = await ctx.accounts.createGroups(body.groups, { ...(body.users && { users: body.users }), actor: auth.user.name });
    return reply.status(201).send(created.map((g) => presentGroup(g, auth.scopes)));
  });

  app.get<{ Params: NameParams }>('/hub/api/groups/:name', async (req) => {
    const auth = requireScope(req, READ_GROUP_SCOPES, target(req.params.name));
    return presentGroup(await mustExist(req.params.name), auth.scopes);
  });

  app.post<{ Params: NameParams }>('/hub/api/groups/:name', async (req, reply) => {
    const auth = requireScope(req, 'admin:groups', target(req.params.name));
    const body = parseBody(createGroupBody, req.body);
    const g = await ctx.accounts.createGroup(req.params.name, { ...(body.users && { users: body.users }), actor: auth.user.name });
    return reply.status(201).send(presentGroup(g, auth.scopes));
  });

  app.delete<{ Params: NameParams }>('/hub/api/groups/:name', async (req, reply) => {
    const auth = requireScope(req, 'delete:groups', target(req.params.name));
    await ctx.accounts.deleteGroup(req.params.name, auth.user.name);
    return reply.status(204).send();
  });

  app.post<{ Params: NameParams }>('/hub/api/groups/:name/users', async (req) => {
    const auth = requireScope(req, 'groups', target(req.params.name));
    const body = parseBody(membersBody, req.body);
    return presentGroup(await ctx.accounts.addGroupMembers(req.params.name, body.users, auth.user.name), auth.scopes);
  });

  app.delete<{ Params: NameParams }>('/hub/api/groups/:name/users', async (req) => {
    const auth = requireScope(req, 'groups', target(req.params.name));
    const body = parseBody(membersBody, req.body);
    return presentGroup(await ctx.accounts.removeGroupMembers(req.params.name, body.users, auth.user.name), auth.scopes);
  });

  app.put<{ Params: NameParams }>('/hub/api/groups/:name/properties', async (req) => {
    const auth = requireScope(req, 'groups', target(req.params.name));
    if (req.body === undefined || req.body === null) throw new AppError('INVALID_INPUT', 'Send the properties as a JSON object.');
    const props = parseBody(propertiesBody, req.body);
    return presentGroup(await ctx.accounts.setGroupProperties(req.params.name, props, auth.user.name), auth.scopes);
  });
}
