import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isoformat, parseServerName, parseUserName, serverPrefix, type ServerName, type UserName } from '@eucp/core';
import type { HubContext } from '../context.js';
import { requireScope } from '../auth/plugin.js';
import type { ProgressEvent } from '../servers/progress.js';

/** SSE keep-alive interval (JupyterHub: 8 s). */
const KEEPALIVE_MS = 8_000;

interface ServerParams { name: string; server_name?: string }

function target(req: FastifyRequest<{ Params: ServerParams }>): { user: UserName; server: ServerName } {
  return { user: parseUserName(req.params.name), server: parseServerName(req.params.server_name ?? '') };
}

const scopeTarget = (t: { user: UserName; server: ServerName }) => ({ user: t.user, server: `${t.user}/${t.server}` });

function userOptions(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new AppError('INVALID_INPUT', 'user_options must be a JSON object.');
  return body as Record<string, unknown>;
}

async function startServer(ctx: HubContext, req: FastifyRequest<{ Params: ServerParams }>, reply: FastifyReply) {
  const t = target(req);
  requireScope(req, 'servers', scopeTarget(t));
  const outcome = await ctx.servers.start(t.user, t.server, userOptions(req.body));
  return reply.status(outcome === 'started' ? 201 : 202).type('text/plain').send('');
}

async function stopServer(ctx: HubContext, req: FastifyRequest<{ Params: ServerParams }>, reply: FastifyReply) {
  const t = target(req);
  requireScope(req, 'delete:servers', scopeTarget(t));
  const body = req.body as { remove?: unknown } | undefined;
  if (body?.remove !== undefined && typeof body.remove !== 'boolean') throw new AppError('INVALID_INPUT', '"remove" must be true or false.');
  if (body?.remove && !t.server) throw new AppError('INVALID_INPUT', 'The default server cannot be removed, only stopped.');
  if (t.server && !(await ctx.servers.get(t.user, t.server))) throw new AppError('NOT_FOUND', `${t.user} has no server named ${t.server}.`);
  const outcome = await ctx.servers.stop(t.user, t.server);
  if (body?.remove && outcome === 'stopped') await ctx.servers.remove(t.user, t.server);
  return reply.status(outcome === 'stopped' ? 204 : 202).send();
}

function writeEvent(reply: FastifyReply, e: ProgressEvent): void {
  reply.raw.write(`data: ${JSON.stringify(e)}\n\n`);
}

async function progress(ctx: HubContext, req: FastifyRequest<{ Params: ServerParams }>, reply: FastifyReply) {
  const t = target(req);
  requireScope(req, 'read:servers', scopeTarget(t));
  const row = await ctx.servers.get(t.user, t.server);
  if (!row) throw new AppError('NOT_FOUND', `${t.user} has no server${t.server ? ` named ${t.server}` : ''}.`);
  const prefix = serverPrefix(t.user, t.server);
  const channel = ctx.servers.progressOf(t.user, t.server);
  const ready: ProgressEvent = { progress: 100, ready: true, url: prefix, message: `Server ready at ${prefix}`, html_message: `Server ready at <a href="${prefix}">${prefix}</a>` };
  if (row.state !== 'running' && row.state !== 'starting' && !(row.state === 'failed')) {
    throw new AppError('SERVER_NOT_STARTING', `${t.user}'s server is ${row.state}.`);
  }
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-jupyterhub-version': ctx.jupyterhubVersion });
  if (row.state === 'running') { writeEvent(reply, ready); reply.raw.end(); return; }
  if (row.state === 'failed') {
    writeEvent(reply, channel?.terminal ?? { progress: 100, failed: true, message: `Spawn failed: ${row.failure_message ?? 'unknown reason'}` });
    reply.raw.end();
    return;
  }
  const keepalive = setInterval(() => reply.raw.write('\n\n'), KEEPALIVE_MS);
  const finish = (): void => { clearInterval(keepalive); unsubscribe(); reply.raw.end(); };
  let unsubscribe: () => void = () => {};
  req.raw.on('close', () => { clearInterval(keepalive); unsubscribe(); });
  if (channel) {
    unsubscribe = channel.subscribe((e) => {
      writeEvent(reply, e);
      if (e.ready || e.failed) queueMicrotask(finish);
    });
    return;
  }
  // A spawn started by an earlier hub process: report what the database says until it settles.
  writeEvent(reply, { progress: 50, message: 'Server is starting' });
  const poll = setInterval(() => {
    void ctx.servers.get(t.user, t.server).then((r) => {
      if (!r || r.state === 'starting') return;
      clearInterval(poll);
      writeEvent(reply, r.state === 'running' ? ready : { progress: 100, failed: true, message: `Spawn failed: ${r.failure_message ?? r.state}` });
      finish();
    });
  }, 500);
  unsubscribe = () => clearInterval(poll);
}

/**
 * Server lifecycle endpoints of the JupyterHub REST API (§d.4: start, stop, progress for
 * default and named servers) and the hub UI's status view with limits and failures.
 */
export async function registerServersApi(app: FastifyInstance, ctx: HubContext): Promise<void> {
  app.post<{ Params: ServerParams }>('/hub/api/users/:name/server', (req, reply) => startServer(ctx, req, reply));
  app.delete<{ Params: ServerParams }>('/hub/api/users/:name/server', (req, reply) => stopServer(ctx, req, reply));
  app.post<{ Params: ServerParams }>('/hub/api/users/:name/servers/:server_name', (req, reply) => startServer(ctx, req, reply));
  app.delete<{ Params: ServerParams }>('/hub/api/users/:name/servers/:server_name', (req, reply) => stopServer(ctx, req, reply));
  app.get<{ Params: ServerParams }>('/hub/api/users/:name/server/progress', (req, reply) => progress(ctx, req, reply));
  app.get<{ Params: ServerParams }>('/hub/api/users/:name/servers/:server_name/progress', (req, reply) => progress(ctx, req, reply));

  app.get<{ Params: ServerParams; Querystring: { server?: string } }>('/hub/api/eucp/users/:name/server-status', async (req) => {
    const user = parseUserName(req.params.name);
    const server = parseServerName(req.query.server ?? '');
    requireScope(req, 'read:servers', { user, server: `${user}/${server}` });
    const s = await ctx.servers.status(user, server);
    return { ...s, startedAt: isoformat(s.startedAt), lastActivity: isoformat(s.lastActivity) };
  });
}
