import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { LabContext } from './context.js';
import type { LabAuth } from './http/auth.js';
import { installErrorHandler } from './http/errors.js';
import { authHooks } from './http/auth.js';
import { serverRoutes } from './http/server-routes.js';
import { contentsRoutes } from './contents/routes.js';
import { kernelRoutes } from './kernels/routes.js';
import { sessionRoutes } from './sessions/routes.js';
import { terminalRoutes } from './terminals/routes.js';
import { executionRoutes } from './execution/routes.js';
import { uiRoutes } from './ui/routes.js';

/** Largest request body accepted (a notebook save of a few hundred MB still fits). */
export const BODY_LIMIT_BYTES = 1024 * 1024 * 1024;

/**
 * Builds the lab server's HTTP app (never listens). Every route lives under
 * `ctx.config.baseUrl` and passes the authentication hooks first.
 */
export async function buildLabApp(ctx: LabContext, auth: LabAuth): Promise<FastifyInstance> {
  const app = fastify({
    loggerInstance: ctx.log.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // JupyterLab appends a bare cache-buster (`?1714641243123`) to every URL.
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: true },
  });
  installErrorHandler(app);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = new Error('Request body is not valid JSON') as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });
  // Uploads and unknown types arrive as raw bytes; routes that care validate them.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  await app.register(websocket, { options: { maxPayload: BODY_LIMIT_BYTES, perMessageDeflate: false } });

  const prefix = ctx.config.baseUrl.replace(/\/$/, '');
  await app.register(
    async (scoped) => {
      authHooks(scoped, ctx, auth);
      serverRoutes(scoped, ctx, auth);
      contentsRoutes(scoped, ctx);
      kernelRoutes(scoped, ctx);
      sessionRoutes(scoped, ctx);
      terminalRoutes(scoped, ctx);
      executionRoutes(scoped, ctx);
      uiRoutes(scoped, ctx);
    },
    { prefix },
  );
  return app;
}
