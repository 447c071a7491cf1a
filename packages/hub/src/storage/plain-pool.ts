import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { StoragePool, UserAreaPaths } from './pool.js';

/**
 * Storage areas as ordinary directories: `<homeRoot>/<user>`, `<root>/derived/<user>`,
 * `<root>/groups/<group>`. Nothing is enforced and nothing is counted (walking a tree of
 * a million files is not cheap): the API and the UI say that quotas are not enforced.
 * For machines without loop devices or btrfs (e.g. unprivileged containers) and tests.
 */
export class PlainStoragePool implements StoragePool {
  readonly backend = 'plain' as const;
  readonly enforced = false;

  constructor(readonly root: string, readonly homeRoot: string, private readonly log?: Logger) {}

  async open(): Promise<void> {
    for (const dir of [path.join(this.root, 'derived'), path.join(this.root, 'groups')]) await mkdir(dir, { recursive: true, mode: 0o711 });
    await mkdir(this.homeRoot, { recursive: true, mode: 0o711 });
    this.log?.warn({ root: this.root }, 'storage backend is plain: quotas are NOT enforced');
  }

  userPaths(user: string): UserAreaPaths {
    return { home: path.join(this.homeRoot, user), derived: path.join(this.root, 'derived', user) };
  }

  groupPath(group: string): string {
    return path.join(this.root, 'groups', group);
  }

  async ensureUser(user: string): Promise<UserAreaPaths> {
    const paths = this.userPaths(user);
    // The home is created (and given to the account) by the spawner, as without a pool.
    await mkdir(paths.derived, { recursive: true, mode: 0o700 });
    return paths;
  }

  async ensureGroup(group: string): Promise<string> {
    const dir = this.groupPath(group);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  async setUserLimit(): Promise<void> {}
  async setGroupLimit(): Promise<void> {}
  async usage(): Promise<null> {
    return null;
  }
  async close(): Promise<void> {}
}
