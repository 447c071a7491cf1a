import http from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { AppError, ERROR_CATALOG } from '@eucp/core';
import type { HubContext } from './context.js';
import { installErrorHandling } from './http/errors.js';
import { registerAuth } from './auth/plugin.js';
import { registerLoginPages } from './auth/pages.js';
import { registerHubApi } from './api/hub.js';
import { registerUsersApi } from './api/users.js';
import { registerGroupsApi } from './api/groups.js';
import { registerTokensApi } from './api/tokens.js';
import { registerOAuth } from './api/oauth.js';
import { registerServersApi } from './api/servers.js';
import { UserProxy } from './proxy/index.js';
import type { RouteTable } from './proxy/routes.js';
import { registerWeb } from './web/index.js';

/**
 * Builds the hub's HTTP application over ready services. Never listens: main.ts (or a
 * test) calls `app.listen` / `app.inject`. Route plugins are registered in a fixed order:
 * auth first (it resolves `request.auth` for everything after it).
 */
export async function buildApp(ctx: HubContext, routes: RouteTable): Promise<{ app: FastifyInstance; proxy: UserProxy }> {
  const proxy = new UserProxy(ctx, routes);
  const app = Fastify({
    // `/user/…` goes straight to the proxy, before fastify parses anything, so bodies
    // stream through untouched and proxied requests pay no routing cost.
    serverFactory: (handler) => {
      const server = http.createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
        if (UserProxy.handles(req.url)) void proxy.handleRequest(req, res);
        else handler(req, res);
      });
      server.on('upgrade', (req, socket, head) => {
        if (UserProxy.handles(req.url)) void proxy.handleUpgrade(req, socket, head);
        else socket.destroy();
      });
      return server;
    },
    loggerInstance: ctx.log.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    disableRequestLogging: true,
    trustProxy: false,
    bodyLimit: 10 * 1024 * 1024,
  });
  await app.register(formbody);
  // JupyterHub accepts an empty body with Content-Type: application/json (e.g. POST …/server).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try { done(null, JSON.parse(text)); } catch { done(new AppError('INVALID_JSON'), undefined); }
  });
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('X-JupyterHub-Version', ctx.jupyterhubVersion);
  });
  installErrorHandling(app, ctx);

  await registerAuth(app, ctx);
  await registerLoginPages(app, ctx);
  await registerHubApi(app, ctx);
  await registerUsersApi(app, ctx);
  await registerGroupsApi(app, ctx);
  await registerTokensApi(app, ctx);
  await registerOAuth(app, ctx);
  await registerServersApi(app, ctx);
  await registerWeb(app, ctx);
  app.addHook('onClose', async () => proxy.close());
  return { app, proxy };
}

export { ERROR_CATALOG };
export { errorBody } from './http/errors.js';
