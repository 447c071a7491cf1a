import type { FastifyInstance } from 'fastify';
import { isoformat } from '@eucp/core';
import type { HubContext } from '../context.js';
import { requireScope } from '../auth/plugin.js';
import type { RouteTable } from '../proxy/routes.js';

/**
 * `GET /hub/api/proxy` (scope `proxy`): the routing table in JupyterHub's shape,
 * `{routespec: {routespec, target, data: {user, server_name, last_activity}}}`. The proxy
 * lives in the hub, so there is nothing to resync: `POST`/`PATCH` answer 200 and change
 * nothing (kept for clients that call them after changing routes).
 */
export async function registerProxyApi(app: FastifyInstance, ctx: HubContext, routes: RouteTable): Promise<void> {
  app.get('/hub/api/proxy', async (req) => {
    requireScope(req, 'proxy');
    const activity = new Map((await ctx.servers.listRunning()).map((r) => [`${r.user_name}/${r.name}`, r.last_activity]));
    const table: Record<string, unknown> = {};
    for (const r of routes.all().sort((a, b) => a.prefix.localeCompare(b.prefix))) {
      table[r.prefix] = {
        routespec: r.prefix,
        target: r.target,
        data: { user: r.user, server_name: r.server, last_activity: isoformat(activity.get(`${r.user}/${r.server}`) ?? null) },
      };
    }
    return table;
  });
  for (const method of ['POST', 'PATCH'] as const) {
    app.route({ method, url: '/hub/api/proxy', handler: async (req, reply) => { requireScope(req, 'proxy'); return reply.status(200).send(); } });
  }
}
