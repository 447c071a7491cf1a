import type { FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { AppError } from '@eucp/core';
import type { HubContext } from '../context.js';
import { installErrorHandling } from './errors.js';

/**
 * What every hub HTTP app has, before any route: form and JSON bodies (an empty JSON body
 * is no body, as JupyterHub accepts for `POST …/server`; malformed JSON is `INVALID_JSON`),
 * the `X-JupyterHub-Version` header, and the error rendering of http/errors.ts.
 */
export async function installHttpBasics(app: FastifyInstance, ctx: HubContext): Promise<void> {
  await app.register(formbody);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try { done(null, JSON.parse(text)); } catch { done(new AppError('INVALID_JSON'), undefined); }
  });
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('X-JupyterHub-Version', ctx.jupyterhubVersion);
  });
  installErrorHandling(app, ctx);
}
