import { AppError, formatBytes } from '@eucp/core';
import type { HubConfig } from '../config/schema.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import { writeAudit } from '../accounts/audit.js';
import type { SpawnStorage } from '../spawners/spawner.js';
import type { PoolUsage, StoragePool } from './pool.js';
import { loadOverride, loadOverrides, saveOverride, type QuotaKind, type QuotaOverride } from './store.js';
import { SoftLimitWatcher } from './warnings.js';

export type { QuotaKind, QuotaOverride } from './store.js';

/** The limits in force for one quota unit, and whether each is an override. */
export interface EffectiveQuota {
  softBytes: number | null;
  hardBytes: number | null;
  softOverridden: boolean;
  hardOverridden: boolean;
}

/** One quota unit (a user's home + derived, or a group workspace) with its usage. */
export interface UnitStatus extends EffectiveQuota {
  kind: QuotaKind;
  name: string;
  /** Bytes in use (home + derived for a user); null when the pool does not count (plain). */
  usedBytes: number | null;
  /** Set when usage is at or above the soft limit: what to do, in words for the owner. */
  warning: string | null;
}

/** What a user sees of their storage. */
export interface UserStorageView {
  user: UnitStatus & { homeBytes: number | null; derivedBytes: number | null };
  groups: UnitStatus[];
  enforced: boolean;
  backend: StoragePool['backend'];
  /** When the usage figures were read (ms since the epoch); null when not counted. */
  measuredAt: number | null;
}

export interface StorageServiceDeps {
  pool: StoragePool;
  db: Db;
  config: HubConfig;
  log: Logger;
  now(): number;
}

/** Usage at or above this share of the hard limit counts as full (btrfs stops writes a little before the exact figure). */
const FULL_SHARE = 0.99;

/** The warning for a unit's owner, or null below the soft limit. */
export function warningFor(usedBytes: number | null, q: Pick<EffectiveQuota, 'softBytes' | 'hardBytes'>, what: string): string | null {
  if (usedBytes === null) return null;
  if (q.hardBytes !== null && usedBytes >= q.hardBytes * FULL_SHARE) {
    return `${what} is full: ${formatBytes(usedBytes)} of its ${formatBytes(q.hardBytes)} limit. Writing fails with "Disk quota exceeded" until you delete or move files.`;
  }
  if (q.softBytes !== null && usedBytes >= q.softBytes) {
    return `${what} uses ${formatBytes(usedBytes)}, above the soft limit of ${formatBytes(q.softBytes)}` +
      `${q.hardBytes !== null ? ` (writes fail at ${formatBytes(q.hardBytes)})` : ''}: delete or move files you no longer need.`;
  }
  return null;
}

/**
 * Storage areas and their quotas: prepares the areas of each spawn with the hard limits
 * in force (defaults from `[storage]`, overrides from the database), reads usage from the
 * pool at most `storage.usageMaxAgeMs` old, warns owners who cross a soft limit, and lets
 * administrators change limits (never a hard limit below what is stored).
 */
export class StorageService {
  readonly pool: StoragePool;
  private cached: PoolUsage | null = null;
  private inflight: Promise<PoolUsage | null> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly watcher: SoftLimitWatcher;
  /** Starts in progress per user (their hard limit carries the start grace meanwhile). */
  private readonly starting = new Map<string, number>();

  constructor(private readonly deps: StorageServiceDeps) {
    this.pool = deps.pool;
    this.watcher = new SoftLimitWatcher({ db: deps.db, now: deps.now, log: deps.log, quotaOf: (k, n, o) => this.merge(k, o) });
  }

  private get cfg(): HubConfig['storage'] { return this.deps.config.storage; }

  /** Re-reads usage (and checks soft limits) every `usageMaxAgeMs` until `stop`. */
  start(): void {
    if (this.timer || !this.pool.enforced) return;
    this.timer = setInterval(() => { this.refresh().catch((err: unknown) => this.deps.log.error({ err }, 'storage usage refresh failed')); }, this.cfg.usageMaxAgeMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inflight?.catch(() => undefined);
    await this.pool.close();
  }

  /** Reads usage now and warns owners who crossed a soft limit since the last check. */
  async refresh(): Promise<PoolUsage | null> {
    const usage = await this.usage(0);
    if (usage) await this.watcher.check(usage, await loadOverrides(this.deps.db, 'user'), await loadOverrides(this.deps.db, 'group'));
    return usage;
  }

  /** Usage at most `maxAgeMs` old (default `storage.usageMaxAgeMs`); null if the pool does not count. Concurrent callers share one read. */
  async usage(maxAgeMs = this.cfg.usageMaxAgeMs): Promise<PoolUsage | null> {
    if (!this.pool.enforced) return null;
    if (this.cached && this.deps.now() - this.cached.at <= maxAgeMs && maxAgeMs > 0) return this.cached;
    if (!this.inflight) {
      const started = this.deps.now();
      this.inflight = this.pool.usage().then((u) => {
        this.cached = u && { ...u, at: started };
        return this.cached;
      }).finally(() => { this.inflight = null; });
    }
    return this.inflight;
  }

  private merge(kind: QuotaKind, o: QuotaOverride): EffectiveQuota {
    const d = kind === 'user' ? this.cfg.userQuota : this.cfg.groupQuota;
    return {
      softBytes: o.softBytes !== undefined ? o.softBytes : d.softBytes,
      hardBytes: o.hardBytes !== undefined ? o.hardBytes : d.hardBytes,
      softOverridden: o.softBytes !== undefined,
      hardOverridden: o.hardBytes !== undefined,
    };
  }

  /** The limits in force for a user or group (defaults < stored override). */
  async quotaOf(kind: QuotaKind, name: string): Promise<EffectiveQuota> {
    return this.merge(kind, await loadOverride(this.deps.db, kind, name));
  }

  /** Group names that get a workspace, of the given hub groups. */
  workspaceGroups(groups: readonly string[]): string[] {
    return this.cfg.groupWorkspaces ? [...groups].sort() : [];
  }

  /**
   * Creates the areas of one spawn if missing and applies the hard limits in force
   * (so changed defaults take effect at the next start). The user's limit carries
   * `storage.startGraceBytes` extra until {@link started} (call it once the server answers
   * or failed), so a full home never stops a server from starting. Throws `STORAGE_UNAVAILABLE`.
   */
  async areasFor(user: string, groups: readonly string[]): Promise<SpawnStorage> {
    const paths = await this.pool.ensureUser(user);
    this.starting.set(user, (this.starting.get(user) ?? 0) + 1);
    try {
      const hard = (await this.quotaOf('user', user)).hardBytes;
      await this.pool.setUserLimit(user, hard === null ? null : hard + this.cfg.startGraceBytes);
      const out: Array<{ name: string; hostPath: string }> = [];
      for (const g of this.workspaceGroups(groups)) {
        out.push({ name: g, hostPath: await this.pool.ensureGroup(g) });
        await this.pool.setGroupLimit(g, (await this.quotaOf('group', g)).hardBytes);
      }
      return { derived: paths.derived, groups: out };
    } catch (err) {
      await this.started(user).catch(() => undefined);
      throw err;
    }
  }

  /** Ends the start grace of {@link areasFor}: the user's hard limit is the configured one again (once no other start of theirs is in progress). */
  async started(user: string): Promise<void> {
    const n = (this.starting.get(user) ?? 1) - 1;
    if (n > 0) {
      this.starting.set(user, n);
      return;
    }
    this.starting.delete(user);
    await this.pool.setUserLimit(user, (await this.quotaOf('user', user)).hardBytes);
  }

  private async status(kind: QuotaKind, name: string, usage: PoolUsage | null, what: string): Promise<UnitStatus> {
    const q = await this.quotaOf(kind, name);
    const used = usage ? ((kind === 'user' ? usage.users.get(name) : usage.groups.get(name))?.usedBytes ?? 0) : null;
    return { kind, name, usedBytes: used, ...q, warning: warningFor(used, q, what) };
  }

  /** A user's storage: their quota unit (home + derived) and their groups' workspaces. */
  async viewFor(user: string, groups: readonly string[]): Promise<UserStorageView> {
    const usage = await this.usage();
    const u = usage?.users.get(user);
    const unit = await this.status('user', user, usage, 'Your storage (home and /derived)');
    const gs = await Promise.all(this.workspaceGroups(groups).map((g) => this.status('group', g, usage, `The workspace of group ${g}`)));
    return {
      user: { ...unit, homeBytes: usage ? (u?.homeBytes ?? 0) : null, derivedBytes: usage ? (u?.derivedBytes ?? 0) : null },
      groups: gs,
      enforced: this.pool.enforced,
      backend: this.pool.backend,
      measuredAt: usage?.at ?? null,
    };
  }

  /** One quota unit's status (admin API). */
  async unitStatus(kind: QuotaKind, name: string): Promise<UnitStatus> {
    return this.status(kind, name, await this.usage(), kind === 'user' ? `The storage of ${name}` : `The workspace of group ${name}`);
  }

  /**
   * Changes the override of one user or group (`undefined` keeps a field, `null` = no
   * limit, `'default'` = back to the configured default). Refuses (`INVALID_INPUT`) a soft
   * limit above the hard one and (`QUOTA_BELOW_USAGE`, nothing changed) a hard limit
   * below current usage, read fresh from the filesystem. Applies the hard limit at once.
   */
  async setQuota(kind: QuotaKind, name: string, patch: { softBytes?: number | null | 'default'; hardBytes?: number | null | 'default' }, actor: string): Promise<UnitStatus> {
    const current = await loadOverride(this.deps.db, kind, name);
    const next: QuotaOverride = { ...current };
    for (const key of ['softBytes', 'hardBytes'] as const) {
      const v = patch[key];
      if (v === 'default') delete next[key];
      else if (v !== undefined) next[key] = v;
    }
    const q = this.merge(kind, next);
    if (q.hardBytes !== null && this.pool.enforced) {
      const usage = await this.usage(0);
      const used = (kind === 'user' ? usage?.users.get(name) : usage?.groups.get(name))?.usedBytes ?? 0;
      if (q.hardBytes < used) {
        throw new AppError('QUOTA_BELOW_USAGE',
          `${kind === 'user' ? `User ${name}` : `Group ${name}`} uses ${formatBytes(used)} (${used} bytes); the hard limit ${formatBytes(q.hardBytes)} (${q.hardBytes} bytes) is below that.`,
          { usedBytes: used, hardBytes: q.hardBytes });
      }
    }
    if (q.softBytes !== null && q.hardBytes !== null && q.softBytes > q.hardBytes) {
      throw new AppError('INVALID_INPUT', `The soft limit (${formatBytes(q.softBytes)}) is above the hard limit (${formatBytes(q.hardBytes)}).`, { field: 'soft' });
    }
    const grace = kind === 'user' && this.starting.has(name) && q.hardBytes !== null ? this.cfg.startGraceBytes : 0;
    if (kind === 'user') await this.pool.setUserLimit(name, q.hardBytes === null ? null : q.hardBytes + grace);
    else await this.pool.setGroupLimit(name, q.hardBytes);
    const at = this.deps.now();
    await saveOverride(this.deps.db, kind, name, next, at, actor);
    await writeAudit(this.deps.db, at, actor, 'storage.quota.set', `${kind}:${name}`, { softBytes: q.softBytes, hardBytes: q.hardBytes });
    this.deps.log.info({ kind, name, softBytes: q.softBytes, hardBytes: q.hardBytes, actor }, 'quota changed');
    const usage = await this.usage();
    if (usage) await this.watcher.check(usage, await loadOverrides(this.deps.db, 'user'), await loadOverrides(this.deps.db, 'group'));
    return this.unitStatus(kind, name);
  }
}
