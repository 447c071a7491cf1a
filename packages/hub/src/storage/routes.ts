import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, hasScope, parseGroupName, parseUserName } from '@eucp/core';
import type { HubContext } from '../context.js';
import { requireAuth, requireScope } from '../auth/plugin.js';
import { parseBody } from '../api/input.js';
import type { QuotaKind, StorageService } from './service.js';
import { presentStorageView, presentUnit } from './presenters.js';
import { parseSize } from './sizes.js';

/** The hub context with the storage service (hub.ts adds it). */
export type StorageContext = HubContext & { storage: StorageService };

/** A limit in a request: bytes or a size string (`8G`), `null` = no limit, `"default"` = the configured default. */
const limit = z.union([z.number(), z.string(), z.null()]).optional();
const quotaBody = z.object({ soft: limit, hard: limit }).strict()
  .refine((b) => b.soft !== undefined || b.hard !== undefined, 'Give soft and/or hard (bytes, a size such as "10G", null for no limit, or "default").');

const toLimit = (v: string | number | null | undefined, field: string): number | null | 'default' | undefined =>
  v === undefined || v === null ? v : v === 'default' ? 'default' : parseSize(v, field);

/**
 * The storage API (thin: validate → authorize → use case → present):
 * - `GET /hub/api/eucp/storage`: the caller's storage — home + /derived against their
 *   quota, the workspaces of their groups, each with `warning` once over the soft limit;
 * - `GET /hub/api/eucp/storage/users/:name`, `GET …/groups/:name` (`admin:users` /
 *   `admin:groups` on it; else 404 for a name the caller may not see);
 * - `PUT /hub/api/eucp/storage/quotas/users/:name`, `PUT …/quotas/groups/:name`
 *   `{soft?, hard?}`: override the defaults; a hard limit below current usage is refused
 *   (`QUOTA_BELOW_USAGE`, 400, with the usage) and nothing changes.
 */
export async function registerStorageRoutes(app: FastifyInstance, ctx: StorageContext): Promise<void> {
  const { storage } = ctx;
  const base = '/hub/api/eucp/storage';
  const sandboxHome = (user: string): string => `/home/${ctx.config.spawner.unixUserPrefix}${user}`;

  app.get(base, async (req, reply) => {
    const auth = requireAuth(req);
    if (!hasScope(auth.scopes, 'read:users', { user: auth.user.name, userGroups: auth.user.groups })) {
      throw new AppError('FORBIDDEN', 'Requires read:users on yourself (a browser session, or a token with inherit).');
    }
    reply.header('Cache-Control', 'no-store');
    return presentStorageView(await storage.viewFor(auth.user.name, auth.user.groups), sandboxHome(auth.user.name));
  });

  const target = async (kind: QuotaKind, raw: string): Promise<string> => {
    if (kind === 'user') {
      const name = parseUserName(raw);
      if (!(await ctx.accounts.findUser(name))) throw new AppError('NOT_FOUND', `No such user ${name}.`);
      return name;
    }
    const name = parseGroupName(raw);
    const g = await ctx.db.selectFrom('groups').select('id').where('name', '=', name).executeTakeFirst();
    if (!g) throw new AppError('NOT_FOUND', `No such group ${name}.`);
    return name;
  };
  const authorize = (req: Parameters<typeof requireAuth>[0], kind: QuotaKind, name: string): string => {
    const auth = kind === 'user' ? requireScope(req, 'admin:users', { user: name }) : requireScope(req, 'admin:groups', { group: name });
    return auth.user.name;
  };

  for (const [kind, seg] of [['user', 'users'], ['group', 'groups']] as const) {
    app.get<{ Params: { name: string } }>(`${base}/${seg}/:name`, async (req, reply) => {
      authorize(req, kind, req.params.name);
      const name = await target(kind, req.params.name);
      reply.header('Cache-Control', 'no-store');
      return presentUnit(await storage.unitStatus(kind, name));
    });

    app.put<{ Params: { name: string } }>(`${base}/quotas/${seg}/:name`, async (req) => {
      const actor = authorize(req, kind, req.params.name);
      const name = await target(kind, req.params.name);
      const body = parseBody(quotaBody, req.body);
      const patch = { softBytes: toLimit(body.soft, 'soft'), hardBytes: toLimit(body.hard, 'hard') };
      return presentUnit(await storage.setQuota(kind, name, patch, actor));
    });
  }
}
