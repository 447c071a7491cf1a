import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { clearCookie, hasScope, parseCookies, serializeCookie } from '@eucp/core';
import type { Logger } from 'pino';
import { headerToken, queryToken, type Identity, type LabAuth } from '../http/auth.js';
import { JupyterError } from '../http/errors.js';
import type { LoginSessions } from '../http/login-sessions.js';

/** The parts of the JupyterHub single-user environment (contract §a.2) that OAuth needs. */
export interface HubSettings {
  apiToken: string;
  /** `http://127.0.0.1:8081/hub/api`, no trailing slash. */
  apiUrl: string;
  clientId: string;
  /** Usually relative: `/user/alice/oauth_callback`. */
  callbackUrl: string;
  /** `/user/alice/` */
  servicePrefix: string;
  /** `https://hub.example.org` or '' (same origin as the browser). */
  host: string;
  /** Hub base URL, `/` by default. */
  baseUrl: string;
  /** Owner of this server. */
  user: string;
  serverName: string;
  /** `JUPYTERHUB_OAUTH_ACCESS_SCOPES`: holding any of them admits a visitor. */
  accessScopes: string[];
}

const HubUser = z.object({
  name: z.string(),
  kind: z.string().optional(),
  scopes: z.array(z.string()).default([]),
});
type HubUser = z.infer<typeof HubUser>;

const TokenReply = z.object({ access_token: z.string(), expires_in: z.number().optional() });

/** How long a token's identity is trusted before asking the hub again. */
const CHECK_TTL_MS = 60_000;
const STATE_TTL_S = 600;
const DEFAULT_LOGIN_MS = 14 * 24 * 3600 * 1000;

/**
 * OAuth with the hub, as `jupyterhub-singleuser` does it (contract §b): pages without a
 * login cookie are sent to the hub's authorize endpoint; the callback exchanges the code
 * for a token, asks the hub who holds it, admits only callers whose scopes cover this
 * server's access scopes, and sets this server's own login cookie. API callers may also
 * send a hub token in `Authorization`.
 */
export class HubAuth implements LabAuth {
  readonly publicPaths = new Set(['api', 'oauth_callback', 'logout']);
  private readonly checked = new Map<string, { user: HubUser | null; at: number }>();
  /** OAuth state → where to go after login. */
  private readonly pending = new Map<string, { next: string; expiresAt: number }>();

  constructor(
    private readonly hub: HubSettings,
    private readonly sessions: LoginSessions,
    private readonly log: Logger,
  ) {}

  private get cookieName(): string {
    return this.hub.clientId;
  }

  async identify(req: FastifyRequest): Promise<Identity | null> {
    const token = headerToken(req) ?? queryToken(req);
    if (token !== null) {
      const user = await this.hubUser(token);
      return user && this.admits(user) ? { name: user.name, via: 'token' } : null;
    }
    const cookie = parseCookies(req.headers.cookie).get(this.cookieName);
    const session = this.sessions.get(cookie);
    if (!session?.hubToken) return null;
    const user = await this.hubUser(session.hubToken);
    if (!user || !this.admits(user)) {
      // Revoked at the hub (logout, token deleted, access withdrawn): forget the login.
      this.sessions.delete(cookie!);
      return null;
    }
    return { name: user.name, via: 'cookie' };
  }

  async challenge(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const state = randomBytes(16).toString('base64url');
    this.pending.set(state, { next: req.url, expiresAt: Date.now() + STATE_TTL_S * 1000 });
    const q = new URLSearchParams({
      client_id: this.hub.clientId,
      redirect_uri: this.hub.callbackUrl,
      response_type: 'code',
      state,
    });
    reply
      .header('set-cookie', serializeCookie(`${this.cookieName}-oauth-state`, state, {
        path: this.hub.servicePrefix, httpOnly: true, sameSite: 'Lax', maxAgeSeconds: STATE_TTL_S,
      }))
      .redirect(`${this.hub.host}${this.hub.baseUrl}hub/api/oauth2/authorize?${q}`, 302);
  }

  routes(app: FastifyInstance): void {
    app.get('/oauth_callback', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      if (q.error) throw new JupyterError(400, `Error in oauth: ${q.error_description ?? q.error}`);
      if (!q.code || !q.state) throw new JupyterError(400, 'OAuth callback without code or state: start again from the hub home page.');
      const stateCookie = parseCookies(req.headers.cookie).get(`${this.cookieName}-oauth-state`);
      const pending = this.pending.get(q.state);
      if (stateCookie !== q.state || !pending || pending.expiresAt < Date.now()) {
        throw new JupyterError(403, 'OAuth state does not match: start again from the hub home page.');
      }
      this.pending.delete(q.state);
      const token = await this.exchange(q.code);
      const user = await this.hubUser(token.access_token);
      if (!user) throw new JupyterError(500, 'The hub did not recognise the token it just issued.');
      if (!this.admits(user)) throw new JupyterError(403, `user ${user.name} is not allowed.`);
      const value = this.sessions.create({
        name: user.name,
        hubToken: token.access_token,
        expiresAt: Date.now() + (token.expires_in ? token.expires_in * 1000 : DEFAULT_LOGIN_MS),
      });
      reply.header('set-cookie', [
        serializeCookie(this.cookieName, value, { path: this.hub.servicePrefix, httpOnly: true, sameSite: 'Lax', secure: req.protocol === 'https' }),
        clearCookie(`${this.cookieName}-oauth-state`, { path: this.hub.servicePrefix, httpOnly: true, sameSite: 'Lax' }),
      ]);
      return reply.redirect(pending.next.startsWith(this.hub.servicePrefix) ? pending.next : this.hub.servicePrefix, 302);
    });
    app.get('/logout', async (req, reply) => {
      const cookie = parseCookies(req.headers.cookie).get(this.cookieName);
      if (cookie) this.sessions.delete(cookie);
      reply.header('set-cookie', clearCookie(this.cookieName, { path: this.hub.servicePrefix, httpOnly: true, sameSite: 'Lax' }));
      return reply.redirect(`${this.hub.host}${this.hub.baseUrl}hub/logout`, 302);
    });
  }

  /** True if the visitor holds one of this server's access scopes (contract §b.6). */
  private admits(user: HubUser): boolean {
    const target = { user: this.hub.user, server: `${this.hub.user}/${this.hub.serverName}` };
    return this.hub.accessScopes.some((s) => {
      const base = s.split('!')[0]!;
      return hasScope(user.scopes, base, target);
    });
  }

  private async exchange(code: string): Promise<z.infer<typeof TokenReply>> {
    const body = new URLSearchParams({
      client_id: this.hub.clientId,
      client_secret: this.hub.apiToken,
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.hub.callbackUrl,
    });
    const res = await fetch(`${this.hub.apiUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `token ${this.hub.apiToken}` },
      body,
    });
    if (!res.ok) {
      this.log.warn({ status: res.status }, 'hub refused the OAuth code');
      throw new JupyterError(500, 'The hub refused the login code: start again from the hub home page.');
    }
    return TokenReply.parse(await res.json());
  }

  /** Who holds `token` according to the hub, cached for a minute; null if nobody. */
  private async hubUser(token: string): Promise<HubUser | null> {
    const hit = this.checked.get(token);
    if (hit && Date.now() - hit.at < CHECK_TTL_MS) return hit.user;
    const res = await fetch(`${this.hub.apiUrl}/user`, { headers: { authorization: `token ${token}` } }).catch((err: Error) => {
      this.log.warn({ err: err.message }, 'hub unreachable while checking a token');
      return null;
    });
    if (res === null || res.status >= 500) throw new JupyterError(502, 'The hub is not answering: try again in a moment.');
    const user = res.ok ? HubUser.parse(await res.json()) : null;
    if (this.checked.size > 1000) this.checked.clear();
    this.checked.set(token, { user, at: Date.now() });
    return user;
  }
}
