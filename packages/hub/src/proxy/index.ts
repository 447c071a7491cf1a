import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { hasScope, type ServerName, type UserName } from '@eucp/core';
import type { HubContext } from '../context.js';
import type { AuthContext } from '../auth/types.js';
import type { Route, RouteTable } from './routes.js';

/** Cookies of the hub that must never reach a single-user server. */
const HUB_COOKIE = /^eucp-/;
/** How often proxy traffic is written to the database as activity. */
const ACTIVITY_FLUSH_MS = 30_000;

/** Removes the hub's own cookies from a Cookie header; returns undefined if none remain. */
export function stripHubCookies(cookie: string | undefined): string | undefined {
  if (!cookie) return cookie;
  const kept = cookie.split(';').map((c) => c.trim()).filter((c) => c && !HUB_COOKIE.test(c.split('=')[0]!));
  return kept.length ? kept.join('; ') : undefined;
}

/** True if a WebSocket `Origin` is the hub itself (or absent: non-browser clients send none). */
export function originAllowed(origin: string | undefined, host: string | undefined, publicUrl: string | null): boolean {
  if (!origin) return true;
  let o: URL;
  try { o = new URL(origin); } catch { return false; }
  if (publicUrl && o.origin === new URL(publicUrl).origin) return true;
  return host !== undefined && o.host === host;
}

function wantsHtml(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The proxy in the hub process: `/user/<name>/…` over HTTP and WebSocket to that user's
 * server, only for a session or token holding `access:servers` on it. Handled before
 * fastify's routing so request bodies stream through untouched.
 */
export class UserProxy {
  private readonly proxy = createProxyServer({ xfwd: true, ws: true, agent: new http.Agent({ keepAlive: true, maxSockets: 256 }) });
  private readonly activity = new Map<string, { user: UserName; server: ServerName; at: number }>();
  private readonly flushTimer: NodeJS.Timeout;

  constructor(private readonly ctx: HubContext, private readonly routes: RouteTable) {
    this.proxy.on('proxyReq', (proxyReq) => {
      const cookie = stripHubCookies(proxyReq.getHeader('cookie') as string | undefined);
      if (cookie === undefined) proxyReq.removeHeader('cookie'); else proxyReq.setHeader('cookie', cookie);
    });
    this.proxy.on('proxyReqWs', (proxyReq) => {
      proxyReq.setNoDelay(true);
      const cookie = stripHubCookies(proxyReq.getHeader('cookie') as string | undefined);
      if (cookie === undefined) proxyReq.removeHeader('cookie'); else proxyReq.setHeader('cookie', cookie);
    });
    // No Nagle on either side of a kernel WebSocket: small messages must not wait for ACKs.
    this.proxy.on('open', (proxySocket) => proxySocket.setNoDelay(true));
    this.proxy.on('error', (err, req, resOrSocket) => {
      ctx.log.warn({ err: (err as Error).message, url: (req as IncomingMessage).url }, 'proxy error');
      if (resOrSocket && 'writeHead' in resOrSocket) {
        const res = resOrSocket as ServerResponse;
        if (!res.headersSent) sendJson(res, 503, { status: 503, message: 'The server is not responding. It may be restarting; try again in a moment, or restart it from /hub/home.' });
        else res.destroy();
      } else (resOrSocket as Duplex | undefined)?.destroy();
      void ctx.servers.checkAll().catch(() => {});
    });
    this.flushTimer = setInterval(() => void this.flushActivity(), ACTIVITY_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Is `pathname` something this proxy handles? */
  static handles(url: string | undefined): boolean {
    return url !== undefined && url.startsWith('/user/');
  }

  private allowed(auth: AuthContext | null, route: { user: UserName; server: ServerName }): boolean {
    return auth !== null && hasScope(auth.scopes, 'access:servers', {
      user: route.user, server: `${route.user}/${route.server}`,
    });
  }

  private noteActivity(route: Route): void {
    this.activity.set(route.prefix, { user: route.user, server: route.server, at: this.ctx.now() });
  }

  /** Writes buffered activity to the database. */
  async flushActivity(): Promise<void> {
    const items = [...this.activity.values()];
    this.activity.clear();
    for (const a of items) await this.ctx.servers.touch(a.user, a.server, a.at).catch(() => {});
  }

  /**
   * Serves one proxied HTTP request. Never rejects (the server calls it with `void`): a
   * malformed path (`/user/%E0/`) is answered 400, any other failure 500 (or, once the
   * answer has started, by closing the connection).
   */
  async handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.serveRequest(req, res);
    } catch (err) {
      const malformed = err instanceof URIError;
      if (!malformed) this.ctx.log.error({ err: (err as Error).message, url: req.url }, 'proxy request failed');
      if (res.headersSent) res.destroy();
      else if (malformed) sendJson(res, 400, { status: 400, message: 'Malformed URL.', code: 'INVALID_INPUT' });
      else sendJson(res, 500, { status: 500, message: 'Internal error in the hub proxy.', code: 'INTERNAL' });
    }
  }

  private async serveRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-JupyterHub-Version', this.ctx.jupyterhubVersion);
    const url = req.url ?? '/';
    const pathname = url.split('?')[0]!;
    const auth = await this.ctx.auth.authenticateHeaders(req.headers).catch(() => null);
    const m = /^\/user\/([^/]+)/.exec(pathname);
    const owner = m ? decodeURIComponent(m[1]!) : '';
    if (!auth) {
      if (wantsHtml(req)) {
        res.writeHead(302, { location: `/hub/login?next=${encodeURIComponent(url)}` });
        res.end();
      } else sendJson(res, 403, { status: 403, message: 'Missing or invalid credentials.', code: 'UNAUTHENTICATED', action: 'Log in at /hub/login, or send an API token.' });
      return;
    }
    const route = this.routes.lookup(pathname);
    const target = route ?? { user: owner as UserName, server: '' as ServerName };
    if (!this.allowed(auth, target)) {
      sendJson(res, 404, { status: 404, message: 'No access to resources or resources not found.', code: 'NOT_FOUND' });
      return;
    }
    if (!route) {
      // Not running: the hub explains and offers a restart (JupyterHub's default route).
      res.writeHead(302, { location: `/hub${url}` });
      res.end();
      return;
    }
    this.noteActivity(route);
    this.proxy.web(req, res, { target: route.target });
  }

  /** Serves one WebSocket upgrade. Never rejects: on any failure the socket is refused or closed. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      await this.serveUpgrade(req, socket, head);
    } catch (err) {
      const malformed = err instanceof URIError;
      if (!malformed) this.ctx.log.error({ err: (err as Error).message, url: req.url }, 'proxy upgrade failed');
      const status = malformed ? '400 Bad Request' : '500 Internal Server Error';
      if (!socket.destroyed) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
  }

  private async serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!originAllowed(req.headers.origin, req.headers.host, this.ctx.config.publicUrl)) return refuse(403, 'Forbidden');
    const url = new URL(req.url ?? '/', 'http://hub');
    const headers = { ...req.headers };
    const queryToken = url.searchParams.get('token');
    if (!headers.authorization && queryToken) headers.authorization = `token ${queryToken}`;
    const auth = await this.ctx.auth.authenticateHeaders(headers).catch(() => null);
    if (!auth) return refuse(403, 'Forbidden');
    const route = this.routes.lookup(url.pathname);
    if (!route || !this.allowed(auth, route)) return refuse(404, 'Not Found');
    if ('setNoDelay' in socket) (socket as unknown as { setNoDelay(v: boolean): void }).setNoDelay(true);
    this.noteActivity(route);
    // Messages from the browser (executing cells, typing in a terminal) are activity too.
    socket.on('data', () => this.noteActivity(route));
    this.proxy.ws(req, socket, head, { target: route.target });
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushActivity();
    this.proxy.close();
  }
}
