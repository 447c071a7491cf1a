/**
 * The server-side execution API (notebook-designs.md D1, D10), under the base URL:
 * - WebSocket `api/eucp/notebooks/events?path=<api path>[&after=<seq>]`: first
 *   `{type:'snapshot', seq, cells}` (or, when `after` is given and the missed events are
 *   still kept, those events), then `{type:'event', event}` for every event of the notebook;
 * - `POST api/eucp/notebooks/execute` `{path, cellId, code}` → `{msgId}`, run on the
 *   notebook's session kernel (404 when it has none);
 * - `GET api/eucp/notebooks/state?path=` → `{seq, cells}`.
 * Paths pass `ctx.contents.resolve` first, so nothing outside the root is addressed.
 * Also registers the journal routes (`journal-routes.ts`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { LabContext } from '../context.js';
import { badRequest, notFound } from '../http/errors.js';
import { journalRoutes } from './journal-routes.js';
import { CELL_ID_PATTERN } from './service.js';
import type { ExecutionEvent } from './types.js';

const eventsQuery = z.object({
  path: z.string().min(1),
  after: z.coerce.number().int().min(0).optional(),
});
const stateQuery = z.object({ path: z.string().min(1) });
const executeBody = z.object({
  path: z.string().min(1),
  cellId: z.string().regex(CELL_ID_PATTERN, 'must be an nbformat cell id (1-64 of a-z A-Z 0-9 _ -)'),
  code: z.string(),
});

/** A view that does not read its events is dropped past this much unsent data (it resumes with `after`). */
export const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/** Registers the routes of the module comment. */
export function executionRoutes(app: FastifyInstance, ctx: LabContext): void {
  const log = ctx.log.child({ component: 'execution-routes' });

  /** Validates an API path against the root and returns it in normal form. */
  const checked = async (apiPath: string): Promise<string> => {
    const normal = apiPath.replace(/^\/+|\/+$/g, '');
    await ctx.contents.resolve(normal);
    return normal;
  };

  type EventsReq = FastifyRequest<{ Querystring: Record<string, string> }>;
  app.get(
    '/api/eucp/notebooks/events',
    {
      websocket: true,
      // Answer bad requests with an HTTP error before the upgrade.
      preValidation: async (req: EventsReq) => {
        const q = eventsQuery.safeParse(req.query);
        if (!q.success) throw badRequest(`Invalid query: ${q.error.issues[0]?.message ?? 'bad input'}`);
        await checked(q.data.path);
      },
    },
    (socket: WebSocket, req: EventsReq) => {
      const q = eventsQuery.parse(req.query);
      const path = q.path.replace(/^\/+|\/+$/g, '');
      const send = (msg: unknown): void => {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          log.warn({ path }, 'execution events view is not reading; closing it');
          socket.close(1013, 'Too far behind; reconnect with after=<last seq>');
          return;
        }
        socket.send(JSON.stringify(msg));
      };
      const relevant = (ev: ExecutionEvent): boolean =>
        ev.kind === 'restart' ? ctx.sessions.forKernel(ev.kernelId)?.path.replace(/^\/+/, '') === path : ev.path === path;

      // Synchronous from here to the subscription: nothing can slip between the two.
      const missed = q.after !== undefined ? (ctx.execution.eventsSince?.(path, q.after) ?? null) : null;
      if (missed) {
        for (const event of missed) send({ type: 'event', event });
      } else {
        const cells = ctx.execution.snapshot(path);
        send({ type: 'snapshot', seq: ctx.execution.lastSeq?.() ?? 0, cells });
      }
      const off = ctx.execution.onEvent((event) => {
        if (relevant(event)) send({ type: 'event', event });
      });
      socket.on('close', off);
      socket.on('error', (err) => {
        log.debug({ err, path }, 'execution events socket error');
        off();
      });
      // Views only listen; anything they send is ignored.
    },
  );

  app.post('/api/eucp/notebooks/execute', async (req) => {
    const body = executeBody.parse(req.body);
    const path = await checked(body.path);
    const session = ctx.sessions.list().find((s) => s.path.replace(/^\/+|\/+$/g, '') === path);
    const kernel = session ? ctx.kernels.get(session.kernel.id) : undefined;
    if (!session || !kernel) throw notFound(`A running kernel session for ${path}`);
    const run = await ctx.execution.execute({ kernel, path, cellId: body.cellId, code: body.code });
    run.done.catch(() => {});
    return { msgId: run.msgId };
  });

  app.get('/api/eucp/notebooks/state', async (req) => {
    const { path } = stateQuery.parse(req.query);
    const normal = await checked(path);
    const cells = ctx.execution.snapshot(normal);
    return { seq: ctx.execution.lastSeq?.() ?? 0, cells };
  });

  journalRoutes(app, ctx);
}
