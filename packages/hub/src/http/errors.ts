import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '@eucp/core';
import type { HubContext } from '../context.js';

/** JSON body of every API error: JupyterHub's `{status, message}` plus our code and advice. */
export function errorBody(err: AppError): Record<string, unknown> {
  return { status: err.status, message: err.message, code: err.code, action: err.action, ...err.fields };
}

/** Maps anything thrown by a route or by fastify itself to an `AppError`; unknown errors become an opaque `INTERNAL` and a log line. */
export function toAppError(err: unknown, req: FastifyRequest): AppError {
  if (isAppError(err)) return err;
  const e = err as { code?: string; statusCode?: number; validation?: unknown; message?: string };
  if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
    || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
    return new AppError('INVALID_JSON');
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('INVALID_INPUT', 'Unsupported Content-Type; send application/json.');
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('INVALID_INPUT', 'The request body is too large.');
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new AppError('INVALID_INPUT', e.message);
  req.log.error({ err }, 'unexpected error');
  return new AppError('INTERNAL');
}

/**
 * Installs the hub's error rendering on an app: thrown `AppError`s (and fastify's own
 * errors) become JSON `{status, message, code, action, …fields}` with the catalog status
 * (`Retry-After` for `LOGIN_RATE_LIMITED`); unknown routes answer a JSON 404.
 */
export function installErrorHandling(app: FastifyInstance, _ctx?: HubContext): void {
  app.setErrorHandler(async (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const appErr = toAppError(err, req);
    if (appErr.status >= 500) req.log.warn({ code: appErr.code, detail: appErr.detail }, 'request failed');
    if (appErr.code === 'LOGIN_RATE_LIMITED' && typeof appErr.fields.retryAfterSeconds === 'number') {
      reply.header('Retry-After', String(appErr.fields.retryAfterSeconds));
    }
    return reply.status(appErr.status).type('application/json').send(errorBody(appErr));
  });
  app.setNotFoundHandler(async (req, reply) => {
    const err = new AppError('NOT_FOUND', `No such page: ${req.url.split('?')[0]}`);
    return reply.status(404).type('application/json').send(errorBody(err));
  });
}
