import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '@eucp/core';
import type { HubContext } from '../context.js';
import { requireAuth, requireScope } from '../auth/plugin.js';
import { identifyScopes } from '../auth/scope-sets.js';
import { tokenApiId } from '../auth/tokens.js';
import { presentUsers } from './users.js';

/** Version of this hub implementation, reported in `/hub/api/info`. */
const EUCP_VERSION = '0.1.0';

/**
 * Hub-level endpoints of the JupyterHub REST API: the unauthenticated version probe
 * (`GET /hub/api[/]`, CORS `*`), `GET /hub/api/info` (`read:hub`), `GET /hub/api/user`
 * (who holds this token, contract §b.5) and `OPTIONS` for every API path (§d.1).
 */
export async function registerHubApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  const version = async (_req: unknown, reply: FastifyReply) => {
    reply.header('Access-Control-Allow-Origin', '*');
    return { version: ctx.jupyterhubVersion };
  };
  app.get('/hub/api', version);
  app.get('/hub/api/', version);

  const options = async (_req: unknown, reply: FastifyReply) => {
    reply.header('Access-Control-Allow-Headers', 'accept, content-type, authorization');
    return reply.status(200).send();
  };
  app.options('/hub/api', options);
  app.options('/hub/api/*', options);

  app.get('/hub/api/info', async (req) => {
    requireScope(req, 'read:hub');
    return {
      version: ctx.jupyterhubVersion,
      python: null,
      sys_executable: process.execPath,
      spawner: { class: ctx.spawner.kind, version: EUCP_VERSION },
      authenticator: { class: 'eucp.LocalAuthenticator', version: EUCP_VERSION },
      eucp: { version: EUCP_VERSION, node: process.version },
    };
  });

  app.get('/hub/api/user', async (req) => {
    const auth = requireAuth(req);
    const user = await ctx.accounts.getUserById(auth.user.id);
    if (!user) throw new AppError('UNAUTHENTICATED');
    const [model] = await presentUsers(ctx, [user], {
      scopes: auth.scopes, extraScopes: identifyScopes(user.name), publicUrl: ctx.config.publicUrl,
    });
    return {
      ...model,
      session_id: auth.sessionId,
      token_id: auth.tokenId === null ? null : tokenApiId(auth.tokenId),
      scopes: [...auth.scopes].sort(),
    };
  });
}
