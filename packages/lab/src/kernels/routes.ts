/**
 * Kernels and kernelspecs REST (jupyter-server-api.md b.1, b.3) and the kernel WebSocket
 * (c, in `channels.ts`). Routes are thin: parse → {@link KernelManager} → present.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { LabContext } from '../context.js';
import type { ContentsManager } from '../contents/types.js';
import { JupyterError, badRequest } from '../http/errors.js';
import { kernelChannelsRoute, type ChannelsOptions } from './channels.js';
import type { Kernel, KernelModel, KernelSpec } from './types.js';

/** `GET api/kernelspecs/{name}` entry: the parsed `kernel.json` and resource URLs. */
export interface KernelSpecModel {
  name: string;
  spec: {
    argv: string[];
    display_name: string;
    language: string;
    interrupt_mode: 'signal' | 'message';
    env: Record<string, string>;
    metadata: Record<string, unknown>;
  };
  resources: Record<string, string>;
}

/**
 * Presents a kernelspec as jupyter_server does: `kernel.js`/`kernel.css` keyed by file
 * name, every `logo-*` keyed by its name without extension, values absolute URLs under
 * `{base}kernelspecs/{name}/`.
 */
export function presentKernelSpec(spec: KernelSpec, baseUrl: string): KernelSpecModel {
  const resources: Record<string, string> = {};
  const prefix = `${baseUrl.replace(/\/?$/, '/')}kernelspecs/${encodeURIComponent(spec.name)}/`;
  for (const file of spec.resources) {
    const url = prefix + encodeURIComponent(file);
    if (file === 'kernel.js' || file === 'kernel.css') resources[file] = url;
    else if (file.startsWith('logo-')) resources[file.slice(0, file.length - extname(file).length)] = url;
  }
  return {
    name: spec.name,
    spec: {
      argv: spec.spec.argv,
      display_name: spec.spec.display_name,
      language: spec.spec.language,
      interrupt_mode: spec.spec.interrupt_mode ?? 'signal',
      env: spec.spec.env ?? {},
      metadata: spec.spec.metadata ?? {},
    },
    resources,
  };
}

/**
 * The absolute working directory for a kernel started for API path `apiPath`: the
 * path itself if it is a directory, else its nearest existing ancestor (JupyterLab first
 * names sessions `<dir>/<uuid>`, which does not exist), the served root at the latest.
 * Throws 400 for paths with `..` segments; never returns a directory outside the root.
 */
export async function kernelCwd(
  where: { rootDir: string; contents?: Pick<ContentsManager, 'resolve'> },
  apiPath: string | undefined,
): Promise<string> {
  const segments = (apiPath ?? '').split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..') || segments.some((s) => s.includes('\\') || s.includes('\0'))) {
    throw badRequest(`Path '${apiPath}' leaves the served directory; use a path relative to it without '..'`);
  }
  const root = where.rootDir;
  for (let n = segments.length; n > 0; n--) {
    const candidate = segments.slice(0, n).join('/');
    let abs: string;
    try {
      abs = where.contents?.resolve
        ? await where.contents.resolve(candidate, { mustExist: true })
        : await safeJoin(root, segments.slice(0, n));
    } catch {
      continue;
    }
    if ((await stat(abs).catch(() => null))?.isDirectory()) return abs;
  }
  return root;
}

/** `root/segments…` with symlinks resolved; throws when that leaves the root or is absent. */
async function safeJoin(root: string, segments: string[]): Promise<string> {
  const realRoot = await realpath(root);
  const abs = await realpath(join(realRoot, ...segments));
  const rel = relative(realRoot, abs);
  if (rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) throw new Error('outside root');
  return abs;
}

/**
 * Parses an optional JSON body that may arrive parsed, as text or raw bytes (clients
 * without a token send JSON as `text/plain`), or not at all.
 */
export function jsonBody(body: unknown): unknown {
  if (body === undefined || body === null) return {};
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const text = body.toString('utf8').trim();
    if (text === '') return {};
    try {
      return JSON.parse(text);
    } catch {
      throw badRequest('Request body is not valid JSON');
    }
  }
  return body;
}

/** Throws 400 naming the available kernelspecs when `name` is not one of them. */
export async function checkKernelName(ctx: LabContext, name: string | undefined): Promise<string> {
  const specs = await ctx.kernels.specs();
  // Kernelspec names are case-insensitive (jupyter_client lower-cases them).
  const chosen = name === undefined ? specs.default : specs.kernelspecs[name] ? name : name.toLowerCase();
  if (!specs.kernelspecs[chosen]) {
    const names = Object.keys(specs.kernelspecs).sort();
    throw badRequest(
      names.length
        ? `Unknown kernel name '${chosen}'. Available kernels: ${names.join(', ')}.`
        : `Unknown kernel name '${chosen}': no kernelspecs are installed. Install one (e.g. python3 -m ipykernel install --user).`,
      'unknown kernel name',
    );
  }
  return chosen;
}

const startBody = z.looseObject({
  name: z.string().min(1).optional(),
  path: z.string().optional(),
});

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.gif': 'image/gif',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

function kernelOr404(ctx: LabContext, id: string): Kernel {
  const kernel = ctx.kernels.get(id);
  if (!kernel) throw new JupyterError(404, `Kernel does not exist: ${id}`);
  return kernel;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Registers `api/kernels…`, `api/kernelspecs…`, `kernelspecs/{name}/{file}` and the
 * kernel WebSocket. Unknown ids → 404, bad input → 400 saying what to do, a kernel
 * that fails to start or restart → 500 with its error.
 */
export function kernelRoutes(app: FastifyInstance, ctx: LabContext, channels?: ChannelsOptions): void {
  const base = ctx.config.baseUrl.replace(/\/?$/, '/');
  type IdParams = { Params: { id: string } };

  app.get('/api/kernels', async () => ctx.kernels.list().map((k) => k.model()));

  app.post('/api/kernels', async (req, reply) => {
    const body = startBody.parse(jsonBody(req.body));
    const name = await checkKernelName(ctx, body.name);
    const cwd = await kernelCwd({ rootDir: ctx.config.rootDir, contents: ctx.contents }, body.path);
    let kernel: Kernel;
    try {
      kernel = await ctx.kernels.start({ name, cwd });
    } catch (err) {
      req.log.warn({ err, name }, 'kernel failed to start');
      throw new JupyterError(500, `Kernel '${name}' failed to start: ${errorText(err)}`);
    }
    return reply.status(201).header('Location', `${base}api/kernels/${kernel.id}`).send(kernel.model());
  });

  app.get<IdParams>('/api/kernels/:id', async (req): Promise<KernelModel> => kernelOr404(ctx, req.params.id).model());

  app.delete<IdParams>('/api/kernels/:id', async (req, reply) => {
    kernelOr404(ctx, req.params.id);
    await ctx.kernels.shutdown(req.params.id);
    return reply.status(204).send();
  });

  app.post<IdParams>('/api/kernels/:id/interrupt', async (req, reply) => {
    const kernel = kernelOr404(ctx, req.params.id);
    try {
      await kernel.interrupt();
    } catch (err) {
      if (err instanceof JupyterError && err.status < 500) throw err; // e.g. 409: the kernel is dead
      throw new JupyterError(500, `Could not interrupt kernel: ${errorText(err)}`);
    }
    return reply.status(204).send();
  });

  app.post<IdParams>('/api/kernels/:id/restart', async (req) => {
    const kernel = kernelOr404(ctx, req.params.id);
    try {
      await kernel.restart();
    } catch (err) {
      if (err instanceof JupyterError && err.status < 500) throw err; // e.g. 409: it was shut down
      req.log.warn({ err, kernel: kernel.id }, 'kernel restart failed');
      throw new JupyterError(500, `Exception restarting kernel: ${errorText(err)}`);
    }
    return kernel.model();
  });

  app.get('/api/kernelspecs', async () => {
    const specs = await ctx.kernels.specs();
    const kernelspecs: Record<string, KernelSpecModel> = {};
    for (const [name, spec] of Object.entries(specs.kernelspecs)) kernelspecs[name] = presentKernelSpec(spec, base);
    return { default: specs.default, kernelspecs };
  });

  app.get<{ Params: { name: string } }>('/api/kernelspecs/:name', async (req) => {
    const spec = (await ctx.kernels.specs()).kernelspecs[req.params.name];
    if (!spec) throw new JupyterError(404, `Kernel spec ${req.params.name} not found`);
    return presentKernelSpec(spec, base);
  });

  app.get<{ Params: { name: string; file: string } }>('/kernelspecs/:name/:file', async (req, reply) => {
    const { name, file } = req.params;
    const spec = (await ctx.kernels.specs()).kernelspecs[name];
    // Only files the spec lists: plain names inside its directory, never a path.
    if (!spec || !spec.resources.includes(file) || file.includes('/') || file === '..') {
      throw new JupyterError(404, `Kernel spec resource ${name}/${file} not found`);
    }
    let data: Buffer;
    try {
      data = await readFile(join(spec.resourceDir, file));
    } catch {
      throw new JupyterError(404, `Kernel spec resource ${name}/${file} not found`);
    }
    return reply
      .header('Content-Type', MIME[extname(file).toLowerCase()] ?? 'application/octet-stream')
      .header('Cache-Control', 'max-age=3600')
      .send(data);
  });

  kernelChannelsRoute(app, ctx, channels);
}
