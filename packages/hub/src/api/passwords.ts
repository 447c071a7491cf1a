import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseUserName } from '@eucp/core';
import type { HubContext } from '../context.js';
import { requireScope } from '../auth/plugin.js';
import { generatePassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.js';
import { parseBody } from './input.js';

const setPasswordBody = z.object({
  password: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).optional(),
}).strict();

/**
 * `POST /hub/api/eucp/users/:name/password` (scope `admin:users` on that user): sets a
 * user's password — the one given, or a generated one returned once in the answer — and
 * ends the user's sessions. How an administrator hands out accounts from the admin page
 * (the JupyterHub API creates users without passwords).
 */
export async function registerPasswordApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  app.post<{ Params: { name: string } }>('/hub/api/eucp/users/:name/password', async (req) => {
    const name = parseUserName(req.params.name);
    const auth = requireScope(req, 'admin:users', { user: name });
    const body = parseBody(setPasswordBody, req.body);
    const user = await ctx.accounts.getUser(name);
    const password = body?.password ?? generatePassword();
    await ctx.accounts.setPassword(name, password, auth.user.name);
    await ctx.auth.destroyUserSessions(user.id);
    return body?.password ? { name } : { name, password };
  });
}
