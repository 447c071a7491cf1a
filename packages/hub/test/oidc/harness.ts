/**
 * Test harness of the OIDC tests: a hub app (identity routes + OIDC routes, real SQLite)
 * listening on 127.0.0.1:0 next to a `TestIdp`, and a small multi-origin browser.
 */
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createTestContext, type TestContext } from '@eucp/testing/hub-factory';
import { installHttpBasics } from '@eucp/hub/http/basics';
import { registerIdentityRoutes } from '@eucp/hub/http/identity-routes';
import { createLogger } from '@eucp/hub/log/index';
import { registerOidc } from '@eucp/hub/auth/oidc/routes';
import { OidcService } from '@eucp/hub/auth/oidc/service';
import type { TestIdp } from './idp.js';

/** The client secret of the hub at the test provider: tests assert it never reaches a log. */
export const CLIENT_SECRET = 'hub-client-secret-7f3a9c';
export const CLIENT_ID = 'eucp-hub';

export interface OidcHub {
  ctx: TestContext;
  app: FastifyInstance;
  oidc: OidcService;
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  /** Every log line written so far (JSON), for secret checks. */
  logs(): string;
  close(): Promise<void>;
}

/**
 * Starts a hub whose provider `test` ("Test IdP") is `idp`, registered there with the
 * hub's callback. `provider` overrides provider keys; `config` adds top-level config.
 */
export async function startOidcHub(idp: TestIdp, opts: { provider?: Record<string, unknown>; config?: Record<string, unknown> } = {}): Promise<OidcHub> {
  const provider = {
    id: 'test', displayName: 'Test IdP', issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
    scopes: ['openid', 'profile', 'email', 'groups'], allowInsecureHttp: true, ...opts.provider,
  };
  const ctx = await createTestContext({ config: { oidc: { providers: [provider] }, ...opts.config } });
  let logText = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logText += chunk.toString(); cb(); } });
  ctx.log = createLogger('debug', sink);
  const app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
  await installHttpBasics(app, ctx);
  await registerIdentityRoutes(app, ctx);
  // Once the hub wires the OIDC routes into its identity routes, use those; the service
  // here then only reads the same database (identities, pending approvals).
  const wired = app.hasRoute({ method: 'GET', url: '/hub/oidc/:id/login' });
  const oidc = wired ? new OidcService({ db: ctx.db, config: ctx.config, accounts: ctx.accounts, now: ctx.now }) : await registerOidc(app, ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  idp.registerClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/hub/oidc/test/callback`] });
  return {
    ctx, app, oidc, url, logs: () => logText,
    async close() {
      await app.close();
      await ctx.close();
    },
  };
}

interface Cookie { name: string; value: string; host: string; path: string }

/** One hop of a navigation. */
export interface Hop { status: number; url: string; location: string | null }

/**
 * A minimal browser across origins: cookies per host (as browsers do, ports share
 * cookies) honouring `Path` and deletion, manual redirects recorded hop by hop.
 */
export class TestBrowser {
  readonly cookies: Cookie[] = [];
  readonly history: Hop[] = [];

  cookie(name: string): Cookie | undefined {
    return this.cookies.find((c) => c.name === name);
  }

  private store(url: URL, setCookies: string[]): void {
    for (const sc of setCookies) {
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const pathAttr = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5);
      const path = pathAttr ?? url.pathname.replace(/\/[^/]*$/, '/');
      const i = this.cookies.findIndex((c) => c.name === name && c.host === url.hostname && c.path === path);
      if (i >= 0) this.cookies.splice(i, 1);
      const expired = /max-age=0\b/i.test(sc) || /expires=Thu, 01 Jan 1970/i.test(sc) || value === '';
      if (!expired) this.cookies.push({ name, value, host: url.hostname, path });
    }
  }

  private header(url: URL): string {
    return this.cookies.filter((c) => c.host === url.hostname && url.pathname.startsWith(c.path)).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** One request, no redirects followed. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const u = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.header(u);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(u, { ...init, headers, redirect: 'manual' });
    this.store(u, res.headers.getSetCookie());
    this.history.push({ status: res.status, url: u.href, location: res.headers.get('location') });
    return res;
  }

  /**
   * Navigates to `url` and follows redirects (any origin, at most 20), stopping early
   * before a URL for which `stopAt` is true. Resolves the last response and its URL.
   */
  async navigate(url: string, stopAt?: (u: URL) => boolean): Promise<{ res: Response; url: string }> {
    let current = url;
    let res = await this.request(current);
    for (let i = 0; i < 20 && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location')!, current);
      if (stopAt?.(next)) return { res, url: next.href };
      await res.arrayBuffer();
      current = next.href;
      res = await this.request(current);
    }
    return { res, url: current };
  }

  /** Logs in with a hub password through the log-in form at `hubUrl`. */
  async passwordLogin(hubUrl: string, username: string, password: string): Promise<Response> {
    const page = await (await this.request(`${hubUrl}/hub/login`)).text();
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    return this.request(`${hubUrl}/hub/login`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password, _xsrf: xsrf }).toString(),
    });
  }
}
