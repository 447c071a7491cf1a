import http from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { HubContext } from './context.js';
import { installHttpBasics } from './http/basics.js';
import { registerIdentityRoutes } from './http/identity-routes.js';
import { registerServersApi } from './api/servers.js';
import { registerProxyApi } from './api/proxy.js';
import { registerPasswordApi } from './api/passwords.js';
import { registerAccessRoutes } from './access/index.js';
import { GenerationalEsgfIndexProvider } from './catalog/esgf-index.js';
import { registerEsgfSearch } from './catalog/esgf-routes.js';
import { registerCatalogExports } from './catalog/export-routes.js';
import { DataFileIndex, catalogRootsOf } from './catalog/data-files.js';
import { registerDataFileRoutes } from './catalog/file-routes.js';
import { registerEsgfWget } from './catalog/wget.js';
import { registerCatalogNotebooks } from './catalog/notebook-routes.js';
import { accessVisibilityFilter } from './catalog/visibility.js';
import { UserProxy } from './proxy/index.js';
import { registerStorageRoutes } from './storage/routes.js';
import { registerSharingRoutes } from './sharing/routes.js';
import { CatalogWithDerived, registerDerivedRoutes } from './derived/index.js';
import type { RouteTable } from './proxy/routes.js';
import { registerWeb } from './web/index.js';
import { registerNotebookViewer } from './viewer/index.js';

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
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    bodyLimit: 10 * 1024 * 1024,
  });
  await installHttpBasics(app, ctx);
  await registerIdentityRoutes(app, ctx);
  await registerServersApi(app, ctx);
  await registerProxyApi(app, ctx, routes);
  await registerPasswordApi(app, ctx);
  await registerAccessRoutes(app, ctx);
  // ESGF search, intake-esm and STAC over the scanned catalog, each limited to what the caller may see.
  const esgf = new GenerationalEsgfIndexProvider(ctx.derived ? new CatalogWithDerived(ctx.catalog, ctx.derived) : ctx.catalog);
  const filter = accessVisibilityFilter(ctx.access, ctx.derived);
  // At a million records a cold mask takes about a second: decide the common callers' masks when the catalog changes.
  const unwatch = ctx.catalog.onChange(() => {
    filter.warm(esgf.current()).catch((err: unknown) => ctx.log.warn({ err }, 'catalog: warming the visibility masks failed'));
  });
  await registerEsgfSearch(app, ctx, esgf, { filter });
  await registerCatalogExports(app, ctx, esgf, { filter });
  // The data files themselves (the docs' HTTPServer URLs) and ESGF wget scripts, under the same access decisions.
  await registerDataFileRoutes(app, ctx, new DataFileIndex({ catalog: ctx.catalog, roots: catalogRootsOf(ctx.config) }));
  await registerEsgfWget(app, ctx, esgf, { filter });
  await registerCatalogNotebooks(app, ctx, esgf);
  if (ctx.storage) await registerStorageRoutes(app, { ...ctx, storage: ctx.storage });
  if (ctx.sharing) await registerSharingRoutes(app, ctx, ctx.sharing);
  if (ctx.derived) await registerDerivedRoutes(app, ctx, ctx.derived);
  await registerNotebookViewer(app, ctx); // /hub/view/… and app.notebookViewer (its own origin, started by createHub)
  await registerWeb(app, ctx);
  app.addHook('onClose', async () => {
    unwatch();
    await proxy.close();
  });
  return { app, proxy };
}

