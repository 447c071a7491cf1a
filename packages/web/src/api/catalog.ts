/**
 * The catalog and access calls of the catalog pages: ESGF search (`/esg-search/search`),
 * access decisions (`/api/access/check`), the access-request workflow and notifications
 * (`/hub/api/eucp/access/…`, `/hub/api/eucp/notifications`). Each method is one request.
 */
import type { ApiClient } from './client.js';

/** One ESGF Solr-style document (Dataset or File); multi-valued facets are arrays. */
export type EsgDoc = Record<string, unknown>;

/** The parts of an ESGF search answer the UI reads. */
export interface EsgSearchResult {
  numFound: number;
  docs: EsgDoc[];
  /** facet → [value, count] pairs (flattened from Solr's `facet_fields`). */
  facets: Record<string, Array<[string, number]>>;
}

/** One group that would grant an access (`grantable_by` of the check). */
export interface Grantable {
  group: string;
  role: string;
  automatic_approval: boolean;
  licence_id: string | null;
  membership: 'none' | 'pending' | 'approved';
}

/** `GET /api/access/check`. */
export interface AccessCheck {
  resource: string;
  decision: 'Permit' | 'Deny' | 'Challenge';
  grantable_by: Grantable[];
}

/** A group with its licence (single-group view). */
export interface AccessGroup {
  name: string;
  description: string;
  automatic_approval: boolean;
  licence: { id: string; sha256: string | null; text?: string } | null;
  can_decide: boolean;
}

/** An access request. */
export interface AccessRequestModel {
  id: number;
  user: string;
  group: string;
  role: string;
  state: 'pending' | 'approved' | 'rejected' | 'revoked' | 'withdrawn';
  purpose: string | null;
  licence: { id: string; sha256: string | null; accepted: string | null } | null;
  created: string | null;
}

/** A notification of the logged-in user. */
export interface NotificationModel {
  id: number;
  kind: string;
  title: string;
  body: string;
  created: string | null;
  read: boolean;
}

/** `GET /hub/api/eucp/catalog/datasets/<id>/notebook`: the notebook a data set opens with (null code/notebook: no files). */
export interface DatasetNotebookPreview {
  instance_id: string;
  /** File name the notebook gets (`catalog/<name>` in the user's home). */
  name: string;
  /** The data set's files as the sandbox sees them (`/data/…`). */
  files: string[];
  code: string | null;
  notebook: Record<string, unknown> | null;
}

/** Answer of `POST …/notebook`: where the notebook was written and the URL that opens it. */
export interface OpenedNotebook {
  path: string;
  url: string;
}

const enc = encodeURIComponent;
const ACCESS = '/hub/api/eucp/access';

/** Flattens Solr's `facet_fields` (`[v1, c1, v2, c2, …]`) into pairs. */
export function flattenFacets(raw: unknown): Record<string, Array<[string, number]>> {
  const out: Record<string, Array<[string, number]>> = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!Array.isArray(v)) continue;
    const pairs: Array<[string, number]> = [];
    for (let i = 0; i + 1 < v.length; i += 2) pairs.push([String(v[i]), Number(v[i + 1])]);
    out[k] = pairs;
  }
  return out;
}

/** The catalog as the logged-in user sees it. */
export class CatalogApi {
  constructor(private readonly client: Pick<ApiClient, 'get' | 'request'>) {}

  /** `GET /esg-search/search?…&format=application/solr+json`. */
  async search(params: URLSearchParams): Promise<EsgSearchResult> {
    const p = new URLSearchParams(params);
    if (!p.has('format')) p.set('format', 'application/solr+json');
    const body = await this.client.get<{ response?: { numFound?: number; docs?: EsgDoc[] }; facet_counts?: { facet_fields?: unknown } }>(
      `/esg-search/search?${p.toString()}`,
    );
    return { numFound: body?.response?.numFound ?? 0, docs: body?.response?.docs ?? [], facets: flattenFacets(body?.facet_counts?.facet_fields) };
  }

  /** `GET /api/access/check?resource=<id>&action=Read`. */
  check(resource: string): Promise<AccessCheck> {
    return this.client.get<AccessCheck>(`/api/access/check?resource=${enc(resource)}&action=Read`);
  }

  /** `GET /hub/api/eucp/catalog/datasets/<id>/notebook`: the code and notebook that open the data set. */
  datasetNotebook(instanceId: string): Promise<DatasetNotebookPreview> {
    return this.client.get<DatasetNotebookPreview>(`/hub/api/eucp/catalog/datasets/${enc(instanceId)}/notebook`);
  }

  /**
   * `POST /hub/api/eucp/catalog/datasets/<id>/notebook`: writes the data set's notebook into
   * the user's running server (never overwriting). Fails with `SERVER_NOT_RUNNING` when the
   * server is not running, `DATA_ACCESS_DENIED` when the user may not read the data set.
   */
  async openInNotebook(instanceId: string): Promise<OpenedNotebook> {
    return (await this.client.request<OpenedNotebook>('POST', `/hub/api/eucp/catalog/datasets/${enc(instanceId)}/notebook`)).body;
  }

  /** `GET /hub/api/eucp/access/groups/<name>` (with the licence text). */
  group(name: string): Promise<AccessGroup> {
    return this.client.get<AccessGroup>(`${ACCESS}/groups/${enc(name)}`);
  }

  /** `GET /hub/api/eucp/access/groups`. */
  groups(): Promise<AccessGroup[]> {
    return this.client.get<AccessGroup[]>(`${ACCESS}/groups`);
  }

  /** `POST /hub/api/eucp/access/requests`: asks to join `group`, accepting its licence. */
  async requestAccess(group: string, licence: { id: string; sha256: string | null } | null, purpose?: string): Promise<AccessRequestModel> {
    const body: Record<string, string> = { group };
    if (licence) {
      body.accept_licence = licence.id;
      if (licence.sha256) body.licence_sha256 = licence.sha256;
    }
    if (purpose) body.purpose = purpose;
    return (await this.client.request<AccessRequestModel>('POST', `${ACCESS}/requests`, body)).body;
  }

  /** `GET /hub/api/eucp/access/requests?state=pending`: the requests the caller may decide. */
  pendingToDecide(): Promise<AccessRequestModel[]> {
    return this.client.get<AccessRequestModel[]>(`${ACCESS}/requests?state=pending`);
  }

  /** `POST …/requests/<id>/approve|reject`. */
  async decide(id: number, decision: 'approve' | 'reject', reason?: string): Promise<AccessRequestModel> {
    return (await this.client.request<AccessRequestModel>('POST', `${ACCESS}/requests/${id}/${decision}`, reason ? { reason } : {})).body;
  }

  /** `GET /hub/api/eucp/notifications`. */
  notifications(): Promise<{ unread: number; notifications: NotificationModel[] }> {
    return this.client.get(`/hub/api/eucp/notifications?limit=20`);
  }

  /** `POST /hub/api/eucp/notifications/read-all`. */
  async markAllRead(): Promise<void> {
    await this.client.request('POST', '/hub/api/eucp/notifications/read-all', {});
  }
}
