/**
 * Sessions REST (jupyter-server-api.md b.2): `GET/POST api/sessions`,
 * `GET/PATCH/DELETE api/sessions/{id}`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { LabContext } from '../context.js';
import { JupyterError, badRequest } from '../http/errors.js';
import { jsonBody } from '../kernels/routes.js';
import { SessionKernelError, type SessionStore } from './manager.js';
import type { SessionModel } from './types.js';

/** A session as it leaves the server: plus the deprecated `notebook` mirror for notebooks. */
export function presentSession(s: SessionModel): SessionModel & { notebook?: { path: string; name: string } } {
  return s.type === 'notebook' ? { ...s, notebook: { path: s.path, name: s.name } } : { ...s };
}

const kernelChoice = z
  .looseObject({ id: z.string().min(1).nullish(), name: z.string().min(1).nullish() })
  .nullish()
  .transform((k) => (k ? { id: k.id ?? undefined, name: k.name ?? undefined } : undefined));

/** Old clients send `{"notebook": {"path"}}` instead of `path`/`type`. */
const legacyNotebook = z.looseObject({ path: z.string().optional(), name: z.string().optional() }).optional();

const createBody = z.looseObject({
  path: z.string().optional(),
  type: z.string().optional(),
  name: z.string().nullish(),
  kernel: kernelChoice,
  notebook: legacyNotebook,
});

const patchBody = z.looseObject({
  path: z.string().optional(),
  type: z.string().optional(),
  name: z.string().optional(),
  kernel: kernelChoice,
  notebook: legacyNotebook,
});

function requireBody(body: unknown): unknown {
  const parsed = jsonBody(body);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    throw badRequest('No JSON data provided: send {"path": …, "type": …} (and optionally "name", "kernel": {"name"|"id"})');
  }
  return parsed;
}

function store(ctx: LabContext): SessionStore {
  const s = ctx.sessions as Partial<SessionStore>;
  if (typeof s.create !== 'function' || typeof s.update !== 'function' || typeof s.remove !== 'function') {
    throw new JupyterError(501, 'This server cannot change sessions');
  }
  return s as SessionStore;
}

/** Sends a kernel failure as jupyter_server does: `{message, short_message}`. */
async function withKernelErrors<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof SessionKernelError) {
      return reply.status(err.status).send({ message: err.message, reason: null, short_message: err.shortMessage });
    }
    throw err;
  }
}

/** Registers the sessions routes on `app` (already under the base URL). */
export function sessionRoutes(app: FastifyInstance, ctx: LabContext): void {
  const base = ctx.config.baseUrl.replace(/\/?$/, '/');
  type IdParams = { Params: { id: string } };

  app.get('/api/sessions', async () => ctx.sessions.list().map(presentSession));

  app.post('/api/sessions', async (req, reply) => {
    const body = createBody.parse(requireBody(req.body));
    const path = body.path ?? body.notebook?.path;
    const type = body.type ?? (body.notebook ? 'notebook' : undefined);
    if (path === undefined) throw badRequest('Missing field in JSON data: path (the document path, relative to the served directory)');
    if (type === undefined) throw badRequest('Missing field in JSON data: type (e.g. "notebook" or "console")');
    return withKernelErrors(reply, async () => {
      const { session } = await store(ctx).create({ path, type, name: body.name ?? undefined, kernel: body.kernel });
      return reply.status(201).header('Location', `${base}api/sessions/${session.id}`).send(presentSession(session));
    });
  });

  app.get<IdParams>('/api/sessions/:id', async (req) => {
    const session = ctx.sessions.get(req.params.id);
    if (!session) throw new JupyterError(404, `Session not found: ${req.params.id}`);
    return presentSession(session);
  });

  app.patch<IdParams>('/api/sessions/:id', async (req, reply) => {
    const body = patchBody.parse(requireBody(req.body));
    const path = body.path ?? body.notebook?.path;
    return withKernelErrors(reply, async () => {
      const session = await store(ctx).update(req.params.id, { path, name: body.name, type: body.type, kernel: body.kernel });
      return presentSession(session);
    });
  });

  app.delete<IdParams>('/api/sessions/:id', async (req, reply) => {
    await store(ctx).remove(req.params.id);
    return reply.status(204).send();
  });
}
