import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, isAppError } from '@eucp/core';
import { messagePage, sendHtml } from '../auth/html.js';
import { selfActor } from '../auth/self.js';
import { parseBody } from '../api/input.js';
import type { HubContext } from '../context.js';
import type { GrantView } from './store.js';
import type { ShareActor, SharingService } from './service.js';

const expiry = z.union([z.string().max(64), z.number()]).transform((v, c) => {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) {
    c.addIssue({ code: 'custom', message: 'expires_at must be an ISO 8601 time or milliseconds since the epoch.' });
    return z.NEVER;
  }
  return ms;
});
const withSchema = z.object({
  users: z.array(z.string().min(1).max(64)).max(200).optional(),
  groups: z.array(z.string().min(1).max(200)).max(200).optional(),
  link: z.object({ expires_at: expiry }).strict().optional(),
}).strict();
const createBody = z.object({
  path: z.string('Give the path of the file or folder to share.').max(4096),
  area: z.enum(['home', 'derived']).optional(),
  name: z.string().max(255).optional(),
  with: withSchema.optional(),
}).strict();

/** Numeric route ids; anything else does not exist. */
function idParam(raw: string, what: string): number {
  if (!/^[1-9]\d{0,14}$/.test(raw)) throw new AppError('NOT_FOUND', `No such ${what}: ${raw}.`);
  return Number(raw);
}

const actor = (req: FastifyRequest, write: boolean): ShareActor => selfActor(req, write);

const LINK_PATH = '/hub/shares/link/';
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function presentGrant(g: GrantView, now: number): Record<string, unknown> {
  return {
    id: g.id, kind: g.parent_grant_id !== null ? 'link-user' : g.kind,
    user: g.user_name, group: g.group_name, via_link: g.parent_grant_id,
    created: iso(g.created_at), expires_at: iso(g.expires_at), expired: g.expires_at !== null && g.expires_at <= now,
  };
}

/**
 * The sharing API (thin: validate → authorize → use case → present). Cookie-authenticated
 * writes need the anti-forgery header (checked by the auth plugin for all of /hub/api/).
 * - `POST /hub/api/eucp/shares` `{path, area?, name?, with?: {users?, groups?, link?: {expires_at}}}` → 201
 *   with the share (and `link_url` once, if a link was made);
 * - `GET /hub/api/eucp/shares` (mine, with the active grants and `managed_by`: null, or
 *   `{kind: "derived", id}` for the share of a published derived data set), `GET …/shares/with-me`;
 * - `POST …/shares/:id/grants` `{users?, groups?, link?}` → 201, `DELETE …/shares/:id/grants/:gid`, `DELETE …/shares/:id` → 204;
 *   all three 409 `SHARE_MANAGED` on a share with `managed_by` (its grants follow the data set's rule);
 * - `GET /hub/shares/link/<token>`: a logged-in user gets a grant until the link expires and
 *   is sent to "Shared with me"; a visitor is sent to log in first; an expired, revoked or
 *   unknown link answers its error as a small HTML page to browsers (JSON otherwise).
 * Also reconciles after each change of group membership made through the hub API.
 */
export async function registerSharingRoutes(app: FastifyInstance, ctx: HubContext, sharing: SharingService): Promise<void> {
  const base = '/hub/api/eucp/shares';

  const presentMine = async (a: ShareActor) => {
    const now = ctx.now();
    return (await sharing.mine(a)).map(({ share, grants, managedBy }) => ({
      id: share.id, name: share.name, area: share.area, path: share.rel_path, kind: share.kind, created: iso(share.created_at),
      grants: grants.map((g) => presentGrant(g, now)), managed_by: managedBy,
    }));
  };

  app.post(base, async (req, reply) => {
    const a = actor(req, true);
    const body = parseBody(createBody, req.body);
    const w = body.with;
    const { share, linkToken } = await sharing.create(a, {
      path: body.path, ...(body.area && { area: body.area }), ...(body.name !== undefined && { name: body.name }),
      with: { ...(w?.users && { users: w.users }), ...(w?.groups && { groups: w.groups }), ...(w?.link && { link: { expiresAt: w.link.expires_at } }) },
    });
    const mine = (await presentMine(a)).find((s) => s.id === share.id);
    return reply.status(201).send({ ...mine, ...(linkToken && { link_url: `${LINK_PATH}${linkToken}` }) });
  });

  app.get(base, async (req) => presentMine(actor(req, false)));

  app.get(`${base}/with-me`, async (req) => {
    const a = actor(req, false);
    return (await sharing.withMe(a.name)).map((s) => ({
      id: s.id, owner: s.owner, name: s.name, kind: s.kind, sandbox_path: s.sandboxPath,
      since: iso(s.since), expires_at: iso(s.expiresAt), via: s.via, mounted: s.mounted,
    }));
  });

  app.post<{ Params: { id: string } }>(`${base}/:id/grants`, async (req, reply) => {
    const a = actor(req, true);
    const id = idParam(req.params.id, 'share');
    const w = parseBody(withSchema, req.body);
    await sharing.checkOwnerMayChange(a, id);
    const { linkToken } = await sharing.addGrants(a, id, {
      ...(w.users && { users: w.users }), ...(w.groups && { groups: w.groups }), ...(w.link && { link: { expiresAt: w.link.expires_at } }),
    });
    const mine = (await presentMine(a)).find((s) => s.id === id);
    return reply.status(201).send({ ...mine, ...(linkToken && { link_url: `${LINK_PATH}${linkToken}` }) });
  });

  app.delete<{ Params: { id: string; gid: string } }>(`${base}/:id/grants/:gid`, async (req, reply) => {
    const a = actor(req, true);
    const id = idParam(req.params.id, 'share');
    const gid = idParam(req.params.gid, 'grant');
    await sharing.checkOwnerMayChange(a, id);
    await sharing.revokeGrant(a, id, gid);
    return reply.status(204).send();
  });

  app.delete<{ Params: { id: string } }>(`${base}/:id`, async (req, reply) => {
    const a = actor(req, true);
    const id = idParam(req.params.id, 'share');
    await sharing.checkOwnerMayChange(a, id);
    await sharing.revokeShare(a, id);
    return reply.status(204).send();
  });

  app.get<{ Params: { token: string } }>(`${LINK_PATH}:token`, async (req, reply: FastifyReply) => {
    if (!req.auth || req.auth.via !== 'session') {
      return reply.redirect(`/hub/login?next=${encodeURIComponent(`${LINK_PATH}${req.params.token}`)}`, 303);
    }
    try {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(req.params.token)) throw new AppError('NOT_FOUND', 'No such share link.');
      await sharing.useLink({ id: req.auth.user.id, name: req.auth.user.name }, req.params.token);
    } catch (err) {
      // A person who followed a dead link in a browser gets a page saying so, not a JSON body.
      if (!isAppError(err) || !/\btext\/html\b/.test(req.headers.accept ?? '')) throw err;
      const page = messagePage('Share link', `${err.message}${err.action ? ` ${err.action}` : ''}`, { href: '/hub/shares/with-me', text: 'Shared with me' });
      return sendHtml(reply, err.status, page);
    }
    return reply.redirect('/hub/shares/with-me', 303);
  });

  // Group membership changed through the hub API: grants to groups follow at once.
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET' && req.url.startsWith('/hub/api/groups/') && reply.statusCode < 300) await sharing.reconcile();
  });
}
