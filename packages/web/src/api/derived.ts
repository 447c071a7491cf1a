/** The derived-data API calls (`/hub/api/eucp/derived`) of the publish form and the derived dataset page. */
import type { ApiClient } from './client.js';

/** A licence a derived data set carries: its owner's own, an input's access group's, or an open input's file licence. */
export interface DerivedLicenceModel {
  id: string | null;
  source: 'own' | 'access-group' | 'file';
  sha256: string;
  inputs: string[];
  group: string | null;
  text: string;
}

/** One version of a derived data set as the API presents it. */
export interface DerivedModel {
  instance_id: string;
  master_id: string;
  name: string;
  owner: string;
  title: string;
  description: string;
  version: string;
  latest: boolean;
  versions: string[];
  published: string;
  variables: Array<{ name: string; units?: string; long_name?: string; standard_name?: string }>;
  time_range: { start: string; stop: string } | null;
  extent: { west: number; east: number; south: number; north: number } | null;
  size: number;
  files: Array<{ path: string; size: number; sha256: string; variables: string[] | null }>;
  inputs: Array<{ instance_id: string; restricted: boolean; groups: string[]; url: string }>;
  licences: DerivedLicenceModel[];
  sandbox_path: string;
  shared_path: string;
  code: string;
  /** Owner only. */
  audience?: { users: string[]; groups: string[]; public: boolean };
  /** In the answer of a publication only. */
  effective_readers?: string[] | null;
  left_out?: string[];
}

/** What the publish form sends. */
export interface PublishRequest {
  path: string;
  area: 'derived' | 'home';
  name?: string;
  title: string;
  description: string;
  licence: { id: string; text: string } | null;
  inputs: string[];
  audience: { users: string[]; groups: string[]; public: boolean };
}

const BASE = '/hub/api/eucp/derived';

export class DerivedApi {
  constructor(private readonly client: Pick<ApiClient, 'get' | 'request'>) {}

  async publish(body: PublishRequest): Promise<DerivedModel> {
    return (await this.client.request<DerivedModel>('POST', BASE, body)).body;
  }

  get(id: string): Promise<DerivedModel> {
    return this.client.get<DerivedModel>(`${BASE}/${encodeURIComponent(id)}`);
  }

  mine(): Promise<DerivedModel[]> {
    return this.client.get<DerivedModel[]>(BASE);
  }

  async unpublish(name: string): Promise<void> {
    await this.client.request('DELETE', `${BASE}/${encodeURIComponent(name)}`);
  }
}

/** "a, b c" → ["a", "b", "c"]. */
export const words = (s: string): string[] => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

/** A licence as one line: its id (or where it comes from) and the inputs that bring it. */
export function licenceLabel(l: DerivedLicenceModel): string {
  const what = l.id ?? (l.source === 'file' ? 'licence of the input files' : 'licence');
  if (l.source === 'own') return `${what} (the publisher's)`;
  const via = l.source === 'access-group' ? ` via access group ${l.group ?? ''}` : '';
  return `${what}${via} — from ${l.inputs.join(', ')}`;
}
