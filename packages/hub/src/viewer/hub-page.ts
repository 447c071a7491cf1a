import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError, type UserName } from '@eucp/core';
import type { HubContext } from '../context.js';
import { writeAudit } from '../accounts/audit.js';
import { escapeHtml } from './html.js';
import { normalizeNotebookPath } from './files.js';
import type { NotebookViewer } from './viewer.js';

/** Where notebook pages live on the hub: `/hub/view/<owner>/<path inside the owner's home>`. */
export const VIEW_PREFIX = '/hub/view/';

/** The hub URL of a notebook's read-only page (each segment percent-encoded). */
export function viewUrl(owner: string, relPath: string): string {
  return VIEW_PREFIX + [owner, ...relPath.split('/')].map(encodeURIComponent).join('/');
}

/** `{owner, path}` of a `/hub/view/…` URL path (still percent-encoded), or null if it is not a safe notebook path. */
export function parseViewPath(rawPath: string): { owner: UserName; path: string } | null {
  if (!rawPath.startsWith(VIEW_PREFIX)) return null;
  let segments: string[];
  try {
    segments = rawPath.slice(VIEW_PREFIX.length).split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
  const [owner, ...rest] = segments;
  if (!owner || !/^[a-z][a-z0-9_-]{0,31}$/.test(owner)) return null;
  const path = normalizeNotebookPath(rest);
  return path ? { owner: owner as UserName, path } : null;
}

const STYLE = [
  'html,body{height:100%;margin:0}',
  'body{display:flex;flex-direction:column;font:15px/1.4 system-ui,sans-serif;color:#1b1f23;background:#f4f6f8}',
  'header{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1.2rem;padding:.5rem 1rem;background:#fff;border-bottom:1px solid #d0d7de}',
  'header h1{font-size:1.05rem;margin:0}.where{color:#57606a;font-size:.9rem}.where a{color:inherit}',
  'nav{margin-left:auto;display:flex;gap:1rem}a{color:#0b5cad}a:focus{outline:3px solid #0969da;outline-offset:1px}',
  '.badge{font-size:.75rem;padding:.05rem .45rem;border:1px solid #8c959f;border-radius:1rem;color:#57606a}',
  'iframe{flex:1;width:100%;border:0;background:#fff}',
  'main{max-width:30rem;margin:4rem auto;padding:1.5rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}',
].join('');

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — EUCP Notebook</title><style>${STYLE}</style></head><body>${body}</body></html>
`;
}

function send(reply: FastifyReply, status: number, html: string, frameSrc: string | null): FastifyReply {
  const csp = ["default-src 'none'", "style-src 'unsafe-inline'", frameSrc ? `frame-src ${frameSrc}` : null,
    "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"].filter(Boolean).join('; ');
  return reply.status(status).type('text/html; charset=utf-8').header('Cache-Control', 'no-store')
    .header('Content-Security-Policy', csp).header('X-Frame-Options', 'DENY').header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'same-origin').send(html);
}

function notFoundPage(reply: FastifyReply): FastifyReply {
  return send(reply, 404, page('Not found', '<main><h1>Notebook not found</h1><p role="alert">There is no such notebook, or you may not read it.</p>'
    + '<p><a href="/hub/home">Back to the home page</a></p></main>'), null);
}

/**
 * The origin(s) of the hub page as the browser sees it, which may frame the rendering:
 * `publicUrl`'s, else the request's Host with http and https (TLS may end at a proxy).
 */
function hubOrigins(ctx: HubContext, req: FastifyRequest): string {
  if (ctx.config.publicUrl) return new URL(ctx.config.publicUrl).origin;
  const host = req.headers.host ?? '';
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) throw new AppError('INVALID_INPUT', 'Bad Host header.');
  return `http://${host} https://${host}`;
}

/** Path in a user's own server that opens a notebook (lab or classic Notebook UI). */
function openInServerHref(ctx: HubContext, user: string, relPath: string): string {
  const server = ctx.config.spawner.users[user]?.server ?? ctx.config.spawner.server;
  const route = server === 'singleuser' ? 'notebooks' : 'lab/tree';
  return `/hub/user-redirect/${route}/${relPath.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * `GET /hub/view/<owner>/<path>`: the trusted frame around a notebook. Needs a browser
 * session (else the log-in page); answers 404 when the path is not a safe notebook path,
 * the caller may not read it, or it does not exist. Otherwise it issues a ticket for
 * exactly this file version and this reader and frames `<viewer>/render/<ticket>` in
 * `<iframe sandbox="allow-scripts allow-popups">`. Nothing of the notebook's content is
 * in this page: only its owner, path and name.
 */
export async function registerViewPage(app: FastifyInstance, ctx: HubContext, viewer: NotebookViewer): Promise<void> {
  app.get(`${VIEW_PREFIX}*`, async (req, reply) => {
    const auth = req.auth;
    if (auth?.via !== 'session') {
      return reply.header('Cache-Control', 'no-store').redirect(`/hub/login?next=${encodeURIComponent(req.raw.url ?? req.url)}`, 302);
    }
    const target = parseViewPath((req.raw.url ?? req.url).split('?')[0]!);
    if (!target) return notFoundPage(reply);
    const reader = { id: auth.user.id, name: auth.user.name, admin: auth.user.admin, groups: auth.user.groups };
    if (!(await viewer.access.canRead(reader, target.owner, target.path))) return notFoundPage(reply);
    let file;
    let base: string;
    try {
      file = await viewer.files.identify(target.owner, target.path);
      base = viewer.baseUrl();
    } catch (err) {
      if (!isAppError(err)) throw err;
      if (err.code === 'NOT_FOUND') return notFoundPage(reply);
      return send(reply, err.status, page('Cannot show notebook', `<main><h1>Cannot show this notebook</h1><p role="alert">${escapeHtml(err.message)}</p>`
        + `<p>${escapeHtml(err.action)}</p><p><a href="/hub/home">Back to the home page</a></p></main>`), null);
    }
    const ticket = viewer.tickets.issue(
      { readerId: reader.id, owner: target.owner, path: target.path, file, frameAncestor: hubOrigins(ctx, req) }, ctx.config.viewer.ticketTtlMs,
    );
    const src = `${base}render/${ticket}`;
    // Reading someone else's notebook (through a share) is an access: audited. Own views are not.
    if (reader.name !== target.owner) {
      await writeAudit(ctx.db, ctx.now(), reader.name, 'notebook.view', `${target.owner}/${target.path}`, { via: 'viewer' });
    }
    const name = target.path.slice(target.path.lastIndexOf('/') + 1);
    const open = reader.name === target.owner
      ? `<a href="${escapeHtml(openInServerHref(ctx, reader.name, target.path))}">Open in my server</a>` : '';
    const body = `<header><h1>${escapeHtml(name)}</h1>`
      + `<div class="where"><a href="/hub/home">Home</a> / <span data-testid="view-owner">${escapeHtml(target.owner)}</span> / <span data-testid="view-path">${escapeHtml(target.path)}</span></div>`
      + `<span class="badge">read-only</span><nav>${open}</nav></header>`
      + `<iframe title="Notebook ${escapeHtml(name)} (read-only view)" sandbox="allow-scripts allow-popups" referrerpolicy="no-referrer" src="${escapeHtml(src)}"></iframe>`;
    return send(reply, 200, page(name, body), new URL(base).origin);
  });
}
