/** The sharing API calls of the "My shares" and "Shared with me" pages. */
import type { ApiClient } from './client.js';

export interface GrantModel {
  id: number;
  kind: 'user' | 'group' | 'link' | 'link-user';
  user: string | null;
  group: string | null;
  created: string | null;
  expires_at: string | null;
  expired: boolean;
}

export interface MyShareModel {
  id: number;
  name: string;
  area: string;
  path: string;
  kind: 'file' | 'folder';
  created: string | null;
  grants: GrantModel[];
  /** Who keeps the grants instead of the owner: null, or the published derived data set (`derived.<owner>.<name>`) whose readers they follow. */
  managed_by: { kind: 'derived'; id: string } | null;
  /** Only in the answer that created a link. */
  link_url?: string;
}

export interface SharedWithMeModel {
  id: number;
  owner: string;
  name: string;
  kind: 'file' | 'folder';
  sandbox_path: string;
  since: string | null;
  expires_at: string | null;
  via: string[];
  mounted: boolean;
}

export interface ShareWith { users?: string[]; groups?: string[]; link?: { expires_at: string } }

export class SharesApi {
  constructor(private readonly client: ApiClient) {}
  mine(): Promise<MyShareModel[]> { return this.client.get('/hub/api/eucp/shares'); }
  withMe(): Promise<SharedWithMeModel[]> { return this.client.get('/hub/api/eucp/shares/with-me'); }
  async create(body: { path: string; area?: 'home' | 'derived'; name?: string; with: ShareWith }): Promise<MyShareModel> {
    return (await this.client.request<MyShareModel>('POST', '/hub/api/eucp/shares', body)).body;
  }
  async revokeGrant(share: number, grant: number): Promise<void> { await this.client.request('DELETE', `/hub/api/eucp/shares/${share}/grants/${grant}`); }
  async revokeShare(share: number): Promise<void> { await this.client.request('DELETE', `/hub/api/eucp/shares/${share}`); }
}

/** Comma- or space-separated names → list. */
export function names(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s !== '');
}
