import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import path from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { AppError, isAppError, type UserName } from '@eucp/core';
import type { Logger } from '../log/index.js';
import type { HomeNotebookFiles } from './files.js';
import type { NotebookReadAccess, NotebookReader } from './read-access.js';
import type { NotebookRenderer, RenderOptions } from './render.js';
import type { TicketSigner } from './ticket.js';

/** What the viewer origin's HTTP app needs. */
export interface ViewerAppDeps {
  log: Logger;
  tickets: TicketSigner;
  files: HomeNotebookFiles;
  access: NotebookReadAccess;
  renderer: NotebookRenderer;
  /** Renders a notebook off the event loop (the render worker); default: `renderer` on this thread. */
  renderFile?(bytes: Buffer, opts: RenderOptions): Promise<string[]>;
  /** The reader a ticket was issued to, as they are now (null: the account is gone). */
  reader(id: number): Promise<NotebookReader | null>;
  /** Origin of the viewer as browsers reach it, e.g. `http://127.0.0.1:41234` (for the CSP). */
  origin(): string;
}

/** Sandbox flags of viewer documents, also when opened outside the hub's frame. */
const SANDBOX = 'sandbox allow-scripts allow-popups';

/**
 * CSP of a rendered notebook. Scripts may run (untrusted outputs need them; the document
 * is sandboxed into an opaque origin and each HTML output into its own frame), but nothing
 * may be fetched, posted or framed from anywhere: images only as data: URIs, style sheets
 * and fonts only from the viewer itself. Output frames (srcdoc) inherit this policy.
 */
export function renderCsp(origin: string, frameAncestors: string): string {
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline' 'unsafe-eval'",
    `style-src 'unsafe-inline' ${origin}`,
    `font-src ${origin}`,
    'img-src data:',
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    `frame-ancestors ${frameAncestors}`,
    SANDBOX,
  ].join('; ');
}

const ERROR_CSP = `default-src 'none'; style-src 'unsafe-inline' ORIGIN; font-src ORIGIN; base-uri 'none'; form-action 'none'; ${SANDBOX}`;

const requireFromHere = createRequire(import.meta.url);
const KATEX_DIST = path.dirname(requireFromHere.resolve('katex/dist/katex.min.css'));
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  'katex.min.css': { file: path.join(KATEX_DIST, 'katex.min.css'), type: 'text/css; charset=utf-8' },
  'highlight.css': { file: requireFromHere.resolve('highlight.js/styles/github.css'), type: 'text/css; charset=utf-8' },
};
const FONT = /^KaTeX_[A-Za-z0-9_-]+\.(woff2|woff|ttf)$/;
const FONT_TYPES: Record<string, string> = { woff2: 'font/woff2', woff: 'font/woff', ttf: 'font/ttf' };

/** Writes at least this many bytes at a time (small chunks are gathered). */
const WRITE_BYTES = 64 * 1024;

/** UTF-8 buffers of `chunks` in order: small ones gathered, large ones (images) encoded alone. */
export function* encodeChunks(chunks: readonly string[]): Generator<Buffer> {
  let pending: string[] = [];
  let pendingChars = 0;
  for (const chunk of chunks) {
    if (chunk.length >= WRITE_BYTES) {
      if (pendingChars) yield Buffer.from(pending.join(''), 'utf8');
      pending = [];
      pendingChars = 0;
      yield Buffer.from(chunk, 'utf8');
      continue;
    }
    pending.push(chunk);
    pendingChars += chunk.length;
    if (pendingChars >= WRITE_BYTES) {
      yield Buffer.from(pending.join(''), 'utf8');
      pending = [];
      pendingChars = 0;
    }
  }
  if (pendingChars) yield Buffer.from(pending.join(''), 'utf8');
}

/** Page-relative prefix of the static files as seen from `/render/<ticket>`. */
const STATIC_BASE = '../static/';

/**
 * The viewer origin's HTTP app: `GET /render/<ticket>` (a notebook as HTML) and
 * `GET /static/…` (KaTeX and highlight.js style sheets, KaTeX fonts). Nothing else: no
 * API, no cookies (request cookies are dropped before any route, `Set-Cookie` never
 * leaves), `Referrer-Policy: no-referrer` everywhere.
 */
export async function buildViewerApp(deps: ViewerAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    bodyLimit: 1024,
    // Tickets are a few hundred characters (fastify's default limit for a parameter is 100).
    routerOptions: { maxParamLength: 8192 },
  });
  const cache = new Map<string, Buffer>();

  app.addHook('onRequest', async (req, reply) => {
    delete req.headers.cookie;
    delete req.headers.authorization;
    reply.header('Referrer-Policy', 'no-referrer').header('X-Content-Type-Options', 'nosniff');
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.removeHeader('set-cookie');
    return payload;
  });

  const sendError = (reply: FastifyReply, err: AppError): FastifyReply => {
    const title = err.status === 404 ? 'Notebook not found' : err.code === 'VIEWER_LINK_INVALID' ? 'This view has expired' : 'Cannot show this notebook';
    const message = err.status === 404 ? 'There is no such notebook, or you may not read it.' : err.message;
    const html = deps.renderer.renderError(title, `${message} ${err.action}`, { staticBase: STATIC_BASE });
    return reply.status(err.status).type('text/html; charset=utf-8').header('Cache-Control', 'no-store')
      .header('Content-Security-Policy', ERROR_CSP.replaceAll('ORIGIN', deps.origin())).send(html);
  };

  app.setErrorHandler(async (err, req, reply) => {
    if (isAppError(err)) return sendError(reply, err);
    // fastify's own client errors (an undecodable URL…): nothing here for such a request.
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return sendError(reply, new AppError('NOT_FOUND'));
    req.log.error({ err }, 'viewer: unexpected error');
    return sendError(reply, new AppError('INTERNAL'));
  });
  app.setNotFoundHandler(async (_req, reply) => reply.status(404).type('text/plain; charset=utf-8').send('Not found'));

  app.get<{ Params: { ticket: string } }>('/render/:ticket', async (req, reply) => {
    const claims = deps.tickets.verify(req.params.ticket);
    const reader = await deps.reader(claims.readerId);
    // Asked again: a grant revoked after the page was opened stops the rendering.
    if (!reader || !(await deps.access.canRead(reader, claims.owner as UserName, claims.path))) {
      throw new AppError('VIEWER_LINK_INVALID', 'You may no longer read this notebook.');
    }
    const bytes = await deps.files.read(claims.owner, claims.path, claims.file);
    const name = claims.path.slice(claims.path.lastIndexOf('/') + 1);
    const opts = { title: `${name} — ${claims.owner}`, staticBase: STATIC_BASE };
    const chunks = deps.renderFile ? await deps.renderFile(bytes, opts) : deps.renderer.renderFile(bytes, opts);
    req.log.debug({ reader: reader.name, owner: claims.owner, path: claims.path, bytes: bytes.length }, 'notebook rendered');
    let length = 0;
    for (const chunk of chunks) length += Buffer.byteLength(chunk, 'utf8');
    return reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').header('Content-Length', String(length))
      .header('Content-Security-Policy', renderCsp(deps.origin(), claims.frameAncestor)).send(Readable.from(encodeChunks(chunks)));
  });

  const sendStatic = async (reply: FastifyReply, key: string, file: string, type: string): Promise<FastifyReply> => {
    let body = cache.get(key);
    if (!body) {
      try {
        body = await readFile(file);
      } catch {
        reply.callNotFound();
        return reply;
      }
      cache.set(key, body);
    }
    // Fonts are fetched in CORS mode, from the opaque origin of the sandboxed page.
    return reply.type(type).header('Cache-Control', 'public, max-age=86400').header('Access-Control-Allow-Origin', '*').send(body);
  };
  app.get<{ Params: { name: string } }>('/static/:name', async (req, reply) => {
    const entry = Object.hasOwn(STATIC_FILES, req.params.name) ? STATIC_FILES[req.params.name] : undefined;
    if (!entry) {
      reply.callNotFound();
      return reply;
    }
    return sendStatic(reply, req.params.name, entry.file, entry.type);
  });
  app.get<{ Params: { name: string } }>('/static/fonts/:name', async (req, reply) => {
    const m = FONT.exec(req.params.name);
    if (!m) {
      reply.callNotFound();
      return reply;
    }
    return sendStatic(reply, `fonts/${req.params.name}`, path.join(KATEX_DIST, 'fonts', req.params.name), FONT_TYPES[m[1]!]!);
  });
  return app;
}
