import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../context.js';
import { registerAuth } from '../auth/plugin.js';
import { registerLoginPages } from '../auth/pages.js';
import { registerOidc } from '../auth/oidc/routes.js';
import { registerHubApi } from '../api/hub.js';
import { registerUsersApi } from '../api/users.js';
import { registerGroupsApi } from '../api/groups.js';
import { registerTokensApi } from '../api/tokens.js';
import { registerOAuth } from '../api/oauth.js';

/**
 * Who is asking and what they may do: the auth hook (first: it resolves `request.auth`
 * for every route after it), the log-in pages, and the JupyterHub API for the hub itself,
 * users, groups, tokens and OAuth. The hub registers the rest after these.
 */
export async function registerIdentityRoutes(app: FastifyInstance, ctx: HubContext): Promise<void> {
  await registerAuth(app, ctx);
  await registerLoginPages(app, ctx);
  // OpenID Connect login and identity linking (needs request.auth from registerAuth).
  await registerOidc(app, ctx);
  await registerHubApi(app, ctx);
  await registerUsersApi(app, ctx);
  await registerGroupsApi(app, ctx);
  await registerTokensApi(app, ctx);
  await registerOAuth(app, ctx);
}
