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
  /** SHA-256 of the data view (readable data set paths) the running server was started with; null = no view or unknown. */
  data_key: string | null;
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

/** An OpenID Connect identity linked to an account (a person may have several). */
export interface IdentitiesTable {
  id: Generated<number>;
  user_id: number;
  /** Id of the configured provider it was last used with. */
  provider: string;
  /** `iss` and `sub` of the ID token: together they name the identity. */
  issuer: string;
  subject: string;
  /** JSON: the person's claims at the last log-in (no tokens). */
  claims_json: string;
  created_at: number;
  last_login: number | null;
}

/** An OpenID Connect log-in in progress, bound to the browser by a short-lived cookie (its sha256 is the key). */
export interface OidcFlowsTable {
  id_hash: string;
  provider: string;
  state: string;
  nonce: string;
  /** PKCE code verifier (S256). */
  code_verifier: string;
  redirect_uri: string;
  /** Same-origin path to go to afterwards. */
  next: string | null;
  /** Set when a logged-in user links another identity to their account. */
  link_user_id: number | null;
  created_at: number;
  expires_at: number;
}

/** A first OpenID Connect log-in waiting for an administrator's approval (`newUsers = "approval"`). */
export interface OidcPendingTable {
  id: Generated<number>;
  provider: string;
  issuer: string;
  subject: string;
  /** Suggested user name (from the username claim), if it gave a valid one. */
  name: string | null;
  email: string | null;
  claims_json: string;
  created_at: number;
  last_attempt: number;
}

/** An ESGF role (`user`, `admin`, `publisher`…); seeded by migration 0002_access. */
export interface AccessRolesTable {
  name: string;
  description: string;
}

/** An ESGF access-control group (not a hub group; why: packages/hub/src/access/service.ts). */
export interface AccessGroupsTable {
  id: Generated<number>;
  /** ESGF name, e.g. `CORDEX Research` (spaces and capitals allowed). */
  name: string;
  description: string;
  /** What membership grants, in words (e.g. "Read on tas only"). */
  grants: string;
  /** 1 = offered for self-registration (listed to everyone). */
  visible: number;
  /** 1 = a request for role `user` is approved at once. */
  automatic_approval: number;
  licence_id: string | null;
  /** Markdown. */
  licence_text: string | null;
  /** sha256 (hex) of `licence_text`: the licence version a requester accepted. */
  licence_sha256: string | null;
  created_at: number;
  updated_at: number;
}

/** An ESGF permission `(user, group, role, approved)`; `approved = 0` is a pending request. */
export interface AccessMembershipsTable {
  user_id: number;
  group_id: number;
  role: string;
  approved: number;
  requested_at: number;
  decided_at: number | null;
  /** User name (or `system`, `import`) that approved. */
  decided_by: string | null;
}

export type AccessRequestState = 'pending' | 'approved' | 'rejected' | 'revoked' | 'withdrawn';

/** A request for membership: its licence acceptance and decision. Live ones mirror a membership row. */
export interface AccessRequestsTable {
  id: Generated<number>;
  user_id: number;
  group_id: number;
  role: string;
  state: AccessRequestState;
  purpose: string;
  licence_id: string | null;
  licence_sha256: string | null;
  licence_accepted_at: number | null;
  created_at: number;
  decided_at: number | null;
  decided_by: string | null;
  /** Why it was rejected or revoked, as the admin wrote it. */
  reason: string | null;
}

/** An in-app notification for one user. */
export interface NotificationsTable {
  id: Generated<number>;
  user_id: number;
  /** e.g. `access.request.approved`. */
  kind: string;
  title: string;
  body: string;
  /** What it is about, e.g. `access_request:12` (to resolve related notifications). */
  subject_ref: string | null;
  /** JSON object for the UI (ids, names; never secrets). */
  data: string;
  created_at: number;
  read_at: number | null;
}

/** The access audit trail: requested, approved, rejected, revoked, withdrawn, read, imported. */
export interface AccessAuditTable {
  id: Generated<number>;
  at: number;
  /** Who did it: a user name, `system` (automatic approval) or `import`. */
  actor: string;
  action: string;
  /** The user it concerns ('' if none). */
  subject: string;
  group_name: string | null;
  role: string | null;
  /** Data set read (for `read`). */
  resource: string | null;
  request_id: number | null;
  /** JSON with details (never secrets). */
  details: string;
}

/** The catalog scanner's state per NetCDF file (migration 0004_catalog; see catalog/store.ts). */
export interface CatalogFilesTable {
  /** Absolute path. */
  path: string;
  root: string;
  size: number;
  /** Decimal text (nanoseconds; inode): may exceed 2^53. */
  mtime_ns: string;
  ino: string;
  reader_version: number;
  /** JSON of the facts read from the file; null if unreadable. */
  facts: string | null;
  problem: string | null;
  scanned_at: number;
}

/**
 * Quota overrides of one user (`kind` = `user`) or group workspace (`group`): a null
 * limit = the configured default, -1 = no limit; `warned_at` = when the owner was told
 * they crossed the soft limit (cleared once usage is below it again).
 */
export interface StorageQuotasTable {
  kind: 'user' | 'group';
  name: string;
  soft_bytes: number | null;
  hard_bytes: number | null;
  warned_at: number | null;
  updated_at: number;
  updated_by: string;
}

/** A file or folder an owner shares read-only (sharing/). */
export interface SharesTable {
  id: Generated<number>;
  owner_id: number;
  /** `home` or `derived`. */
  area: string;
  /** Path relative to the area's root (never empty, no `..`). */
  rel_path: string;
  kind: 'file' | 'folder';
  /** Name shown to recipients: `/shared/<owner>/<name>`. */
  name: string;
  created_at: number;
  revoked_at: number | null;
}

/** Who may read a share: a user, a hub group, or holders of a link (token stored hashed). */
export interface ShareGrantsTable {
  id: Generated<number>;
  share_id: number;
  kind: 'user' | 'group' | 'link';
  user_id: number | null;
  group_id: number | null;
  /** SHA-256 (hex) of a link's token; null for other kinds. */
  token_hash: string | null;
  /** For a user grant obtained by following a link: that link's grant. */
  parent_grant_id: number | null;
  expires_at: number | null;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
}

/** A folder of derived files an owner publishes in the catalog (derived/). */
export interface DerivedDatasetsTable {
  id: Generated<number>;
  owner_id: number;
  /** The name in the instance_id `derived.<owner>.<name>.v<version>` and `/shared/<owner>/<name>`. */
  name: string;
  /** `derived` or `home`. */
  area: string;
  rel_path: string;
  title: string;
  description: string;
  licence_id: string | null;
  licence_text: string | null;
  /** JSON `{users: string[], groups: string[], public: boolean}`: the audience the owner chose. */
  audience: string;
  /** The read-only share that shows the folder to the effective audience. */
  share_id: number | null;
  created_at: number;
  updated_at: number;
  unpublished_at: number | null;
}

/** One published version of a derived data set: JSON of its files, facts, inputs and licences. */
export interface DerivedVersionsTable {
  id: Generated<number>;
  dataset_id: number;
  /** `YYYYMMDD` (or a larger number when published more than once a day). */
  version: string;
  files: string;
  facts: string;
  inputs: string;
  licences: string;
  created_at: number;
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
  identities: IdentitiesTable;
  oidc_flows: OidcFlowsTable;
  oidc_pending: OidcPendingTable;
  access_roles: AccessRolesTable;
  access_groups: AccessGroupsTable;
  access_memberships: AccessMembershipsTable;
  access_requests: AccessRequestsTable;
  notifications: NotificationsTable;
  access_audit: AccessAuditTable;
  catalog_files: CatalogFilesTable;
  storage_quotas: StorageQuotasTable;
  shares: SharesTable;
  share_grants: ShareGrantsTable;
  derived_datasets: DerivedDatasetsTable;
  derived_versions: DerivedVersionsTable;
}
