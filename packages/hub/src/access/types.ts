import type { UserName } from '@eucp/core';
import type { AccessRequestState } from '../db/schema.js';

export type { AccessRequestState } from '../db/schema.js';

/** An ESGF access-control group as the hub sees it. */
export interface AccessGroup {
  id: number;
  /** ESGF name, e.g. `CORDEX Research`. */
  name: string;
  description: string;
  /** What membership grants, in words. */
  grants: string;
  /** Offered for self-registration: listed to everyone, requestable by anyone. */
  visible: boolean;
  /** A request for role `user` is approved at once. */
  automaticApproval: boolean;
  licenceId: string | null;
  /** Markdown. */
  licenceText: string | null;
  /** sha256 (hex) of the licence text: the version a requester accepts. */
  licenceSha256: string | null;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

/** Who acts on the access service: a hub user, and whether they administer the whole hub. */
export interface AccessActor {
  id: number;
  name: UserName;
  /** Holds the unfiltered `admin:groups` scope (decides on every group). */
  hubAdmin: boolean;
}

/** A hub user whose access is decided (null elsewhere = anonymous). */
export interface AccessUser {
  id: number;
  name: string;
}

/** A membership request with its licence acceptance and decision. */
export interface AccessRequest {
  id: number;
  userId: number;
  user: UserName;
  groupId: number;
  group: string;
  role: string;
  state: AccessRequestState;
  purpose: string;
  licenceId: string | null;
  licenceSha256: string | null;
  /** Milliseconds since the epoch. */
  licenceAcceptedAt: number | null;
  createdAt: number;
  decidedAt: number | null;
  /** User name, `system` (automatic approval) or `import`. */
  decidedBy: string | null;
  reason: string | null;
}

/** A membership of the caller (the ESGF permission) with its state. */
export interface MembershipRecord {
  group: string;
  role: string;
  approved: boolean;
  requestedAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
}

/** An in-app notification. */
export interface NotificationRecord {
  id: number;
  kind: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  createdAt: number;
  readAt: number | null;
}

/** One row of the access audit trail. */
export interface AccessAuditRecord {
  id: number;
  at: number;
  actor: string;
  /** `request`, `approve`, `reject`, `revoke`, `withdraw`, `read` (details: via, file, bytes), `mount` (a sandbox start: data sets bound), `import`, `group`, `policies`. */
  action: string;
  /** The user it concerns ('' if none). */
  subject: string;
  group: string | null;
  role: string | null;
  resource: string | null;
  requestId: number | null;
  details: Record<string, unknown>;
}

/** A change of someone's access, for caches and the sandbox (`AccessService.onChange`). */
export interface AccessChange {
  /** Whose access changed; `'*'` = possibly everyone's (the policies were reloaded). */
  user: UserName | '*';
  group: string;
  role: string;
  change: 'requested' | 'granted' | 'rejected' | 'revoked' | 'policies';
}
