/** `GET /hub/api/eucp/storage`: the caller's storage areas, usage against limits, warnings. */
import type { ApiClient } from './client.js';

/** One quota unit: the user's home + /derived, or a group workspace. */
export interface StorageUnit {
  name: string;
  used_bytes: number | null;
  soft_bytes: number | null;
  hard_bytes: number | null;
  warning: string | null;
}

export interface StorageView {
  enforced: boolean;
  note: string | null;
  measured_at: string | null;
  user: StorageUnit & { areas: Array<{ name: string; path: string; used_bytes: number | null }> };
  groups: Array<StorageUnit & { path: string }>;
}

export function fetchStorage(client: ApiClient): Promise<StorageView> {
  return client.get<StorageView>('/hub/api/eucp/storage');
}

/** Whose storage: a user's (home + /derived) or a group's workspace. */
export type QuotaKind = 'user' | 'group';

/** One quota unit as an administrator sees it: where each limit comes from. */
export interface AdminStorageUnit extends StorageUnit {
  kind: QuotaKind;
  soft_source: 'override' | 'default';
  hard_source: 'override' | 'default';
}

/** A limit to set: bytes, a size such as `"8G"`, `null` for no limit, `"default"` for the configured default. */
export type LimitValue = number | string | null;

const unitPath = (kind: QuotaKind, name: string): string => `${kind === 'user' ? 'users' : 'groups'}/${encodeURIComponent(name)}`;

/** `GET /hub/api/eucp/storage/{users,groups}/:name` (administrators). */
export function fetchUnitStorage(client: Pick<ApiClient, 'get'>, kind: QuotaKind, name: string): Promise<AdminStorageUnit> {
  return client.get<AdminStorageUnit>(`/hub/api/eucp/storage/${unitPath(kind, name)}`);
}

/**
 * `PUT /hub/api/eucp/storage/quotas/{users,groups}/:name`: sets the limits given (leaves
 * the others). A hard limit below the usage is refused (`QUOTA_BELOW_USAGE`) and nothing changes.
 */
export async function setStorageLimits(
  client: Pick<ApiClient, 'request'>, kind: QuotaKind, name: string, limits: { soft?: LimitValue; hard?: LimitValue },
): Promise<AdminStorageUnit> {
  return (await client.request<AdminStorageUnit>('PUT', `/hub/api/eucp/storage/quotas/${unitPath(kind, name)}`, limits)).body;
}
