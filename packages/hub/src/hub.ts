import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { HubConfig } from './config/schema.js';
import { openDatabase, type Db } from './db/index.js';
import type { Logger } from './log/index.js';
import type { Spawner } from './spawners/spawner.js';
import type { HubContext } from './context.js';
import { Accounts } from './accounts/accounts.js';
import { AuthService } from './auth/service.js';
import { ServerManager } from './servers/manager.js';
import { IdleCuller } from './servers/culler.js';
import { RouteTable } from './proxy/routes.js';
import { buildApp } from './app.js';
import { AccessService } from './access/index.js';
import { CatalogScanService } from './catalog/scanner-service.js';
import { catalogScanOptions } from './catalog/scanner-config.js';
import { CatalogDataView } from './servers/data-view.js';
import { dataDirOf, homeRootOf, storageRootOf } from './config/load.js';
import type { StoragePool } from './storage/pool.js';
import { PlainStoragePool } from './storage/plain-pool.js';
import { StorageService } from './storage/service.js';
import { createSharing } from './sharing/index.js';
import { createDerived } from './derived/index.js';

/** The JupyterHub version whose REST API and single-user contract we speak. */
export const JUPYTERHUB_VERSION = '5.2.1';

export interface HubDeps {
  config: HubConfig;
  log: Logger;
  spawner: Spawner;
  /** Defaults to the configured database URL or `<stateDir>/hub.sqlite`. */
  db?: Db;
  now?: () => number;
  /** Storage areas and quotas, opened here (main.ts passes the configured one); absent = plain directories, no quotas. */
  storage?: StoragePool;
}

export interface Hub {
  ctx: HubContext;
  app: FastifyInstance;
  routes: RouteTable;
  culler: IdleCuller;
  /** Listens, re-adopts running servers, starts the monitors; resolves the hub's URL. */
  listen(): Promise<string>;
  /** Stops listening and the monitors; leaves user servers running. */
  close(): Promise<void>;
}

/** Builds a hub from its dependencies (the composition root is main.ts). */
export async function createHub(deps: HubDeps): Promise<Hub> {
  const { config, log, spawner } = deps;
  const now = deps.now ?? Date.now;
  const db = deps.db ?? (await openDatabase(config.db.url ?? path.join(config.stateDir, 'hub.sqlite')));
  let apiUrl = '';
  const ctxBase = { config, db, log, now, spawner, jupyterhubVersion: JUPYTERHUB_VERSION, hubApiUrl: () => apiUrl };
  const accounts = new Accounts(db, now);
  const auth = new AuthService({ db, config, accounts, now, log: log.child({ component: 'auth' }) });
  const routes = new RouteTable();
  const access = await AccessService.create({ db, config, log: log.child({ component: 'access' }), now, accounts });
  const catalog = new CatalogScanService(catalogScanOptions(config, { db, log: log.child({ component: 'catalog' }) }));
  const dataDir = dataDirOf(config);
  const dataView = new CatalogDataView({
    access, catalog, dataDir, roots: config.catalog.roots ?? [dataDir], log: log.child({ component: 'data-view' }),
  });
  const pool = deps.storage ?? new PlainStoragePool(storageRootOf(config), homeRootOf(config));
  await pool.open();
  const storage = new StorageService({ pool, db, config, now, log: log.child({ component: 'storage' }) });
  const sharing = createSharing({ config, db, now, pool, sandboxed: spawner.kind === 'local-sandbox', log: log.child({ component: 'sharing' }) });
  const derived = await createDerived({ config, db, now, access, catalog, pool, sharing, log: log.child({ component: 'derived' }) });
  const servers = new ServerManager({
    db, config, spawner, routes, credentials: auth, now, hubApiUrl: () => apiUrl, log: log.child({ component: 'servers' }), dataView, storage, sharing,
  });
  const ctx: HubContext = { ...ctxBase, accounts, auth, servers, access, catalog, storage, sharing, derived };
  const { app, proxy } = await buildApp(ctx, routes);
  const culler = new IdleCuller(servers, auth, log.child({ component: 'culler' }), {
    ...config.culler, now, flushActivity: () => proxy.flushActivity(),
  });
  return {
    ctx, app, routes, culler,
    async listen() {
      await app.listen({ host: config.ip, port: config.port });
      await app.notebookViewer.listen(); // the notebook viewer's own origin (viewer.listen)
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const connectHost = config.ip === '0.0.0.0' || config.ip === '::' ? '127.0.0.1' : config.ip.includes(':') ? `[${config.ip}]` : config.ip;
      apiUrl = `http://${connectHost}:${port}/hub/api`;
      await servers.startMonitoring();
      if (config.culler.enabled) culler.start();
      catalog.start(config.catalog.rescanIntervalMs);
      storage.start();
      await sharing.start(config.sharing.reconcileIntervalMs);
      await derived.start(config.sharing.reconcileIntervalMs);
      return `http://${connectHost}:${port}/`;
    },
    async close() {
      culler.stop();
      await catalog.stop();
      await storage.stop();
      await derived.stop();
      await sharing.stop();
      await servers.close();
      await app.close();
      await db.destroy();
    },
  };
}
