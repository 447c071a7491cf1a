import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ADMIN_SCOPES, AppError, isAppError } from '@eucp/core';
import type { HubContext } from '../context.js';
import type { UserRecord } from '../accounts/types.js';
import { requireScope } from '../auth/plugin.js';
import { intersectScopes, roleScopes } from '../auth/scope-sets.js';
import { parseTokenApiId, type TokenRecord } from '../auth/tokens.js';
import type { AuthContext } from '../auth/types.js';
import { parseBody } from './input.js';
import { presentToken } from './presenters.js';

interface NameParams { name: string }
interface TokenParams { name: string; token_id: string }

const issueBody = z.object({
  expires_in: z.number().int('expires_in must be a whole number of seconds.').positive().nullable().optional(),
  note: z.string().max(1000).optional(),
  scopes: z.array(z.string()).optional(),
  roles: z.array(z.string()).optional(),
});

/** Deprecated `roles` of `POST …/tokens`, mapped to scopes. */
function rolesToScopes(roles: readonly string[], owner: string): string[] {
  const out: string[] = [];
  for (const r of roles) {
    if (r === 'token') out.push('inherit');
    else if (r === 'user') out.push('self');
    else if (r === 'admin') out.push(...ADMIN_SCOPES);
    else if (r === 'server') out.push(`users:activity!user=${owner}`, `access:servers!user=${owner}`);
    else throw new AppError('INVALID_INPUT', `Unknown role ${JSON.stringify(r)}; use scopes instead.`, { field: 'roles' });
  }
  return out;
}

/**
 * API token endpoints (contract §d.4): `/hub/api/users/:name/tokens[/:token_id]` to list,
 * issue, read and revoke. New tokens never get scopes the owner or the requester lacks.
 */
export async function registerTokensApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  async function owner(name: string): Promise<{ user: UserRecord | null; target: { user: string; userGroups: string[] } }> {
    const user = await ctx.accounts.findUser(name);
    return { user, target: { user: name, userGroups: user ? await ctx.accounts.groupsOf(user.id) : [] } };
  }
  function mustExist(user: UserRecord | null, name: string): UserRecord {
    if (!user) throw new AppError('NOT_FOUND', `No such user: ${name}.`);
    return user;
  }
  async function present(user: UserRecord, tokens: readonly TokenRecord[]): Promise<Array<Record<string, unknown>>> {
    const clientIds = [...new Set(tokens.map((t) => t.oauthClientId).filter((c): c is string => c !== null))];
    const descriptions = new Map<string, string>();
    for (const id of clientIds) {
      const c = await ctx.auth.getOAuthClient(id);
      if (c) descriptions.set(id, c.description);
    }
    return tokens.map((t) => presentToken(t, user.name, ctx.auth.tokenScopes(t, user), t.oauthClientId ? descriptions.get(t.oauthClientId) : null));
  }
  async function findToken(user: UserRecord, rawId: string): Promise<TokenRecord> {
    const id = parseTokenApiId(rawId);
    const token = id === null ? null : await ctx.auth.getToken(user.id, id);
    if (!token) throw new AppError('NOT_FOUND', `No such token: ${rawId}.`);
    return token;
  }

  app.get<{ Params: NameParams }>('/hub/api/users/:name/tokens', async (req) => {
    const { user, target } = await owner(req.params.name);
    requireScope(req, 'read:tokens', target);
    const u = mustExist(user, req.params.name);
    return { api_tokens: await present(u, await ctx.auth.listTokens(u.id)) };
  });

  app.post<{ Params: NameParams }>('/hub/api/users/:name/tokens', async (req, reply) => {
    const { user, target } = await owner(req.params.name);
    const auth: AuthContext = requireScope(req, 'tokens', target);
    const u = mustExist(user, req.params.name);
    const body = parseBody(issueBody, req.body);
    let scopes = body.scopes ?? (body.roles ? rolesToScopes(body.roles, u.name) : null);
    if (scopes === null) {
      // Default: everything the owner has, unless the requester holds less (then that).
      try {
        ctx.auth.checkGrantableScopes(['inherit'], u, auth.scopes);
        scopes = ['inherit'];
      } catch (err) {
        if (!isAppError(err)) throw err;
        scopes = intersectScopes(auth.scopes, roleScopes(u));
      }
    } else {
      ctx.auth.checkGrantableScopes(scopes, u, auth.scopes);
    }
    let note = body.note ?? 'Requested via api';
    if (auth.user.id !== u.id) note += ` by user ${auth.user.name}`;
    const issued = await ctx.auth.issueToken({
      userId: u.id, scopes, note, expiresInMs: body.expires_in == null ? null : body.expires_in * 1000,
    });
    const [model] = await present(u, [issued.record]);
    reply.header('Cache-Control', 'no-store');
    return reply.status(201).send({ ...model, token: issued.token });
  });

  app.get<{ Params: TokenParams }>('/hub/api/users/:name/tokens/:token_id', async (req) => {
    const { user, target } = await owner(req.params.name);
    requireScope(req, 'read:tokens', target);
    const u = mustExist(user, req.params.name);
    const [model] = await present(u, [await findToken(u, req.params.token_id)]);
    return model;
  });

  app.delete<{ Params: TokenParams }>('/hub/api/users/:name/tokens/:token_id', async (req, reply) => {
    const { user, target } = await owner(req.params.name);
    requireScope(req, 'tokens', target);
    const u = mustExist(user, req.params.name);
    const token = await findToken(u, req.params.token_id);
    await ctx.auth.revokeToken(token.id);
    return reply.status(204).send();
  });
}
