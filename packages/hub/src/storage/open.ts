import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { AppError } from '@eucp/core';
import type { HubConfig } from '../config/schema.js';
import { homeRootOf, storageRootOf } from '../config/load.js';
import { BtrfsStoragePool } from './btrfs-pool.js';
import { PlainStoragePool } from './plain-pool.js';
import type { StoragePool } from './pool.js';

/**
 * The storage pool the configuration asks for (not yet opened): `btrfs-loop` (the
 * default: `<stateDir>/storage.img` at `<stateDir>/storage`), `btrfs` (`storage.path` on
 * an existing btrfs) or `plain`. Throws `CONFIG_INVALID` for `btrfs` without a path, and
 * for `spawner.homeRoot` together with a btrfs backend (homes live in the pool then).
 */
export function storagePoolFor(config: HubConfig, log: Logger): StoragePool {
  const s = config.storage;
  if (s.backend === 'plain') return new PlainStoragePool(storageRootOf(config), homeRootOf(config), log.child({ component: 'storage-pool' }));
  if (config.spawner.homeRoot) {
    throw new AppError('CONFIG_INVALID',
      `spawner.homeRoot applies only to storage.backend = "plain"; with "${s.backend}" homes are subvolumes in ${path.join(storageRootOf(config), 'home')}. ` +
      'Remove spawner.homeRoot, or set storage.backend = "plain" to keep homes there (quotas are then not enforced).', { key: 'spawner.homeRoot' });
  }
  if (s.backend === 'btrfs' && !s.path) {
    throw new AppError('CONFIG_INVALID', 'storage.backend = "btrfs" needs storage.path: a directory on a btrfs filesystem.', { key: 'storage.path' });
  }
  const legacy = path.join(config.stateDir, 'home');
  if (existsSync(legacy) && readdirSync(legacy).length > 0) {
    log.warn({ legacyHomes: legacy, storageRoot: storageRootOf(config) },
      'homes from before the storage pool are in <stateDir>/home and are not used with btrfs storage: copy them into the pool\'s home subvolumes, or set storage.backend = "plain"');
  }
  return new BtrfsStoragePool({
    backend: s.backend,
    root: storageRootOf(config),
    image: path.join(config.stateDir, 'storage.img'),
    imageSizeBytes: s.imageSizeBytes,
    logger: log,
  });
}
