/** How the storage areas are kept (config `storage.backend`). */
export type StorageBackend = 'btrfs-loop' | 'btrfs' | 'plain';

/** Host paths of a user's two areas. */
export interface UserAreaPaths {
  /** The home (`<root>/home/<user>`, or `<spawner.homeRoot>/<user>` with plain storage). */
  home: string;
  /** The personal derived-data area (`<root>/derived/<user>`). */
  derived: string;
}

/** Bytes used by one area or quota unit, as the filesystem counts them. */
export interface UsageFigure {
  usedBytes: number;
  /** The hard limit the filesystem enforces right now; null = none. */
  limitBytes: number | null;
}

/** Usage of every area the pool knows, read at `at` (ms since the epoch). */
export interface PoolUsage {
  at: number;
  /** Per user: home + derived together (the quota unit), and each area alone. */
  users: Map<string, UsageFigure & { homeBytes: number; derivedBytes: number }>;
  /** Per group workspace. */
  groups: Map<string, UsageFigure>;
}

/**
 * Where users' homes, personal derived-data areas and group workspaces live, and the hard
 * limits the filesystem enforces on them. Prepared once at hub start (`open`), then used
 * by the storage service for each spawn and each usage refresh.
 *
 * Contract:
 * - `open` is idempotent across hub restarts (an existing filesystem, mount and areas are
 *   reused, nothing is reformatted); it throws `STORAGE_UNAVAILABLE` saying what failed and
 *   what to do (fix it, or `storage.backend = "plain"`).
 * - `ensureUser`/`ensureGroup` create missing areas (and their quota groups) and are
 *   idempotent; they never change ownership (the spawner gives areas to Unix accounts).
 *   Names are hub user/group names (already validated: `[a-z][a-z0-9_-]*`).
 * - `setUserLimit`/`setGroupLimit` set the hard limit (bytes; null = none) of the
 *   quota unit (user: home + derived together). A limit below current usage is accepted by
 *   the filesystem (writes then fail, deletes work): refusing that is the caller's policy.
 *   On a pool that does not enforce limits they are no-ops.
 * - `usage` reads the filesystem's counters (cheap, independent of the number of files);
 *   `null` when the pool cannot count (plain).
 * - `close` releases nothing the next hub needs: the filesystem stays mounted for running
 *   servers.
 */
export interface StoragePool {
  readonly backend: StorageBackend;
  /** True if the filesystem enforces hard limits (writes beyond fail with EDQUOT). */
  readonly enforced: boolean;
  /** Root of the areas: `home/`, `derived/`, `groups/` below it. */
  readonly root: string;
  /** Directory holding one home per user (the spawner's `homeRoot`). */
  readonly homeRoot: string;
  open(): Promise<void>;
  ensureUser(user: string): Promise<UserAreaPaths>;
  ensureGroup(group: string): Promise<string>;
  /** Host path of a group's workspace (whether or not it exists yet). */
  groupPath(group: string): string;
  /** Host paths of a user's areas (whether or not they exist yet). */
  userPaths(user: string): UserAreaPaths;
  setUserLimit(user: string, hardBytes: number | null): Promise<void>;
  setGroupLimit(group: string, hardBytes: number | null): Promise<void>;
  usage(): Promise<PoolUsage | null>;
  close(): Promise<void>;
}
