export type { StoragePool, StorageBackend, PoolUsage, UsageFigure, UserAreaPaths } from './pool.js';
export { BtrfsStoragePool, type BtrfsStoragePoolOptions } from './btrfs-pool.js';
export { PlainStoragePool } from './plain-pool.js';
export { storagePoolFor } from './open.js';
export { StorageService, warningFor, type EffectiveQuota, type UnitStatus, type UserStorageView, type QuotaKind } from './service.js';
export { registerStorageRoutes, type StorageContext } from './routes.js';
export { storageSectionSchema, type StorageConfig } from './config.js';
export { parseSize } from './sizes.js';
export { SOFT_LIMIT_NOTIFICATION } from './warnings.js';
