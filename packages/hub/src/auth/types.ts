import type { UserName } from '@eucp/core';

/** Who is making a request, resolved once per request by the auth hook. */
export interface AuthContext {
  user: { id: number; name: UserName; admin: boolean; groups: readonly string[] };
  /** Expanded scopes the request holds (no `self`; filters resolved to user/server). */
  scopes: readonly string[];
  via: 'session' | 'token';
  /** Public hub session id (JupyterHub `session_id`), for sessions and OAuth tokens. */
  sessionId: string | null;
  /** API token id (`a<id>` in the API), when authenticated by token. */
  tokenId: number | null;
  /** Anti-forgery token of the session (only for `via: 'session'`). */
  csrfToken: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Null when the request carries no valid credentials. */
    auth: AuthContext | null;
  }
}
