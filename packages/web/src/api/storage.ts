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
