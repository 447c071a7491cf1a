import { formatBytes } from '@eucp/core';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import { notify } from '../access/store.js';
import type { PoolUsage } from './pool.js';
import { loadWarned, setWarned, type QuotaKind, type QuotaOverride } from './store.js';

/** Notification kind of a crossed soft limit (the notifications API of the access service lists it). */
export const SOFT_LIMIT_NOTIFICATION = 'storage.soft-limit';

export interface SoftLimitWatcherDeps {
  db: Db;
  now(): number;
  log: Logger;
  quotaOf(kind: QuotaKind, name: string, o: QuotaOverride): { softBytes: number | null; hardBytes: number | null };
}

/**
 * Tells owners once when a unit crosses its soft limit: an in-app notification to the
 * user (or to every member of a group), remembered in `storage_quotas.warned_at` so it is
 * not repeated; once usage is below the soft limit again the next crossing warns again.
 */
export class SoftLimitWatcher {
  constructor(private readonly deps: SoftLimitWatcherDeps) {}

  async check(usage: PoolUsage, users: Map<string, QuotaOverride>, groups: Map<string, QuotaOverride>): Promise<void> {
    await this.checkKind('user', new Map([...usage.users].map(([n, u]) => [n, u.usedBytes])), users);
    await this.checkKind('group', new Map([...usage.groups].map(([n, g]) => [n, g.usedBytes])), groups);
  }

  private async checkKind(kind: QuotaKind, used: Map<string, number>, overrides: Map<string, QuotaOverride>): Promise<void> {
    const { db } = this.deps;
    const warned = await loadWarned(db, kind);
    for (const [name, bytes] of used) {
      const q = this.deps.quotaOf(kind, name, overrides.get(name) ?? {});
      const over = q.softBytes !== null && bytes >= q.softBytes;
      if (over && !warned.has(name)) {
        const at = this.deps.now();
        const recipients = await this.recipients(kind, name);
        const what = kind === 'user' ? 'Your storage (home and /derived)' : `The workspace of group ${name} (/groups/${name})`;
        await notify(db, at, recipients.map((userId) => ({
          userId,
          kind: SOFT_LIMIT_NOTIFICATION,
          title: kind === 'user' ? 'Your storage is nearly full' : `Workspace of ${name} is nearly full`,
          body: `${what} uses ${formatBytes(bytes)}, above the soft limit of ${formatBytes(q.softBytes)}. ` +
            `${q.hardBytes !== null ? `At ${formatBytes(q.hardBytes)} writing fails with "Disk quota exceeded". ` : ''}Delete or move files you no longer need.`,
          subjectRef: `storage:${kind}:${name}`,
          data: { kind, name, usedBytes: bytes, softBytes: q.softBytes, hardBytes: q.hardBytes },
        })));
        await setWarned(db, kind, name, at);
        this.deps.log.info({ kind, name, usedBytes: bytes, softBytes: q.softBytes }, 'soft limit crossed; owners notified');
      } else if (!over && warned.has(name)) {
        await setWarned(db, kind, name, null);
      }
    }
  }

  private async recipients(kind: QuotaKind, name: string): Promise<number[]> {
    const { db } = this.deps;
    if (kind === 'user') return (await db.selectFrom('users').select('id').where('name', '=', name).execute()).map((r) => r.id);
    return (await db.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id')
      .select('group_members.user_id').where('groups.name', '=', name).execute()).map((r) => r.user_id);
  }
}
