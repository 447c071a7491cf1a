import type { HubConfig } from './config/schema.js';
import type { Db } from './db/index.js';
import type { Logger } from './log/index.js';
import type { Spawner } from './spawners/spawner.js';
import type { Accounts } from './accounts/accounts.js';
import type { AuthService } from './auth/service.js';
import type { AccessService } from './access/index.js';
import type { CatalogScanService } from './catalog/scanner-service.js';
import type { ServerManager } from './servers/manager.js';
import type { StorageService } from './storage/service.js';
import type { SharingService } from './sharing/service.js';
import type { DerivedService } from './derived/service.js';

/**
 * The services of one hub, built once by `createHub` (app.ts) and handed to every route
 * plugin. Nothing in here reads the process environment: main.ts does that.
 */
export interface HubContext {
  config: HubConfig;
  db: Db;
  log: Logger;
  /** Milliseconds since the epoch; replaceable in tests. */
  now(): number;
  spawner: Spawner;
  accounts: Accounts;
  auth: AuthService;
  servers: ServerManager;
  /** ESGF-style data access: policies, access groups, requests, notifications, audit. */
  access: AccessService;
  /** The catalog index of the data cache (scanned at start, then incrementally). */
  catalog: CatalogScanService;
  /** Homes, derived-data areas and group workspaces with their quotas (createHub sets it; absent in tests that do not need it). */
  storage?: StorageService;
  /** Read-only sharing with users, groups and links (absent in some tests). */
  sharing?: SharingService;
  /** Derived data published in the catalog (absent in some tests). */
  derived?: DerivedService;
  /** JupyterHub version we speak (sent as `X-JupyterHub-Version`). */
  jupyterhubVersion: string;
  /** Absolute URL of the hub API as reachable from single-user servers, e.g. `http://127.0.0.1:8000/hub/api`; known once listening. */
  hubApiUrl(): string;
}
