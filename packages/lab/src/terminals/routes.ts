import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket'; // the `websocket: true` route option
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { LabContext } from '../context.js';
import { JupyterError, badRequest } from '../http/errors.js';
import { TERMINAL_NAME } from './protocol.js';
import type { TerminalAttachment } from './types.js';

const createBodySchema = z.object({
  name: z.string().regex(TERMINAL_NAME, 'a terminal name is letters, digits and _').optional(),
  cwd: z.string().optional(),
});

const dimension = z.number().int().min(1).max(10_000);
/** Terminado messages a client may send; anything else is ignored, like terminado does. */
const clientFrameSchema = z.union([
  z.tuple([z.literal('stdin'), z.string()]),
  z.tuple([z.literal('set_size'), dimension, dimension]).rest(z.unknown()),
]);

const terminalNotFound = (name: string): JupyterError => new JupyterError(404, `Terminal not found: ${name}`);

/** The `:name` of a terminal route, or a 404 if no such terminal runs. */
function existing(ctx: LabContext, req: FastifyRequest): string {
  const { name } = req.params as { name: string };
  if (!ctx.terminals.get(name)) throw terminalNotFound(name);
  return name;
}

/**
 * The optional JSON body of `POST api/terminals` (any content type, like jupyter_server).
 * JupyterLab's fetch sends it as `text/plain` (a string body), which arrives as a string.
 */
function createBody(body: unknown): z.infer<typeof createBodySchema> {
  let value = body;
  if (Buffer.isBuffer(value) || typeof value === 'string') {
    const text = (typeof value === 'string' ? value : value.toString('utf8')).trim();
    if (text === '') return {};
    try {
      value = JSON.parse(text);
    } catch {
      throw badRequest('Request body is not valid JSON');
    }
  }
  if (value === undefined || value === null) return {};
  return createBodySchema.parse(value);
}

/**
 * Terminal REST routes and the terminado WebSocket (jupyter-server-api.md b.7):
 * `GET|POST api/terminals`, `GET|DELETE api/terminals/:name`,
 * `terminals/websocket/:name`.
 */
export function terminalRoutes(app: FastifyInstance, ctx: LabContext): void {
  app.get('/api/terminals', async () => ctx.terminals.list());

  app.post('/api/terminals', async (req, reply) => {
    const body = createBody(req.body);
    try {
      const model = await ctx.terminals.create(body);
      return reply.status(200).send(model);
    } catch (err) {
      req.log.error({ err }, 'cannot start terminal');
      throw new JupyterError(500, `Cannot start a terminal: ${(err as Error).message}`);
    }
  });

  app.get('/api/terminals/:name', async (req) => ctx.terminals.get(existing(ctx, req)));

  app.delete('/api/terminals/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    if (!(await ctx.terminals.kill(name))) throw terminalNotFound(name);
    return reply.status(204).send();
  });

  app.get(
    '/terminals/websocket/:name',
    {
      websocket: true,
      // Runs before the upgrade: an unknown terminal is a plain HTTP 404.
      preValidation: async (req) => {
        existing(ctx, req);
      },
    },
    (socket: WebSocket, req) => bridge(ctx, socket, (req.params as { name: string }).name),
  );
}

/** Connects one browser WebSocket to a terminal with terminado's JSON frames. */
function bridge(ctx: LabContext, socket: WebSocket, name: string): void {
  const log = ctx.log.child({ component: 'terminals', terminal: name });
  const send = (frame: unknown[]): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
  };
  let attachment: TerminalAttachment | null = null;
  let closed = false;
  const early: z.infer<typeof clientFrameSchema>[] = [];

  const apply = (frame: z.infer<typeof clientFrameSchema>): void => {
    if (!attachment) {
      early.push(frame);
    } else if (frame[0] === 'stdin') {
      attachment.input(frame[1]);
      ctx.activity.touch();
    } else {
      attachment.resize(frame[1], frame[2]);
    }
  };

  // Listen at once: frames sent before the attachment is ready are kept, not lost.
  socket.on('message', (raw, isBinary) => {
    if (isBinary) return;
    let frame: unknown;
    try {
      frame = JSON.parse(raw.toString());
    } catch {
      log.debug('ignoring a terminal frame that is not JSON');
      return;
    }
    const parsed = clientFrameSchema.safeParse(frame);
    if (parsed.success) apply(parsed.data);
  });
  socket.on('close', () => {
    closed = true;
    attachment?.detach();
  });

  send(['setup', {}]);
  void ctx.terminals
    .attach(name, {
      output: (data) => send(['stdout', data]),
      exit: () => {
        send(['disconnect', 1]);
        socket.close(1000, 'terminal exited');
      },
      // The lab server is going away, the terminal is not: the browser will reconnect.
      detached: () => socket.close(1001, 'server shutting down'),
    })
    .then((att) => {
      if (!att) {
        send(['disconnect', 1]);
        socket.close(1000, 'terminal not found');
        return;
      }
      if (closed) {
        att.detach();
        return;
      }
      attachment = att;
      for (const frame of early.splice(0)) apply(frame);
    })
    .catch((err: unknown) => {
      log.error({ err }, 'cannot attach to terminal');
      socket.close(1011, 'cannot attach to terminal');
    });
}
