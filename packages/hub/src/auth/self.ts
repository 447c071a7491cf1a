import type { FastifyRequest } from 'fastify';
import { AppError, hasScope, type UserName } from '@eucp/core';
import { requireAuth } from './plugin.js';

/**
 * The caller acting on their own things (shares, derived data): readers need `read:users`
 * on themselves, writers `servers` on themselves — a browser session has both, an API token
 * with `inherit` too. Throws `UNAUTHENTICATED` without credentials, `FORBIDDEN` without the scope.
 */
export function selfActor(req: FastifyRequest, write: boolean): { id: number; name: UserName } {
  const auth = requireAuth(req);
  const scope = write ? 'servers' : 'read:users';
  if (!hasScope(auth.scopes, scope, { user: auth.user.name, userGroups: auth.user.groups })) {
    throw new AppError('FORBIDDEN', `Requires ${scope} on yourself (a browser session, or a token with inherit).`);
  }
  return { id: auth.user.id, name: auth.user.name };
}
