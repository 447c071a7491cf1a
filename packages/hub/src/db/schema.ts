import type { Generated } from 'kysely';

/**
 * Database tables. Timestamps are integers in milliseconds since the epoch (UTC);
 * booleans are 0/1 integers; JSON columns are text. Rows never leave the server:
 * presenters in `api/` choose the fields that do.
 */
export interface UsersTable {
  id: Generated<number>;
  name: string;
  admin: number;
  /** argon2id hash; null for accounts that cannot log in with a password. */
  password_hash: string | null;
  created_at: number;
  last_activity: number | null;
}

export interface GroupsTable {
  id: Generated<number>;
  name: string;
  /** JSON object (JupyterHub group `properties`). */
  properties: string;
  created_at: number;
}

export interface GroupMembersTable {
  group_id: number;
  user_id: number;
}

export interface SessionsTable {
  /** sha256 (hex) of the session secret held in the browser cookie. */
  id_hash: string;
  /** Public session id (JupyterHub's `session_id`), safe to show and log. */
  session_id: string;
  user_id: number;
  /** Anti-forgery token bound to the session. */
  csrf_token: string;
  created_at: number;
  expires_at: number;
  last_seen: number;
}

export interface ApiTokensTable {
  id: Generated<number>;
  /** sha256 (hex) of the token; the token itself is shown once and never stored. */
  hash: string;
  user_id: number;
  /** JSON array of scopes, unexpanded (`self` allowed). */
  scopes: string;
  note: string;
  created_at: number;
  expires_at: number | null;
  last_activity: number | null;
  /** Public session id this OAuth token was issued under, if any. */
  session_id: string | null;
  oauth_client_id: string | null;
}

export interface OAuthClientsTable {
  /** e.g. `jupyterhub-user-alice` */
  id: string;
  description: string;
  redirect_uri: string;
  /** sha256 of the client secret (the server's JUPYTERHUB_API_TOKEN). */
  secret_hash: string;
  /** The server this client belongs to; null for services. */
  server_id: number | null;
  created_at: number;
}

export interface OAuthCodesTable {
  /** sha256 of the one-time code. */
  code_hash: string;
  client_id: string;
  user_id: number;
  scopes: string;
  session_id: string | null;
  redirect_uri: string;
  expires_at: number;
}

export type ServerStateName = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ServersTable {
  id: Generated<number>;
  user_id: number;
  /** '' is the user's default server. */
  name: string;
  state: ServerStateName;
  /** Where the proxy sends `/user/<name>/…` while running, e.g. `http://127.0.0.1:41234`. The route table. */
  target: string | null;
  /** JSON: what the spawner needs to find the server again after a hub restart. */
  spawner_state: string;
  /** JSON: user_options of the last spawn request. */
  user_options: string;
  started_at: number | null;
  last_activity: number | null;
  /** Error code (catalog) and message of the last failure. */
  failure_code: string | null;
  failure_message: string | null;
  updated_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  /** Who did it: a user name, `system`, or `cli`. */
  actor: string;
  action: string;
  target: string;
  /** JSON with details (never secrets). */
  details: string;
}

export interface Database {
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  oauth_clients: OAuthClientsTable;
  oauth_codes: OAuthCodesTable;
  servers: ServersTable;
  audit_log: AuditLogTable;
}
