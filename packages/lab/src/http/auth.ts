import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies } from '@eucp/core';
import type { LabContext } from '../context.js';
import { JupyterError } from './errors.js';

/** Who is calling, and how they proved it (cookie callers must also pass the XSRF check). */
export interface Identity {
  /** User name (the hub user, or the local user in standalone mode). */
  name: string;
  via: 'cookie' | 'token';
}

/**
 * How the lab server decides who a request comes from. Two implementations: `HubAuth`
 * (OAuth with the hub, the JupyterHub single-user contract) and `TokenAuth` (a shared
 * secret, standalone use and tests).
 */
export interface LabAuth {
  /** The caller of `req`, or null when it proves nothing. Never throws for bad credentials. */
  identify(req: FastifyRequest): Promise<Identity | null>;
  /** Answers a page request that carries no identity (redirect to a login, or a 403 page). */
  challenge(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Routes of the scheme itself (OAuth callback, logout); public. */
  routes(app: FastifyInstance): void;
  /** Paths (relative to the base URL) that need no identity. */
  readonly publicPaths: ReadonlySet<string>;
}

/** Name of the XSRF cookie JupyterLab reads and echoes in `X-XSRFToken`. */
export const XSRF_COOKIE = '_xsrf';

/** GETs that JupyterLab sends on a timer: they do not count as user activity (§0.4). */
const POLLING = /^api\/(kernels|sessions|terminals|me|kernelspecs|status)(\/|$)/;

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** The token a request carries in `Authorization: token|bearer …`, if any. */
export function headerToken(req: FastifyRequest): string | null {
  const m = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : null;
}

/** `?token=` is honoured only on WebSocket upgrades (never logged, never on pages). */
export function queryToken(req: FastifyRequest): string | null {
  if (!isWebSocket(req)) return null;
  const t = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof t === 'string' && t ? t : null;
}

export function isWebSocket(req: FastifyRequest): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** The request path relative to the base URL, without the query: `api/contents/a.ipynb`. */
export function relativePath(req: FastifyRequest, baseUrl: string): string {
  const path = (req.url.split('?')[0] ?? '').replace(/\/{2,}/g, '/');
  return path.startsWith(baseUrl) ? path.slice(baseUrl.length) : path.replace(/^\//, '');
}

function isPage(rel: string): boolean {
  return rel === '' || /^(lab|doc|tree|edit|notebooks|terminals\/\d)/.test(rel) && !rel.startsWith('lab/api/');
}

/** The host part of an Origin header, or null. */
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every non-public route. */
    identity?: Identity;
  }
}

/**
 * Authentication, XSRF and Origin checks for every route under the base URL. API calls
 * without identity get 403 (jupyter_server never redirects API calls); pages are
 * challenged; cookie-authenticated writes must echo the `_xsrf` cookie in `X-XSRFToken`;
 * WebSocket upgrades must come from the page's own origin.
 */
export function authHooks(app: FastifyInstance, ctx: LabContext, auth: LabAuth): void {
  const base = ctx.config.baseUrl;
  auth.routes(app);
  app.addHook('onRequest', async (req, reply) => {
    const rel = relativePath(req, base);
    if (auth.publicPaths.has(rel) || rel.startsWith('static/')) return;
    const identity = await auth.identify(req);
    if (!identity) {
      if (req.method === 'GET' && !isWebSocket(req) && isPage(rel)) {
        await auth.challenge(req, reply);
        return reply;
      }
      throw new JupyterError(403, 'Forbidden: log in through the hub (or pass the server token) first.');
    }
    if (identity.via === 'cookie') {
      if (isWebSocket(req)) {
        const origin = req.headers.origin;
        if (origin && originHost(origin) !== req.headers.host) {
          throw new JupyterError(403, 'Cross-origin WebSocket refused: open the lab from its own address.');
        }
      } else if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method)) {
        const cookie = parseCookies(req.headers.cookie).get(XSRF_COOKIE);
        const sent = req.headers['x-xsrftoken'];
        const given = typeof sent === 'string' ? sent : (req.query as Record<string, unknown>)?._xsrf;
        if (!cookie || typeof given !== 'string' || !safeEqual(cookie, given)) {
          throw new JupyterError(403, "'_xsrf' argument missing or wrong: reload the page and try again.");
        }
      }
    }
    req.identity = identity;
    const tracked = (req.query as Record<string, unknown> | undefined)?.no_track_activity === undefined;
    if (tracked && !(req.method === 'GET' && POLLING.test(rel)) && rel !== 'api') ctx.activity.touch();
  });
}
