import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, hasAnyScope, hasScope, type ScopeTarget } from '@eucp/core';
import type { HubContext } from '../context.js';
import { csrfMatches, csrfTokenFromHeaders, isStateChangingMethod } from './csrf.js';
import type { AuthContext } from './types.js';

export type { AuthContext } from './types.js';

/** Paths under the API that do their own request authentication (OAuth client credentials, form CSRF). */
const CSRF_EXEMPT_PREFIX = '/hub/api/oauth2/';

function isApiPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return path === '/hub/api' || path.startsWith('/hub/api/');
}

/**
 * Resolves `request.auth` for every request (token header first, then session cookie)
 * and enforces the anti-forgery rule on the JSON API: a cookie-authenticated POST, PUT,
 * PATCH or DELETE under `/hub/api/` must carry `X-XSRFToken` (or `X-CSRF-Token`) equal
 * to the session's token, else `CSRF_FAILED`; token-authenticated requests skip it.
 * Also serves `GET /hub/api/eucp/session` for the web UI.
 */
export async function registerAuth(app: FastifyInstance, ctx: HubContext): Promise<void> {
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (req) => {
    req.auth = await ctx.auth.authenticateHeaders(req.headers);
  });
  app.addHook('preHandler', async (req) => {
    if (req.auth?.via === 'session' && isStateChangingMethod(req.method) && isApiPath(req.url) && !req.url.startsWith(CSRF_EXEMPT_PREFIX)) {
      checkCsrf(req);
    }
  });

  app.get('/hub/api/eucp/session', async (req, reply) => {
    const auth = req.auth;
    if (!auth || auth.via !== 'session') throw new AppError('UNAUTHENTICATED', 'No browser session.');
    reply.header('Cache-Control', 'no-store');
    return { user: auth.user.name, admin: auth.user.admin, csrfToken: auth.csrfToken, scopes: auth.scopes };
  });
}

/** The request's AuthContext; throws `UNAUTHENTICATED` (403) when it has no valid credentials. */
export function requireAuth(req: FastifyRequest): AuthContext {
  if (!req.auth) throw new AppError('UNAUTHENTICATED');
  return req.auth;
}

/**
 * Authorizes an action by scope, with JupyterHub's answers:
 * - no credentials ⇒ `UNAUTHENTICATED` (403 "Missing or invalid credentials.");
 * - none of `scopes` held for any resource ⇒ `FORBIDDEN` (403) naming the required scopes;
 * - held only for other resources than `target` ⇒ `NOT_FOUND` (404), so the caller
 *   cannot tell a forbidden resource from a missing one.
 * `scopes` is "any of". `target`: the user/server/group acted on; omitted = the scope is
 * needed unfiltered; `'any'` = held for at least one resource (list endpoints, which then
 * filter their results). Returns the AuthContext.
 */
export function requireScope(req: FastifyRequest, scopes: string | readonly string[], target?: ScopeTarget | 'any'): AuthContext {
  const auth = requireAuth(req);
  const list = typeof scopes === 'string' ? [scopes] : scopes;
  const held = auth.scopes;
  if (target === 'any') {
    if (list.some((s) => hasAnyScope(held, s))) return auth;
  } else if (list.some((s) => hasScope(held, s, target ?? {}))) {
    return auth;
  }
  if (target !== 'any' && list.some((s) => hasAnyScope(held, s))) {
    throw new AppError('NOT_FOUND');
  }
  throw new AppError('FORBIDDEN', `Requires any of [${list.join(', ')}].`);
}

/**
 * Anti-forgery check for cookie-authenticated state-changing requests (the preHandler
 * applies it to the JSON API; other hub pages may call it). Accepts the token in
 * `X-XSRFToken`/`X-CSRF-Token`. No-op for token-authenticated or anonymous requests.
 * Throws `CSRF_FAILED`.
 */
export function checkCsrf(req: FastifyRequest): void {
  const auth = req.auth;
  if (!auth || auth.via !== 'session') return;
  if (!csrfMatches(auth.csrfToken, csrfTokenFromHeaders(req.headers))) {
    throw new AppError('CSRF_FAILED', 'Send the X-XSRFToken header (GET /hub/api/eucp/session gives its value).');
  }
}
