import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOG, hasScope, parseUserName } from '@eucp/core';
import type { HubContext } from '../context.js';
import { defaultDistDir, sendAsset } from './assets.js';

/** What the web routes use of the hub's services. `HubContext` satisfies it. */
export interface WebContext {
  servers: Pick<HubContext['servers'], 'status'>;
}

export interface WebOptions {
  /** The built web UI (`packages/web/dist`); defaults to the one next to this package. */
  distDir?: string;
}

const STATIC_PREFIX = '/hub/static/';

/** The SPA's pages; the browser app routes among them by pathname (packages/web/src/lib/routes.ts). */
const SPA_PATHS = [
  '/hub/home', '/hub/admin', '/hub/token', '/hub/spawn', '/hub/spawn/*', '/hub/spawn-pending/*',
  '/hub/catalog', '/hub/catalog/requests', '/hub/catalog/publish', '/hub/catalog/dataset/*',
  '/hub/shares', '/hub/shares/with-me',
];

/**
 * Content-Security-Policy of the SPA: scripts, styles and connections from the hub only,
 * no inline script, no framing. (React sets style *properties*, which CSP allows.)
 */
export const SPA_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = 'The web UI is not built: run npm run build (or npm run build -w packages/web), then reload this page.';

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', SPA_CSP)
    .header('X-Frame-Options', 'DENY')
    .header('Referrer-Policy', 'same-origin')
    .header('X-Content-Type-Options', 'nosniff');
}

/** The URL path without its query string, still percent-encoded. */
const rawPath = (req: FastifyRequest): string => (req.raw.url ?? req.url).split('?')[0]!;
const rawQuery = (req: FastifyRequest): string => {
  const url = req.raw.url ?? req.url;
  const i = url.indexOf('?');
  return i < 0 ? '' : url.slice(i);
};

function redirectToLogin(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.header('Cache-Control', 'no-store').redirect(`/hub/login?next=${encodeURIComponent(req.raw.url ?? req.url)}`, 302);
}

/**
 * Does the client prefer JSON to HTML (JupyterHub's test for API requests)? Each type
 * takes the weight of its most specific matching range: exact, then `type/any`, then any.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(',').map((part) => {
    const [media = '', ...params] = part.trim().toLowerCase().split(';').map((p) => p.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    return { media, q: Number.isFinite(q) ? q : 0 };
  });
  // [q, specificity]: on equal weights a type named outright beats one matched by a wildcard.
  const weight = (type: string): [number, number] => {
    const [major] = type.split('/');
    const candidates = [type, `${major}/*`, '*/*'];
    for (const [i, candidate] of candidates.entries()) {
      const hit = ranges.find((r) => r.media === candidate);
      if (hit) return [hit.q, candidates.length - i];
    }
    return [0, 0];
  };
  const [jq, js] = weight('application/json');
  const [hq, hs] = weight('text/html');
  return jq > 0 && (jq > hq || (jq === hq && js > hs));
}

/**
 * Serves the hub's browser UI and the browser-facing hub URLs (JupyterHub contract §d.8):
 * - `/hub/static/*`: the built assets of `packages/web` (long cache for hashed files);
 * - `/hub/home`, `/hub/admin`, `/hub/token`, `/hub/spawn[/<user>[/<server>]]`, `/hub/catalog[/requests]`,
 *   `/hub/catalog/dataset/<instance_id>`,
 *   `/hub/spawn-pending/<user>[/<server>]`: the SPA's index.html with a strict CSP, or a
 *   redirect to `/hub/login?next=…` without a browser session;
 * - `/hub/user-redirect/<path>` → `/user/<me>/<path>`;
 * - `/hub/user/<name>/…`, where the proxy sends requests for a server that is not
 *   running: 424 JSON for API-looking or non-GET requests; for pages a redirect to
 *   `/hub/spawn-pending/<name>` while it starts, else the SPA's "not running" page (424).
 * When the UI is not built, its pages and assets answer 503 saying so.
 */
export async function registerWeb(app: FastifyInstance, ctx: WebContext, opts: WebOptions = {}): Promise<void> {
  const distDir = path.resolve(opts.distDir ?? defaultDistDir());

  const sendSpa = async (reply: FastifyReply, status = 200): Promise<FastifyReply> => {
    securityHeaders(reply).header('Cache-Control', 'no-store');
    let html: string;
    try {
      html = await readFile(path.join(distDir, 'index.html'), 'utf8');
    } catch {
      return reply.status(503).type('text/plain; charset=utf-8').send(NOT_BUILT);
    }
    return reply.status(status).type('text/html; charset=utf-8').send(html);
  };

  app.get(`${STATIC_PREFIX}*`, async (req, reply) => {
    try {
      await access(path.join(distDir, 'index.html'));
    } catch {
      return reply.status(503).type('text/plain; charset=utf-8').header('Cache-Control', 'no-store').send(NOT_BUILT);
    }
    return sendAsset(req, reply, distDir, rawPath(req).slice(STATIC_PREFIX.length));
  });

  for (const url of SPA_PATHS) {
    app.get(url, async (req, reply) => {
      if (req.auth?.via !== 'session') return redirectToLogin(req, reply);
      return sendSpa(reply);
    });
  }

  app.get('/hub/user-redirect/*', async (req, reply) => {
    const auth = req.auth;
    if (auth?.via !== 'session') return redirectToLogin(req, reply);
    const prefix = `/user/${encodeURIComponent(auth.user.name)}/`;
    const tail = rawPath(req).slice('/hub/user-redirect/'.length).replace(/^\/+/, '');
    const target = prefix + tail + rawQuery(req);
    // Dot segments (also encoded ones) must not climb out of the user's prefix.
    const safe = new URL(target, 'http://hub.invalid').pathname.startsWith(prefix) ? target : prefix;
    return reply.header('Cache-Control', 'no-store').redirect(safe, 302);
  });

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/hub/user/*',
    handler: async (req, reply) => {
      const tail = rawPath(req).slice('/hub/user/'.length);
      const [rawName = '', ...rest] = tail.split('/');
      let name: string;
      try {
        name = decodeURIComponent(rawName);
      } catch {
        name = rawName;
      }
      const serverPath = `/user/${rawName}/${rest.join('/')}`;
      const spawnUrl = `/hub/spawn/${encodeURIComponent(name)}`;
      const isPage = (req.method === 'GET' || req.method === 'HEAD') && !rest.includes('api') && !prefersJson(req.headers.accept);
      if (!isPage) {
        const spec = ERROR_CATALOG.SERVER_NOT_RUNNING;
        return reply.status(424).header('Cache-Control', 'no-store').type('application/json').send({
          status: 424,
          message: `The server is not running: nothing answers at ${serverPath}. Restart the server at ${spawnUrl}`,
          code: 'SERVER_NOT_RUNNING',
          action: spec.action,
        });
      }
      const auth = req.auth;
      if (auth?.via !== 'session') return redirectToLogin(req, reply);
      // Only someone allowed to see that server learns that it is starting.
      if (hasScope(auth.scopes, 'read:servers', { user: name, server: `${name}/` })) {
        const state = await serverState(ctx, name);
        if (state === 'starting') {
          const next = encodeURIComponent(serverPath + rawQuery(req));
          return reply.header('Cache-Control', 'no-store').redirect(`/hub/spawn-pending/${encodeURIComponent(name)}?next=${next}`, 302);
        }
      }
      return sendSpa(reply, 424);
    },
  });
}

async function serverState(ctx: WebContext, name: string): Promise<string | null> {
  try {
    return (await ctx.servers.status(parseUserName(name))).state;
  } catch {
    return null; // invalid name or no such user: the page explains without details
  }
}
