import type { GroupName, UserName } from '@eucp/core';

/** A hub user as the rest of the hub sees it (never the password hash). */
export interface UserRecord {
  id: number;
  name: UserName;
  admin: boolean;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Milliseconds since the epoch, or null if never active. */
  lastActivity: number | null;
  /** Whether a password is set (the account can log in with a password). */
  hasPassword: boolean;
}

/** A hub group with its members (sorted by name). */
export interface GroupRecord {
  id: number;
  name: GroupName;
  /** JupyterHub group `properties`: a JSON object. */
  properties: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  createdAt: number;
  users: UserName[];
}

/** Who performs a mutation, as written to the audit log: a user name, `system` or `cli`. */
export type Actor = string;
