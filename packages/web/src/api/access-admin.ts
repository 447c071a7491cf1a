/**
 * The administration calls of ESGF access groups (`/hub/api/eucp/access`): list and
 * change groups, grant memberships directly, reload the policy files. Hub administrators
 * (adding members: also the group's own administrators).
 */
import type { ApiClient } from './client.js';

/** An access group as the list shows it to an administrator (no licence text). */
export interface AdminAccessGroup {
  name: string;
  description: string;
  visible: boolean;
  automatic_approval: boolean;
  licence: { id: string; sha256: string | null; text?: string | null } | null;
  /** Users with an approved `admin` membership. */
  admins: string[];
  /** The caller's own memberships of the group. */
  memberships: Array<{ role: string; approved: boolean }>;
  can_decide: boolean;
}

/**
 * What `PUT …/groups/:name` changes; fields left out keep their value. `licence_id` and
 * `licence_text` go together (both null removes the licence); the hub refuses one alone.
 */
export interface AccessGroupChange {
  description?: string;
  visible?: boolean;
  automatic_approval?: boolean;
  licence_id?: string | null;
  licence_text?: string | null;
}

/** A granted membership (the hub's access-request model). */
export interface GrantedMembership {
  id: number;
  user: string;
  group: string;
  role: string;
  state: string;
}

const BASE = '/hub/api/eucp/access';
const enc = encodeURIComponent;

/** `GET …/groups`: every group (hub administrators also see the invisible ones). */
export function listAccessGroups(client: Pick<ApiClient, 'get'>): Promise<AdminAccessGroup[]> {
  return client.get<AdminAccessGroup[]>(`${BASE}/groups`);
}

/** `GET …/groups/:name`: one group with its licence text. */
export function getAccessGroup(client: Pick<ApiClient, 'get'>, name: string): Promise<AdminAccessGroup> {
  return client.get<AdminAccessGroup>(`${BASE}/groups/${enc(name)}`);
}

/** `PUT …/groups/:name`: creates the group or changes the given fields; `created` tells which (201 vs 200). */
export async function saveAccessGroup(
  client: Pick<ApiClient, 'request'>, name: string, change: AccessGroupChange,
): Promise<{ group: AdminAccessGroup; created: boolean }> {
  const r = await client.request<AdminAccessGroup>('PUT', `${BASE}/groups/${enc(name)}`, change);
  return { group: r.body, created: r.status === 201 };
}

/** `POST …/groups/:name/members`: an approved membership of `user` at once (`NOT_FOUND` for an unknown user). */
export async function addAccessMember(
  client: Pick<ApiClient, 'request'>, group: string, user: string, role: 'user' | 'admin',
): Promise<GrantedMembership> {
  return (await client.request<GrantedMembership>('POST', `${BASE}/groups/${enc(group)}/members`, { user, role })).body;
}

/** `POST …/policies/reload`: compiles the policy files again; a broken one fails with `ACCESS_POLICY_INVALID`. */
export async function reloadAccessPolicies(client: Pick<ApiClient, 'request'>): Promise<{ policies: number }> {
  return (await client.request<{ policies: number }>('POST', `${BASE}/policies/reload`, {})).body;
}
