/** Read-only sharing (issue 5 §3, §6): service, routes, and the factory hub.ts uses. */
import type { HubConfig } from '../config/schema.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import { ShareMounts } from './mounts.js';
import { SharingService, type ShareArea } from './service.js';

export { SharingService, SANDBOX_SHARED_DIR } from './service.js';
export type { ShareActor, ShareArea, ShareWith, SharedWithMe, MyShare } from './service.js';
export { ShareMounts } from './mounts.js';
export { registerSharingRoutes } from './routes.js';

/**
 * The hub's sharing service: areas from the storage pool (home and derived), mounts
 * below `<stateDir>/shared-views` and `<stateDir>/share-mounts` when servers run in local
 * sandboxes and `sharing.enabled` is true (otherwise shares are recorded only). Call `start(config.sharing.reconcileIntervalMs)` once listening.
 */
export function createSharing(deps: {
  config: HubConfig; db: Db; log: Logger; now(): number;
  pool: { userPaths(user: string): { home: string; derived: string } };
  /** True if servers run in local sandboxes (the only ones that show /shared): otherwise nothing is mounted. */
  sandboxed: boolean;
}): SharingService {
  const { config, log } = deps;
  return new SharingService({
    db: deps.db, log, now: deps.now, linkMaxAgeMs: config.sharing.linkMaxAgeMs,
    areaRoot: (user: string, area: ShareArea) => deps.pool.userPaths(user)[area],
    mounts: config.sharing.enabled && deps.sandboxed ? new ShareMounts({ stateDir: config.stateDir, log }) : null,
  });
}
