/** Derived data in the catalog (issue 5 §5, §6): service, routes, catalog docs and the factory hub.ts uses. */
import type { AccessService } from '../access/index.js';
import type { EsgfDocSource } from '../catalog/esgf-index.js';
import { catalogRootsOf } from '../catalog/data-files.js';
import type { HubConfig } from '../config/schema.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import type { SharingService } from '../sharing/service.js';
import { DerivedService } from './service.js';

export { DerivedService, mergeLicences } from './service.js';
export type { DerivedActor, DerivedArea, PublishInput } from './service.js';
export { CatalogWithDerived, DERIVED_DATA_NODE, sharedPathOf } from './docs.js';
export type { DerivedRecord, DerivedVersion } from './docs.js';
export type { DerivedLicence, DerivedInput } from './inputs.js';
export { mayRead, parseDerivedId, instanceIdOf, DERIVED_PREFIX, type Audience } from './rule.js';
export { registerDerivedRoutes, presentDerived } from './routes.js';

/**
 * The hub's derived-data service over the storage pool's areas and the sharing service;
 * loads what was published. Call `start(intervalMs)` once listening, `stop()` at close.
 */
export async function createDerived(deps: {
  config: HubConfig; db: Db; log: Logger; now(): number; access: AccessService; catalog: EsgfDocSource;
  pool: { userPaths(user: string): { home: string; derived: string } }; sharing: SharingService | null;
}): Promise<DerivedService> {
  const service = new DerivedService({
    db: deps.db, log: deps.log, now: deps.now, access: deps.access, catalog: deps.catalog, roots: catalogRootsOf(deps.config),
    areaRoot: (user, area) => deps.pool.userPaths(user)[area], sharing: deps.sharing,
  });
  await service.load();
  return service;
}
