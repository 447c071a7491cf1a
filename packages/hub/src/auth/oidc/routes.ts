import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, isAppError, isoformat, parseUserName } from '@eucp/core';
import type { HubContext } from '../../context.js';
import { parseBody } from '../../api/input.js';
import { requireScope } from '../plugin.js';
import { appendSetCookie, clearCookie, parseCookies, serializeCookie, SESSION_COOKIE } from '../cookies.js';
import { messagePage, sendHtml } from '../html.js';
import { safeNextUrl } from '../next-url.js';
import { HOME_PATH } from '../pages.js';
import type { IdentityRecord, PendingRecord } from './identities.js';
import { isOidcNoticeReason, loginNoticeUrl, oidcNoticeMessage } from './login-page.js';
import { OIDC_COOKIE_PATH, OIDC_FLOW_COOKIE } from './flows.js';
import { OidcService } from './service.js';

interface ProviderParams { id: string }

const approveBody = z.object({ name: z.string().optional() }).strict();
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** The hub's own origin for redirect URIs: `publicUrl` when set, else the request's Host (validated). */
function hubOrigin(ctx: HubContext, req: FastifyRequest): string {
  if (ctx.config.publicUrl) return ctx.config.publicUrl.replace(/\/+$/, '');
  const host = req.headers.host ?? '';
  if (!HOST.test(host)) throw new AppError('INVALID_INPUT', 'Bad Host header.');
  return `http://${host}`;
}

function queryString(req: FastifyRequest): string {
  const i = req.url.indexOf('?');
  return i < 0 ? '' : req.url.slice(i + 1);
}

function presentIdentity(i: IdentityRecord, service: OidcService): Record<string, unknown> {
  const email = typeof i.claims.email === 'string' ? i.claims.email : null;
  return {
    id: i.id, provider: i.provider, provider_name: service.providers.get(i.provider)?.displayName ?? null,
    issuer: i.issuer, subject: i.subject, email, created: isoformat(i.createdAt), last_login: isoformat(i.lastLogin),
  };
}

function presentPending(p: PendingRecord, service: OidcService): Record<string, unknown> {
  return {
    id: p.id, provider: p.provider, provider_name: service.providers.get(p.provider)?.displayName ?? null, issuer: p.issuer,
    subject: p.subject, name: p.name, email: p.email, created: isoformat(p.createdAt), last_attempt: isoformat(p.lastAttempt),
  };
}

function parseId(raw: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) throw new AppError('NOT_FOUND', `No such id: ${raw}.`);
  return Number(raw);
}

/**
 * OpenID Connect routes of the hub; returns the service it built (or was given).
 *
 * Browser: `GET /hub/oidc/<id>/login?next=…` (redirects to the provider),
 * `GET /hub/oidc/<id>/callback` (finishes; a hub session like a password log-in, or back
 * to `/hub/login?oidc_error=…` with the reason), `GET /hub/oidc/<id>/link?next=…` (a
 * logged-in user links another identity).
 * API: `GET /hub/api/eucp/oidc/providers` (public), `GET /hub/api/eucp/users/<name>/identities`
 * and `DELETE …/identities/<identity id>` (the user themself or an admin: scope `tokens`
 * or `admin:users` on the user; the last way to log in cannot be removed),
 * `GET /hub/api/eucp/oidc/pending`, `POST …/pending/<id>/approve` (`{"name"?}`) and
 * `DELETE …/pending/<id>` (unfiltered `admin:users`).
 * Must be registered after `registerAuth` (it reads `request.auth`).
 */
export async function registerOidc(app: FastifyInstance, ctx: HubContext, service?: OidcService): Promise<OidcService> {
  const oidc = service ?? new OidcService({ db: ctx.db, config: ctx.config, accounts: ctx.accounts, now: ctx.now, log: ctx.log.child({ component: 'oidc' }) });
  const cookieOpts = () => ({ path: OIDC_COOKIE_PATH, httpOnly: true, sameSite: 'Lax' as const, secure: ctx.auth.secureCookies });

  /** Sends a failed step back to the log-in page (or, for a logged-in browser, an error page). */
  const fail = (req: FastifyRequest, reply: FastifyReply, err: unknown, providerId: string, next: string | null): FastifyReply => {
    if (!isAppError(err)) throw err;
    const reason = err.fields.reason;
    const provider = oidc.providers.get(providerId);
    if (!provider || !isOidcNoticeReason(reason)) throw err;
    reply.header('Cache-Control', 'no-store');
    if (req.auth?.via === 'session') {
      const page = messagePage('Log-in provider', oidcNoticeMessage(reason, provider.displayName), { href: next ?? HOME_PATH, text: 'Back' });
      return sendHtml(reply, err.status, page);
    }
    return reply.redirect(loginNoticeUrl(reason, provider.id, next), 302);
  };

  const start = async (req: FastifyRequest<{ Params: ProviderParams }>, reply: FastifyReply, linkUserId: number | null) => {
    const provider = oidc.provider(req.params.id);
    const next = safeNextUrl((req.query as Record<string, unknown> | undefined)?.next);
    let begun: { url: string; cookieValue: string };
    try {
      begun = await oidc.begin({
        providerId: provider.id, redirectUri: `${hubOrigin(ctx, req)}/hub/oidc/${provider.id}/callback`, next, linkUserId, address: req.ip,
      });
    } catch (err) {
      return fail(req, reply, err, provider.id, next);
    }
    appendSetCookie(reply, [serializeCookie(OIDC_FLOW_COOKIE, begun.cookieValue, { ...cookieOpts(), maxAgeSeconds: oidc.flowTimeoutSeconds })]);
    reply.header('Cache-Control', 'no-store');
    return reply.redirect(begun.url, 302);
  };

  app.get<{ Params: ProviderParams }>('/hub/oidc/:id/login', async (req, reply) => start(req, reply, null));

  app.get<{ Params: ProviderParams }>('/hub/oidc/:id/link', async (req, reply) => {
    oidc.provider(req.params.id);
    if (req.auth?.via !== 'session') {
      return reply.redirect(`/hub/login?next=${encodeURIComponent(req.url)}`, 302);
    }
    return start(req, reply, req.auth.user.id);
  });

  app.get<{ Params: ProviderParams }>('/hub/oidc/:id/callback', async (req, reply) => {
    const provider = oidc.provider(req.params.id);
    appendSetCookie(reply, [clearCookie(OIDC_FLOW_COOKIE, cookieOpts())]);
    reply.header('Cache-Control', 'no-store');
    let outcome;
    try {
      outcome = await oidc.complete({
        providerId: provider.id, query: queryString(req), cookieValue: parseCookies(req.headers.cookie).get(OIDC_FLOW_COOKIE),
        currentUserId: req.auth?.via === 'session' ? req.auth.user.id : null, address: req.ip,
      });
    } catch (err) {
      return fail(req, reply, err, provider.id, null);
    }
    if (outcome.kind === 'login') {
      const previous = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
      if (previous) await ctx.auth.destroySession(previous);
      const session = await ctx.auth.createSession(outcome.user.id);
      appendSetCookie(reply, ctx.auth.sessionCookies(session));
    }
    return reply.redirect(safeNextUrl(outcome.next) ?? HOME_PATH, 302);
  });

  app.get('/hub/api/eucp/oidc/providers', async () => oidc.providers.list().map((p) => ({
    id: p.id, display_name: p.displayName, login_url: `/hub/oidc/${p.id}/login`, link_url: `/hub/oidc/${p.id}/link`,
  })));

  app.get<{ Params: { name: string } }>('/hub/api/eucp/users/:name/identities', async (req, reply) => {
    const name = parseUserName(req.params.name);
    requireScope(req, ['admin:users', 'tokens'], { user: name });
    const user = await ctx.accounts.getUser(name);
    reply.header('Cache-Control', 'no-store');
    const identities = await oidc.identities.listOf(user.id);
    return { name: user.name, password: user.hasPassword, identities: identities.map((i) => presentIdentity(i, oidc)) };
  });

  app.delete<{ Params: { name: string; identity: string } }>('/hub/api/eucp/users/:name/identities/:identity', async (req, reply) => {
    const name = parseUserName(req.params.name);
    const auth = requireScope(req, ['admin:users', 'tokens'], { user: name });
    const user = await ctx.accounts.getUser(name);
    await oidc.identities.unlink(user.id, user.name, parseId(req.params.identity), auth.user.name);
    return reply.status(204).send();
  });

  app.get('/hub/api/eucp/oidc/pending', async (req, reply) => {
    requireScope(req, 'admin:users');
    reply.header('Cache-Control', 'no-store');
    return (await oidc.identities.listPending()).map((p) => presentPending(p, oidc));
  });

  app.post<{ Params: { id: string } }>('/hub/api/eucp/oidc/pending/:id/approve', async (req, reply) => {
    const auth = requireScope(req, 'admin:users');
    const body = parseBody(approveBody, req.body);
    const user = await oidc.approvePending(parseId(req.params.id), { name: body.name }, auth.user.name);
    return reply.status(201).send({ name: user.name });
  });

  app.delete<{ Params: { id: string } }>('/hub/api/eucp/oidc/pending/:id', async (req, reply) => {
    const auth = requireScope(req, 'admin:users');
    await oidc.rejectPending(parseId(req.params.id), auth.user.name);
    return reply.status(204).send();
  });

  return oidc;
}
