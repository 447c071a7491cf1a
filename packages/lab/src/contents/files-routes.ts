/**
 * `GET files/{path}` (jupyter-server-api.md §a.8): the raw bytes of a file, for downloads
 * and for relative links and images in Markdown and HTML outputs. Responses carry
 * `Content-Security-Policy: sandbox` so an HTML or SVG file opened from here never runs
 * as active content of the lab's origin; `?download=…` (non-empty) makes it an attachment.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LabContext } from '../context.js';
import { JupyterError } from '../http/errors.js';
import { guessMimetype } from './model.js';

/** Content-Type of a file served raw (`.ipynb` as Jupyter labels it; text/plain as UTF-8). */
export function rawContentType(name: string): string {
  if (name.toLowerCase().endsWith('.ipynb')) return 'application/x-ipynb+json';
  const mime = guessMimetype(name) ?? 'application/octet-stream';
  return mime === 'text/plain' ? 'text/plain; charset=UTF-8' : mime;
}

/** `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266). */
export function attachmentHeader(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Registers `GET files/*` (HEAD comes with it). */
export function filesRoutes(app: FastifyInstance, ctx: LabContext): void {
  app.get('/files/*', async (req: FastifyRequest, reply: FastifyReply) => {
    const apiPath = ((req.params as Record<string, string | undefined>)['*'] ?? '').replace(/\/+$/, '');
    // get() applies the hidden-file and containment rules; content is not read here.
    const model = await ctx.contents.get(apiPath, { content: false });
    if (model.type === 'directory') throw new JupyterError(404, `Not a file: ${apiPath}`);
    const real = await ctx.contents.resolve(model.path, { mustExist: true });
    const st = await stat(real);
    const download = (req.query as Record<string, unknown> | undefined)?.download;
    reply
      .header('Content-Type', rawContentType(model.name))
      .header('Content-Length', String(st.size))
      .header('Content-Security-Policy', 'sandbox')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Last-Modified', st.mtime.toUTCString())
      .header('Cache-Control', 'no-cache');
    if (typeof download === 'string' ? download !== '' : Array.isArray(download)) {
      reply.header('Content-Disposition', attachmentHeader(model.name));
    }
    return reply.send(createReadStream(real));
  });
}
