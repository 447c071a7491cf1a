import type { FastifyRequest } from 'fastify';
import { AppError, hasScope } from '@eucp/core';
import { requireAuth } from '../auth/plugin.js';
import type { AccessActor } from './types.js';

/**
 * A caller acting on their own access: any credential that may read its own user model
 * (a browser session, or a token with `inherit`/`read:users` on the owner). Hub admins are
 * those holding the unfiltered `admin:groups` scope.
 */
export function actorOf(req: FastifyRequest): AccessActor {
  const auth = requireAuth(req);
  if (!hasScope(auth.scopes, 'read:users', { user: auth.user.name, userGroups: auth.user.groups })) {
    throw new AppError('FORBIDDEN', 'Requires read:users on yourself (a browser session, or a token with inherit).');
  }
  return { id: auth.user.id, name: auth.user.name, hubAdmin: hasScope(auth.scopes, 'admin:groups') };
}

