import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies, serializeCookie } from '@eucp/core';
import { headerToken, queryToken, safeEqual, type Identity, type LabAuth } from './auth.js';
import type { LoginSessions } from './login-sessions.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * Standalone authentication: one secret token (printed at start, like `jupyter server`).
 * `Authorization: token <t>` or, for pages, `?token=<t>` once, which sets a login cookie.
 */
export class TokenAuth implements LabAuth {
  readonly publicPaths = new Set(['api']);
  private readonly cookieName: string;

  constructor(
    private readonly token: string,
    private readonly user: string,
    private readonly sessions: LoginSessions,
    private readonly baseUrl: string,
  ) {
    this.cookieName = 'eucp-lab-login';
  }

  async identify(req: FastifyRequest): Promise<Identity | null> {
    const t = headerToken(req) ?? queryToken(req);
    if (t !== null) return safeEqual(t, this.token) ? { name: this.user, via: 'token' } : null;
    const s = this.sessions.get(parseCookies(req.headers.cookie).get(this.cookieName));
    return s ? { name: s.name, via: 'cookie' } : null;
  }

  async challenge(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const t = (req.query as Record<string, unknown>).token;
    if (typeof t === 'string' && safeEqual(t, this.token)) {
      const value = this.sessions.create({ name: this.user, expiresAt: Date.now() + 30 * DAY_MS });
      const url = new URL(req.url, 'http://x');
      url.searchParams.delete('token');
      reply
        .header('set-cookie', serializeCookie(this.cookieName, value, { path: this.baseUrl, httpOnly: true, sameSite: 'Lax' }))
        .redirect(url.pathname + url.search, 302);
      return;
    }
    reply
      .status(403)
      .type('text/plain; charset=utf-8')
      .send('This lab server needs its token: open the URL it printed at start (…/lab?token=…).\n');
  }

  routes(_app: FastifyInstance): void {}
}
