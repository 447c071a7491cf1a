/**
 * Routes of the contents API (jupyter-server-api.md §a.2–a.8): `api/contents[/{path}]`
 * with GET/PUT/POST/PATCH/DELETE, checkpoints (`{path}/checkpoints[/{id}]`), trust, and
 * `files/{path}`. Thin: parse → `ctx.contents` → present. Unknown query parameters
 * (JupyterLab's bare cache-buster `?1714641243123`, `_xsrf`) are ignored.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { LabContext } from '../context.js';
import { badRequest } from '../http/errors.js';
import type { ContentFormat, ContentType, ContentsModel, GetOptions } from './types.js';
import { filesRoutes } from './files-routes.js';

const CONTENT_TYPES = new Set<ContentType>(['notebook', 'file', 'directory']);
const CHECKPOINT = /^(.+)\/checkpoints(?:\/([\w-]+))?$/;
const TRUST = /^(.+)\/trust$/;

/** The API path of a request: the wildcard after `api/contents/`, already URL-decoded. */
function apiPathOf(req: FastifyRequest): string {
  return ((req.params as Record<string, string | undefined>)['*'] ?? '').replace(/\/+$/, '');
}

/** `{base}api/contents/a%20b/c.ipynb` */
export function contentsUrl(baseUrl: string, apiPath: string): string {
  return `${baseUrl}api/contents/${apiPath.split('/').map(encodeURIComponent).join('/')}`;
}

function single(query: unknown, key: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`Query parameter ${key} given more than once`);
  return v;
}

/** Parses the GET flags of §a.2; unknown parameters are ignored. */
export function parseGetQuery(query: unknown): GetOptions {
  const opts: GetOptions = {};
  const type = single(query, 'type');
  if (type !== undefined && type !== '') opts.type = CONTENT_TYPES.has(type as ContentType) ? (type as ContentType) : 'file';
  const format = single(query, 'format');
  if (format !== undefined) {
    if (format !== 'text' && format !== 'base64') throw badRequest(`Format ${JSON.stringify(format)} is invalid`);
    opts.format = format;
  }
  for (const key of ['content', 'hash'] as const) {
    const v = single(query, key);
    if (v === undefined) continue;
    if (v !== '0' && v !== '1') throw badRequest(`${key[0]!.toUpperCase()}${key.slice(1)} ${JSON.stringify(v)} is invalid`);
    opts[key] = v === '1';
  }
  return opts;
}

/** Request bodies arrive parsed (application/json) or raw (JupyterLab's JSON blob without a type). */
function jsonBody(body: unknown): Record<string, unknown> | undefined {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    if (value.trim() === '') return undefined;
    try {
      value = JSON.parse(value);
    } catch {
      throw badRequest('Request body is not valid JSON');
    }
  }
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('Request body must be a JSON object');
  return value as Record<string, unknown>;
}

const putBody = z.looseObject({
  type: z.unknown().optional(),
  format: z.string().optional(),
  content: z.unknown().optional(),
  chunk: z.number().int().optional(),
  copy_from: z.string().optional(),
});
const postBody = z.looseObject({
  copy_from: z.string().optional(),
  type: z.enum(['notebook', 'file', 'directory']).optional(),
  ext: z.string().optional(),
});
const patchBody = z.looseObject({ path: z.string({ error: 'Missing path in body' }) });

function sendModel(reply: FastifyReply, status: number, model: ContentsModel, baseUrl: string, location: boolean): ContentsModel {
  reply.status(status);
  const mtime = Date.parse(model.last_modified);
  if (!Number.isNaN(mtime)) reply.header('Last-Modified', new Date(mtime).toUTCString());
  if (location) reply.header('Location', contentsUrl(baseUrl, model.path));
  return model;
}

/**
 * `X/checkpoints…` and `X/trust` name checkpoint or trust routes when `X` is not a
 * directory (a directory's checkpoints mean nothing, so `dir/checkpoints` stays a file
 * or folder called `checkpoints`).
 */
async function notDirectory(ctx: LabContext, apiPath: string): Promise<boolean> {
  try {
    return (await ctx.contents.get(apiPath, { content: false })).type !== 'directory';
  } catch {
    return true;
  }
}

/** Registers the contents and `files/` routes on `app` (already under the base-URL prefix). */
export function contentsRoutes(app: FastifyInstance, ctx: LabContext): void {
  const base = ctx.config.baseUrl;

  const get = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const p = apiPathOf(req);
    const ck = CHECKPOINT.exec(p);
    if (ck && ck[2] === undefined && (await notDirectory(ctx, ck[1]!))) {
      return ctx.contents.listCheckpoints(ck[1]!);
    }
    const opts = parseGetQuery(req.query);
    return sendModel(reply, 200, await ctx.contents.get(p, opts), base, false);
  };

  const put = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const p = apiPathOf(req);
    const raw = jsonBody(req.body);
    if (raw === undefined) return sendModel(reply, 201, await ctx.contents.newUntitled(p, { type: 'file' }), base, true);
    const body = putBody.parse(raw);
    if (body.copy_from !== undefined) throw badRequest('Cannot copy with PUT, only POST');
    const exists = await ctx.contents.resolve(p, { mustExist: true }).then(
      () => true,
      () => false,
    );
    let type: ContentType;
    if (body.type === undefined || body.type === null) {
      if (exists) throw badRequest('No file type provided');
      type = p.endsWith('.ipynb') ? 'notebook' : 'file';
    } else {
      type = CONTENT_TYPES.has(body.type as ContentType) ? (body.type as ContentType) : 'file';
    }
    const model = await ctx.contents.save(p, { type, format: body.format as ContentFormat | undefined, content: body.content, chunk: body.chunk });
    return sendModel(reply, exists ? 200 : 201, model, base, true);
  };

  const post = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const p = apiPathOf(req);
    const ck = CHECKPOINT.exec(p);
    if (ck && (await notDirectory(ctx, ck[1]!))) {
      const file = ck[1]!;
      if (ck[2] !== undefined) {
        await ctx.contents.restoreCheckpoint(file, ck[2]);
        return reply.status(204).send();
      }
      const checkpoint = await ctx.contents.createCheckpoint(file);
      reply.header('Location', `${contentsUrl(base, file)}/checkpoints/${encodeURIComponent(checkpoint.id)}`);
      return reply.status(201).send(checkpoint);
    }
    const trust = TRUST.exec(p);
    if (trust && (await notDirectory(ctx, trust[1]!))) {
      // Notebook trust (signatures) is not kept: outputs are always sanitised by JupyterLab.
      await ctx.contents.get(trust[1]!, { content: false });
      return reply.status(201).send();
    }
    const body = postBody.parse(jsonBody(req.body) ?? {});
    const model =
      body.copy_from !== undefined
        ? await ctx.contents.copy(body.copy_from, p)
        : await ctx.contents.newUntitled(p, { type: body.type ?? (body.ext === '.ipynb' ? 'notebook' : 'file'), ext: body.ext });
    return sendModel(reply, 201, model, base, true);
  };

  const patch = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const p = apiPathOf(req);
    const raw = jsonBody(req.body);
    if (raw === undefined) throw badRequest('Missing body: send {"path": "new/path"}');
    const { path: newPath } = patchBody.parse(raw);
    const model = await ctx.contents.rename(p, newPath);
    try {
      (ctx.sessions as LabContext['sessions'] | undefined)?.renamed(p, model.path);
    } catch (err) {
      req.log.warn({ err, from: p, to: model.path }, 'sessions did not follow a rename');
    }
    return sendModel(reply, 200, model, base, true);
  };

  const del = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const p = apiPathOf(req);
    const ck = CHECKPOINT.exec(p);
    if (ck && ck[2] !== undefined && (await notDirectory(ctx, ck[1]!))) {
      await ctx.contents.deleteCheckpoint(ck[1]!, ck[2]);
    } else {
      await ctx.contents.delete(p);
    }
    return reply.status(204).send();
  };

  for (const url of ['/api/contents', '/api/contents/*']) {
    app.get(url, get);
    app.put(url, put);
    app.post(url, post);
    app.patch(url, patch);
    app.delete(url, del);
  }
  filesRoutes(app, ctx);
}
