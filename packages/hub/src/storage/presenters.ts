import type { UnitStatus, UserStorageView } from './service.js';
import { SANDBOX_DERIVED_DIR, SANDBOX_GROUPS_DIR } from '../spawners/spawner.js';

type Json = Record<string, unknown>;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The fields of one quota unit that leave the hub. */
export function presentUnit(u: UnitStatus): Json {
  return {
    kind: u.kind,
    name: u.name,
    used_bytes: u.usedBytes,
    soft_bytes: u.softBytes,
    hard_bytes: u.hardBytes,
    soft_source: u.softOverridden ? 'override' : 'default',
    hard_source: u.hardOverridden ? 'override' : 'default',
    warning: u.warning,
  };
}

/** A user's storage: where each area is in their sandbox, usage against limits, warnings. */
export function presentStorageView(v: UserStorageView, sandboxHome: string): Json {
  return {
    enforced: v.enforced,
    backend: v.backend,
    note: v.enforced ? null : 'Quotas are not enforced on this hub (storage.backend = "plain"): usage is not counted.',
    measured_at: iso(v.measuredAt),
    user: {
      ...presentUnit(v.user),
      areas: [
        { name: 'home', path: sandboxHome, used_bytes: v.user.homeBytes },
        { name: 'derived', path: SANDBOX_DERIVED_DIR, used_bytes: v.user.derivedBytes },
      ],
    },
    groups: v.groups.map((g) => ({ ...presentUnit(g), path: `${SANDBOX_GROUPS_DIR}/${g.name}` })),
  };
}
