import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '@eucp/core';
import { parseBody } from '../api/input.js';
import { presentGroup, presentRequest } from './presenters.js';
import { actorOf } from './actor.js';
import type { AccessContext } from './routes.js';

/** ESGF group names are free text ("CORDEX Research"); no control characters, no slashes (they are URL segments). */
const groupName = z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f/]+$/, 'A group name has no control characters and no "/".')
  .refine((s) => s.trim() === s, 'A group name does not start or end with spaces.');

const groupBody = z.object({
  description: z.string().max(4000).optional(),
  grants: z.string().max(4000).optional(),
  visible: z.boolean().optional(),
  automatic_approval: z.boolean().optional(),
  licence_id: z.string().min(1).max(200).nullable().optional(),
  licence_text: z.string().min(1).max(200_000).nullable().optional(),
}).strict().refine((b) => (b.licence_id === undefined) === (b.licence_text === undefined)
  && (b.licence_id === null) === (b.licence_text === null), {
  message: 'Give licence_id and licence_text together (both null removes the licence).',
});

const memberBody = z.object({
  user: z.string().min(1).max(255),
  role: z.enum(['user', 'admin'], 'role must be "user" or "admin".').default('user'),
}).strict();

/**
 * Administration of ESGF access groups without editing files (esgf-compat.md §1):
 * - `PUT /hub/api/eucp/access/groups/:name` (hub admins): creates a group or changes the
 *   given fields (`description`, `visible`, `automatic_approval`, `licence_id` +
 *   `licence_text`); a changed licence text is a new licence version that later requests
 *   must accept. 201 when created, 200 when changed.
 * - `POST /hub/api/eucp/access/groups/:name/members` `{user, role}` (hub admins and the
 *   group's admins): grants an approved membership directly — audited as an approval,
 *   notified like one, and running servers of that user are marked outdated.
 * - `POST /hub/api/eucp/access/policies/reload` (hub admins): compiles the policy files
 *   again; a broken one is refused naming it (400 `ACCESS_POLICY_INVALID`) and the old
 *   policies stay in force.
 */
export async function registerAccessAdminRoutes(app: FastifyInstance, ctx: AccessContext): Promise<void> {
  const { access } = ctx;
  const base = '/hub/api/eucp/access';

  app.put<{ Params: { name: string } }>(`${base}/groups/:name`, async (req, reply) => {
    const actor = actorOf(req);
    if (!actor.hubAdmin) throw new AppError('FORBIDDEN', 'Only hub administrators create and change access groups.');
    const name = parseBody(groupName, req.params.name);
    const body = parseBody(groupBody, req.body ?? {});
    const existing = (await access.listGroups(actor)).find((g) => g.name === name);
    const group = await access.upsertGroup({
      name,
      description: body.description ?? existing?.description ?? '',
      grants: body.grants ?? existing?.grants ?? '',
      visible: body.visible ?? existing?.visible ?? true,
      automaticApproval: body.automatic_approval ?? existing?.automaticApproval ?? false,
      licenceId: body.licence_id !== undefined ? body.licence_id : existing?.licenceId ?? null,
      licenceText: body.licence_text !== undefined ? body.licence_text : existing?.licenceText ?? null,
    }, actor.name);
    return reply.status(existing ? 200 : 201).send(presentGroup(await access.getGroup(group.name, actor), true));
  });

  app.post<{ Params: { name: string } }>(`${base}/groups/:name/members`, async (req, reply) => {
    const actor = actorOf(req);
    const group = await access.getGroup(req.params.name, actor);
    if (!group.canDecide) throw new AppError('FORBIDDEN', `Only administrators of ${group.name} (or hub administrators) add members to it.`);
    const body = parseBody(memberBody, req.body ?? {});
    const user = await ctx.accounts.findUser(body.user);
    if (!user) throw new AppError('NOT_FOUND', `No such user: ${body.user}.`);
    const granted = await access.grantMembership(user.id, group.name, body.role, true, actor.name);
    return reply.status(201).send(presentRequest(granted));
  });

  app.post(`${base}/policies/reload`, async (req) => {
    const actor = actorOf(req);
    if (!actor.hubAdmin) throw new AppError('FORBIDDEN', 'Only hub administrators reload the access policies.');
    return access.reloadPolicies(actor.name);
  });
}
