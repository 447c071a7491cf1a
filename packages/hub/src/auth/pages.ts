import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '@eucp/core';
import type { HubContext } from '../context.js';
import { appendSetCookie, clearCookie, LOGIN_XSRF_COOKIE, parseCookies, serializeCookie, SESSION_COOKIE } from './cookies.js';
import { randomSecret } from './crypto.js';
import { csrfMatches } from './csrf.js';
import { escapeHtml, renderPage, sendHtml } from './html.js';
import { safeNextUrl } from './next-url.js';
import { oidcLoginHtml } from './oidc/login-page.js';

/** Where users land after log-in when no (valid) `next` is given. */
export const HOME_PATH = '/hub/home';
const LOGIN_PATH = '/hub/login';
/** Lifetime of the log-in form's anti-forgery cookie (s). */
const LOGIN_XSRF_MAX_AGE_S = 24 * 3600;

interface LoginFormState {
  next: string | null;
  xsrf: string;
  username?: string;
  error?: string;
  /** OpenID Connect provider buttons and notice (escaped HTML, see `oidcLoginHtml`). */
  oidc?: { notice: string; buttons: string };
}

function loginPage(s: LoginFormState): string {
  const action = s.next ? `${LOGIN_PATH}?next=${encodeURIComponent(s.next)}` : LOGIN_PATH;
  const error = s.error ? `<p class="error" role="alert" id="login-error">${escapeHtml(s.error)}</p>` : '';
  const described = s.error ? ' aria-describedby="login-error"' : '';
  return renderPage('Log in', `<h1>Log in to EUCP Notebook</h1>${s.oidc?.notice ?? ''}${error}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="_xsrf" value="${escapeHtml(s.xsrf)}">
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${escapeHtml(s.username ?? '')}"${described}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${described}>
<button type="submit">Log in</button>
</form>${s.oidc?.buttons ?? ''}`);
}

/** Human wording of a wait, e.g. "45 seconds" or "15 minutes". */
export function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

function queryNext(req: FastifyRequest): string | null {
  return safeNextUrl((req.query as Record<string, unknown> | undefined)?.next);
}

/**
 * The log-in form's anti-forgery value: the pre-login cookie if present and well formed,
 * else a new one (set on the reply).
 */
function loginXsrf(ctx: HubContext, req: FastifyRequest, reply: FastifyReply, fresh = false): string {
  const existing = parseCookies(req.headers.cookie).get(LOGIN_XSRF_COOKIE);
  if (!fresh && existing && /^[A-Za-z0-9_-]{32,64}$/.test(existing)) return existing;
  const value = randomSecret(32);
  appendSetCookie(reply, [serializeCookie(LOGIN_XSRF_COOKIE, value, {
    path: '/hub/', httpOnly: true, sameSite: 'Lax', secure: ctx.auth.secureCookies, maxAgeSeconds: LOGIN_XSRF_MAX_AGE_S,
  })]);
  return value;
}

/**
 * Hub pages of the log-in flow: `GET/POST /hub/login` (form with a hidden anti-forgery
 * field bound to a pre-login cookie; `next` kept if it is a same-origin path),
 * `GET/POST /hub/logout`, and redirects from `/` and `/hub/` to `/hub/home`.
 */
export async function registerLoginPages(app: FastifyInstance, ctx: HubContext): Promise<void> {
  for (const path of ['/', '/hub', '/hub/']) {
    app.get(path, async (_req, reply) => reply.redirect(HOME_PATH, 302));
  }

  app.get(LOGIN_PATH, async (req, reply) => {
    const next = queryNext(req);
    if (req.auth?.via === 'session') return reply.redirect(next ?? HOME_PATH, 302);
    return sendHtml(reply, 200, loginPage({ next, xsrf: loginXsrf(ctx, req, reply), oidc: oidcLoginHtml(ctx.config, { next, query: req.query }) }));
  });

  app.post(LOGIN_PATH, async (req, reply) => {
    const next = queryNext(req);
    const oidc = oidcLoginHtml(ctx.config, { next });
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const username = typeof body.username === 'string' ? body.username : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const cookieXsrf = parseCookies(req.headers.cookie).get(LOGIN_XSRF_COOKIE);
    if (!csrfMatches(cookieXsrf, body._xsrf)) {
      const xsrf = loginXsrf(ctx, req, reply, true);
      return sendHtml(reply, 403, loginPage({ next, xsrf, username, oidc, error: 'The log-in form had expired. Please enter your password again.' }));
    }
    let user;
    try {
      user = await ctx.auth.login({ username, password, address: req.ip });
    } catch (err) {
      if (!isAppError(err)) throw err;
      const xsrf = loginXsrf(ctx, req, reply);
      if (err.code === 'LOGIN_RATE_LIMITED') {
        const seconds = Number(err.fields.retryAfterSeconds ?? 60);
        reply.header('Retry-After', String(seconds));
        const error = `Too many failed log-in attempts. Try again in ${describeWait(seconds)}.`;
        return sendHtml(reply, 429, loginPage({ next, xsrf, username, oidc, error }));
      }
      if (err.code === 'LOGIN_FAILED') {
        return sendHtml(reply, 403, loginPage({ next, xsrf, username, oidc, error: 'Invalid username or password.' }));
      }
      throw err;
    }
    const previous = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (previous) await ctx.auth.destroySession(previous);
    const session = await ctx.auth.createSession(user.id);
    appendSetCookie(reply, [
      ...ctx.auth.sessionCookies(session),
      clearCookie(LOGIN_XSRF_COOKIE, { path: '/hub/', httpOnly: true, sameSite: 'Lax', secure: ctx.auth.secureCookies }),
    ]);
    reply.header('Cache-Control', 'no-store');
    return reply.redirect(next ?? HOME_PATH, 302);
  });

  const logout = async (req: FastifyRequest, reply: FastifyReply) => {
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (cookie) await ctx.auth.destroySession(cookie);
    appendSetCookie(reply, ctx.auth.clearedSessionCookies());
    reply.header('Cache-Control', 'no-store');
    return reply.redirect(LOGIN_PATH, 302);
  };
  app.get('/hub/logout', logout);
  app.post('/hub/logout', logout);
}
