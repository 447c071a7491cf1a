/**
 * The hub API calls the UI makes (JupyterHub REST API, contract §d.4, plus the
 * `/hub/api/eucp/…` extensions). Each function is one request.
 */
import { ApiClient, ApiError, listAll } from './client.js';
import { parseServerStatus, type ServerStatus } from '../lib/server-state.js';

/** Answer of `GET /hub/api/eucp/session`. */
export interface Session {
  user: string;
  admin: boolean;
  csrfToken: string;
  scopes: string[];
}

/** The fields of JupyterHub's server model the UI reads. */
export interface ServerModel {
  name: string;
  pending: string | null;
  ready: boolean;
  url: string;
  last_activity: string | null;
  started: string | null;
}

/** The fields of JupyterHub's user model the UI reads. */
export interface UserModel {
  name: string;
  admin: boolean;
  groups?: string[];
  last_activity: string | null;
  servers?: Record<string, ServerModel>;
}

export interface GroupModel {
  name: string;
  users: string[];
}

export interface TokenModel {
  id: string;
  note: string | null;
  created: string;
  last_activity: string | null;
  expires_at: string | null;
  scopes?: string[];
  oauth_client?: string | null;
  session_id?: string | null;
}

const enc = encodeURIComponent;
const userPath = (name: string) => `/hub/api/users/${enc(name)}`;
const serverApiPath = (user: string, server: string) => (server ? `${userPath(user)}/servers/${enc(server)}` : `${userPath(user)}/server`);

/** URL of the progress event stream of a server (contract §d.5). */
export function progressUrl(user: string, server: string): string {
  return `${serverApiPath(user, server)}/progress`;
}

/**
 * `GET /hub/api/eucp/session`: who is logged in. Resolves null when not logged in (403),
 * so the caller can go to the login page.
 */
export async function fetchSession(): Promise<Session | null> {
  try {
    const s = await new ApiClient('').get<Session>('/hub/api/eucp/session');
    return { user: s.user, admin: s.admin === true, csrfToken: s.csrfToken, scopes: Array.isArray(s.scopes) ? s.scopes : [] };
  } catch (err) {
    if (err instanceof ApiError && (err.status === 403 || err.status === 401)) return null;
    throw err;
  }
}

/** The API of the hub as the logged-in user sees it. */
export class HubApi {
  readonly client: ApiClient;

  constructor(session: Session) {
    this.client = new ApiClient(session.csrfToken);
  }

  /** `GET /hub/api/eucp/users/<name>/server-status`. */
  async serverStatus(user: string): Promise<ServerStatus> {
    return parseServerStatus(await this.client.get(`/hub/api/eucp/users/${enc(user)}/server-status`));
  }

  /** `POST /hub/api/users/<name>/server` (or `/servers/<server>`), no body. Resolves 201 (started) or 202 (starting). */
  async startServer(user: string, server = ''): Promise<number> {
    return (await this.client.request('POST', serverApiPath(user, server))).status;
  }

  /** `DELETE /hub/api/users/<name>/server`. Resolves 204 (stopped) or 202 (stopping). */
  async stopServer(user: string, server = ''): Promise<number> {
    return (await this.client.request('DELETE', serverApiPath(user, server))).status;
  }

  /** `GET /hub/api/users?include_stopped_servers=1` (all pages). */
  listUsers(): Promise<UserModel[]> {
    return listAll<UserModel>(this.client, '/hub/api/users?include_stopped_servers=1');
  }

  /** `POST /hub/api/users` `{usernames, admin}`. */
  async addUsers(usernames: string[], admin: boolean): Promise<UserModel[]> {
    return (await this.client.request<UserModel[]>('POST', '/hub/api/users', { usernames, admin })).body ?? [];
  }

  /** `POST /hub/api/eucp/users/<name>/password`: a new generated password, returned once. */
  async newPassword(user: string): Promise<string> {
    const res = await this.client.request<{ password: string }>('POST', `/hub/api/eucp/users/${enc(user)}/password`);
    if (!res.body?.password) throw new Error('the hub returned no password');
    return res.body.password;
  }

  /** `PATCH /hub/api/users/<name>` `{admin}`. */
  async setAdmin(user: string, admin: boolean): Promise<void> {
    await this.client.request('PATCH', userPath(user), { admin });
  }

  /** `DELETE /hub/api/users/<name>`. */
  async deleteUser(user: string): Promise<void> {
    await this.client.request('DELETE', userPath(user));
  }

  /** `GET /hub/api/groups` (all pages). */
  listGroups(): Promise<GroupModel[]> {
    return listAll<GroupModel>(this.client, '/hub/api/groups');
  }

  /** `POST /hub/api/groups/<name>`, no body. */
  async createGroup(name: string): Promise<void> {
    await this.client.request('POST', `/hub/api/groups/${enc(name)}`);
  }

  /** `DELETE /hub/api/groups/<name>`. */
  async deleteGroup(name: string): Promise<void> {
    await this.client.request('DELETE', `/hub/api/groups/${enc(name)}`);
  }

  /** `POST /hub/api/groups/<name>/users` `{users}`. */
  async addGroupMembers(group: string, users: string[]): Promise<void> {
    await this.client.request('POST', `/hub/api/groups/${enc(group)}/users`, { users });
  }

  /** `DELETE /hub/api/groups/<name>/users` `{users}`. */
  async removeGroupMembers(group: string, users: string[]): Promise<void> {
    await this.client.request('DELETE', `/hub/api/groups/${enc(group)}/users`, { users });
  }

  /** `GET /hub/api/users/<name>/tokens`. */
  async listTokens(user: string): Promise<TokenModel[]> {
    const body = await this.client.get<{ api_tokens?: TokenModel[] }>(`${userPath(user)}/tokens`);
    return body?.api_tokens ?? [];
  }

  /** `POST /hub/api/users/<name>/tokens` `{note, expires_in?}`; the answer carries the secret once. */
  async createToken(user: string, note: string, expiresInSeconds: number | null): Promise<TokenModel & { token: string }> {
    const body: Record<string, unknown> = { note };
    if (expiresInSeconds !== null) body.expires_in = expiresInSeconds;
    const res = await this.client.request<TokenModel & { token: string }>('POST', `${userPath(user)}/tokens`, body);
    return res.body;
  }

  /** `DELETE /hub/api/users/<name>/tokens/<id>`. */
  async revokeToken(user: string, id: string): Promise<void> {
    await this.client.request('DELETE', `${userPath(user)}/tokens/${enc(id)}`);
  }
}
