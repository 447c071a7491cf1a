import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, hasScope, isAppError } from '@eucp/core';
import type { HubContext } from '../context.js';
import { parseBody, queryParam } from '../api/input.js';
import type { AccessService } from './service.js';
import { actorOf } from './actor.js';
import { DERIVED_PREFIX } from '../derived/rule.js';
import { registerAccessAdminRoutes } from './admin-routes.js';
import { presentAudit, presentCheck, presentGroup, presentMembership, presentNotification, presentRequest } from './presenters.js';

/** The hub context with the access service (hub.ts adds it; see the wiring in the report/README). */
export type AccessContext = HubContext & { access: AccessService };

const checkQuery = z.object({
  resource: z.string('Give the resource (a dataset id, file id or URL).').min(1).max(4096),
  action: z.string().optional().transform((a, c) => {
    const v = (a ?? 'Read').toLowerCase();
    if (v === 'read') return 'Read' as const;
    if (v === 'write') return 'Write' as const;
    c.addIssue({ code: 'custom', message: 'action must be Read or Write.' });
    return z.NEVER;
  }),
});
const requestBody = z.object({
  group: z.string().min(1).max(200),
  role: z.string().min(1).max(32).optional(),
  accept_licence: z.string().max(200).optional(),
  licence_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'licence_sha256 must be 64 lower-case hex digits.').optional(),
  purpose: z.string().max(2000).optional(),
}).strict();
const decisionBody = z.object({ reason: z.string().max(2000).optional() }).strict();
const limit = z.coerce.number().int().min(1).max(500).optional();
const requestsQuery = z.object({
  state: z.enum(['pending', 'approved', 'rejected', 'revoked', 'withdrawn']).optional(),
  group: z.string().max(200).optional(),
  limit,
});
const notificationsQuery = z.object({ unread: z.enum(['0', '1', 'true', 'false']).optional(), limit });
const auditQuery = z.object({
  group: z.string().max(200).optional(), subject: z.string().max(200).optional(), action: z.string().max(32).optional(),
  before: z.coerce.number().int().positive().optional(), limit,
});

/** The first value of each named query parameter (fastify gives arrays for repeated keys). */
function query(req: FastifyRequest, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = queryParam(req.query, k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Numeric route ids; anything else is a resource that does not exist. */
function idParam(raw: string, what: string): number {
  if (!/^[1-9]\d{0,14}$/.test(raw)) throw new AppError('NOT_FOUND', `No such ${what}: ${raw}.`);
  return Number(raw);
}

/**
 * The access-control API (esgf-compat.md §1). Thin: validate → authorize → use case →
 * present. Cookie-authenticated writes need the anti-forgery header (the auth plugin's
 * preHandler checks every state-changing `/hub/api/` request).
 * - `GET /api/access/check?resource=…&action=Read` (also under `/hub/api/eucp/access/check`):
 *   Permit/Deny/Challenge for the caller or anonymous, and the groups that would grant it;
 * - `GET /hub/api/eucp/access/groups`, `GET …/groups/:name` (with the licence text), `GET …/me`;
 * - `POST /hub/api/eucp/access/requests` `{group, role?, accept_licence, licence_sha256?, purpose?}`
 *   → 201 (new) or 200 (already live); `LICENCE_NOT_ACCEPTED` (400) without acceptance;
 * - `GET …/requests?state=pending&group=…` (the requests the caller may decide);
 * - `POST …/requests/:id/approve|reject|revoke` `{reason?}` (group admins, hub admins; the
 *   requester may revoke/withdraw their own; anyone else 404);
 * - `GET /hub/api/eucp/notifications?unread=1`, `POST …/notifications/:id/read`, `POST …/notifications/read-all`;
 * - `GET /hub/api/eucp/access/audit?group=&subject=&action=&before=&limit=` (hub and group admins);
 * - the administration routes of admin-routes.ts (groups, direct grants, policy reload).
 */
export async function registerAccessRoutes(app: FastifyInstance, ctx: AccessContext): Promise<void> {
  const { access } = ctx;
  const base = '/hub/api/eucp/access';

  const check = async (req: FastifyRequest) => {
    const q = parseBody(checkQuery, query(req, ['resource', 'action']));
    const auth = req.auth;
    const user = auth ? { id: auth.user.id, name: auth.user.name } : null;
    if (ctx.derived && q.resource.startsWith(DERIVED_PREFIX)) {
      // Derived data sets follow their own rule (audience ∩ readers of every input), not the policies.
      const readable = q.action === 'Read' && (await ctx.derived.get(user, q.resource).then(() => true, (err: unknown) => {
        if (isAppError(err) && err.code === 'NOT_FOUND') return false;
        throw err;
      }));
      const decision = readable ? 'Permit' : user ? 'Deny' : 'Challenge';
      return presentCheck({ resource: q.resource, action: q.action, user: user?.name ?? null, decision, matchedPolicies: [], grantableBy: [] });
    }
    return presentCheck(await access.check(user, q.resource, q.action, !!auth && hasScope(auth.scopes, 'admin:groups')));
  };
  app.get('/api/access/check', check);
  app.get(`${base}/check`, check);

  app.get(`${base}/groups`, async (req) => {
    const actor = req.auth ? actorOf(req) : null;
    return (await access.listGroups(actor)).map((g) => presentGroup(g));
  });

  app.get<{ Params: { name: string } }>(`${base}/groups/:name`, async (req) => {
    const actor = req.auth ? actorOf(req) : null;
    return presentGroup(await access.getGroup(req.params.name, actor), true);
  });

  app.get(`${base}/me`, async (req) => {
    const actor = actorOf(req);
    const [memberships, requests] = await Promise.all([access.membershipsOf(actor.id), access.myRequests(actor.id)]);
    return { user: actor.name, memberships: memberships.map(presentMembership), requests: requests.map(presentRequest) };
  });

  app.post(`${base}/requests`, async (req, reply) => {
    const actor = actorOf(req);
    const body = parseBody(requestBody, req.body);
    const r = await access.request(actor, {
      group: body.group, role: body.role, acceptLicence: body.accept_licence, licenceSha256: body.licence_sha256, purpose: body.purpose,
    });
    return reply.status(r.created ? 201 : 200).send(presentRequest(r.request));
  });

  app.get(`${base}/requests`, async (req) => {
    const actor = actorOf(req);
    const q = parseBody(requestsQuery, query(req, ['state', 'group', 'limit']));
    return (await access.requestsToDecide(actor, q)).map(presentRequest);
  });

  for (const decision of ['approve', 'reject', 'revoke'] as const) {
    app.post<{ Params: { id: string } }>(`${base}/requests/:id/${decision}`, async (req) => {
      const actor = actorOf(req);
      const id = idParam(req.params.id, 'access request');
      const body = parseBody(decisionBody, req.body);
      return presentRequest(await access[decision](actor, id, body.reason));
    });
  }

  app.get('/hub/api/eucp/notifications', async (req) => {
    const actor = actorOf(req);
    const q = parseBody(notificationsQuery, query(req, ['unread', 'limit']));
    const r = await access.notifications(actor.id, { unreadOnly: q.unread === '1' || q.unread === 'true', ...(q.limit && { limit: q.limit }) });
    return { unread: r.unread, notifications: r.items.map(presentNotification) };
  });

  app.post<{ Params: { id: string } }>('/hub/api/eucp/notifications/:id/read', async (req) => {
    const actor = actorOf(req);
    return presentNotification(await access.markRead(actor.id, idParam(req.params.id, 'notification')));
  });

  app.post('/hub/api/eucp/notifications/read-all', async (req) => {
    const actor = actorOf(req);
    return { marked: await access.markAllRead(actor.id) };
  });

  app.get(`${base}/audit`, async (req) => {
    const actor = actorOf(req);
    const q = parseBody(auditQuery, query(req, ['group', 'subject', 'action', 'before', 'limit']));
    return (await access.auditTrail(actor, { group: q.group, subject: q.subject, action: q.action, beforeId: q.before, limit: q.limit })).map(presentAudit);
  });

  await registerAccessAdminRoutes(app, ctx);
}
