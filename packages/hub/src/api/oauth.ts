import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, hasScope, isAppError, serverPrefix, type ServerName, type UserName } from '@eucp/core';
import type { HubContext } from '../context.js';
import type { OAuthClientRecord } from '../auth/oauth-store.js';
import { identifyScopes } from '../auth/scope-sets.js';
import { csrfMatches } from '../auth/csrf.js';
import { escapeHtml, messagePage, renderPage, sendHtml } from '../auth/html.js';
import type { AuthContext } from '../auth/types.js';
import { errorBody } from '../http/errors.js';

const AUTHORIZE_PATH = '/hub/api/oauth2/authorize';

interface AuthorizeParams {
  client_id: string;
  redirect_uri: string;
  response_type: string;
  state: string | undefined;
}

type Checked =
  | { ok: true; client: OAuthClientRecord; redirectUri: string; owner: { name: UserName; server: ServerName } | null; scopes: string[] }
  | { ok: false; status: number; title: string; message: string };

function field(src: unknown, key: string): string | undefined {
  const v = (src as Record<string, unknown> | undefined)?.[key];
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' ? x : undefined;
}

function authorizeParams(src: unknown): AuthorizeParams {
  return {
    client_id: field(src, 'client_id') ?? '', redirect_uri: field(src, 'redirect_uri') ?? '',
    response_type: field(src, 'response_type') ?? '', state: field(src, 'state'),
  };
}

/** Validates an authorize request for a logged-in visitor (contract §b.2 steps 2-4). */
async function check(ctx: HubContext, auth: AuthContext, p: AuthorizeParams): Promise<Checked> {
  const client = p.client_id ? await ctx.auth.getOAuthClient(p.client_id) : null;
  const redirectUri = p.redirect_uri || client?.redirectUri || '';
  if (!client || redirectUri !== client.redirectUri) {
    return { ok: false, status: 400, title: 'Log-in failed', message: 'Unknown OAuth client or redirect URI. Restart the server from the hub home page.' };
  }
  if (p.response_type !== 'code') {
    return { ok: false, status: 400, title: 'Log-in failed', message: `Unsupported response_type ${JSON.stringify(p.response_type)}; only "code" is supported.` };
  }
  const scopes = identifyScopes(auth.user.name);
  if (client.serverId === null) return { ok: true, client, redirectUri, owner: null, scopes };
  const row = await ctx.db.selectFrom('servers').innerJoin('users', 'users.id', 'servers.user_id')
    .select(['users.id as userId', 'users.name as userName', 'servers.name as serverName'])
    .where('servers.id', '=', client.serverId).executeTakeFirst();
  if (!row) return { ok: false, status: 400, title: 'Log-in failed', message: 'The server of this OAuth client no longer exists.' };
  const owner = { name: row.userName as UserName, server: row.serverName as ServerName };
  const userGroups = await ctx.accounts.groupsOf(row.userId);
  const full = `${owner.name}/${owner.server}`;
  if (!hasScope(auth.scopes, 'access:servers', { user: owner.name, server: full, userGroups })) {
    return { ok: false, status: 403, title: 'Access denied', message: `You do not have permission to access Server at ${serverPrefix(owner.name, owner.server)}` };
  }
  return { ok: true, client, redirectUri, owner, scopes: [...scopes, `access:servers!server=${full}`] };
}

async function grant(ctx: HubContext, auth: AuthContext, c: Extract<Checked, { ok: true }>, state: string | undefined, reply: FastifyReply) {
  const code = await ctx.auth.issueCode({
    clientId: c.client.id, userId: auth.user.id, scopes: c.scopes, sessionId: auth.sessionId, redirectUri: c.redirectUri,
  });
  const params = new URLSearchParams({ code });
  if (state !== undefined) params.set('state', state);
  const sep = c.redirectUri.includes('?') ? '&' : '?';
  reply.header('Cache-Control', 'no-store');
  return reply.redirect(`${c.redirectUri}${sep}${params.toString()}`, 302);
}

function confirmPage(auth: AuthContext, p: AuthorizeParams, c: Extract<Checked, { ok: true }>): string {
  const what = c.owner ? `the server at ${serverPrefix(c.owner.name, c.owner.server)} owned by ${c.owner.name}` : c.client.description;
  const hidden = (name: string, value: string | undefined) =>
    value === undefined ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return renderPage('Authorize access', `<h1>Authorize access</h1>
<p>You are logged in as <strong>${escapeHtml(auth.user.name)}</strong>. Open ${escapeHtml(what)}?</p>
<p>It will learn your user name and groups, and you will act in it as its owner lets you.</p>
<form method="post" action="${AUTHORIZE_PATH}">
${hidden('client_id', p.client_id)}${hidden('redirect_uri', c.redirectUri)}${hidden('response_type', p.response_type)}${hidden('state', p.state)}${hidden('_xsrf', auth.csrfToken ?? '')}
<button type="submit">Authorize</button>
</form>
<p><a href="/hub/home">Cancel</a></p>`);
}

function loginRedirect(req: FastifyRequest, reply: FastifyReply) {
  return reply.redirect(`/hub/login?next=${encodeURIComponent(req.url)}`, 302);
}

/**
 * The OAuth2 provider for single-user servers (contract §b): the browser-facing
 * authorize endpoint (log-in redirect, client and access checks, confirmation for other
 * users' servers, one-time codes valid 300 s) and the token endpoint servers call.
 */
export async function registerOAuth(app: FastifyInstance, ctx: HubContext): Promise<void> {
  app.get(AUTHORIZE_PATH, async (req, reply) => {
    const auth = req.auth;
    if (!auth || auth.via !== 'session') return loginRedirect(req, reply);
    const p = authorizeParams(req.query);
    const c = await check(ctx, auth, p);
    if (!c.ok) return sendHtml(reply, c.status, messagePage(c.title, c.message, { href: '/hub/home', text: 'Go to the hub home page' }));
    if (c.owner === null || c.owner.name === auth.user.name) return grant(ctx, auth, c, p.state, reply);
    return sendHtml(reply, 200, confirmPage(auth, p, c));
  });

  app.post(AUTHORIZE_PATH, async (req, reply) => {
    const auth = req.auth;
    if (!auth || auth.via !== 'session') return loginRedirect(req, reply);
    if (!csrfMatches(auth.csrfToken, field(req.body, '_xsrf'))) {
      return sendHtml(reply, 403, messagePage('Access denied', 'The form is missing its anti-forgery token. Go back and try again.'));
    }
    const p = authorizeParams(req.body);
    const c = await check(ctx, auth, p);
    if (!c.ok) return sendHtml(reply, c.status, messagePage(c.title, c.message, { href: '/hub/home', text: 'Go to the hub home page' }));
    return grant(ctx, auth, c, p.state, reply);
  });

  app.post('/hub/api/oauth2/token', async (req, reply) => {
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
    let clientId = field(req.body, 'client_id') ?? '';
    let clientSecret = field(req.body, 'client_secret') ?? '';
    const basic = /^basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic && !clientSecret) {
      const decode = (v: string) => { try { return decodeURIComponent(v.replace(/\+/g, ' ')); } catch { return v; } };
      const [id, ...rest] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      clientId ||= decode(id ?? '');
      clientSecret = decode(rest.join(':'));
    }
    const input = {
      grantType: field(req.body, 'grant_type') ?? '', clientId, clientSecret,
      code: field(req.body, 'code') ?? '', redirectUri: field(req.body, 'redirect_uri') ?? '',
    };
    try {
      if (!input.clientId || !input.code || !input.grantType) {
        throw new AppError('INVALID_INPUT', 'client_id, client_secret, grant_type, code and redirect_uri are required.', { error: 'invalid_request' });
      }
      const g = await ctx.auth.exchangeCode(input);
      return { access_token: g.accessToken, token_type: g.tokenType, expires_in: g.expiresIn, scope: g.scope };
    } catch (err) {
      if (!isAppError(err)) throw err;
      const status = err.fields.error === 'invalid_client' ? 401 : err.status;
      return reply.status(status).type('application/json')
        .send({ error: err.fields.error ?? 'invalid_request', error_description: err.detail ?? err.message, ...errorBody(err), status });
    }
  });
}
