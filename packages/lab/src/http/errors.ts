import type { FastifyError, FastifyInstance } from 'fastify';
import { ZodError } from 'zod';

/**
 * An error the lab server answers with, in jupyter_server's JSON form
 * `{"message": …, "reason": …}` (jupyter-server-api.md §0.2). JupyterLab shows `message`
 * to the user, so it says what went wrong and what to do.
 */
export class JupyterError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string | null = null,
  ) {
    super(message);
    this.name = 'JupyterError';
  }
}

export const notFound = (what: string): JupyterError => new JupyterError(404, `${what} not found`);
export const badRequest = (message: string, reason: string | null = null): JupyterError =>
  new JupyterError(400, message, reason);

/** Formats every error as Jupyter does; unknown errors become an opaque 500 and a log line. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof JupyterError) {
      return reply.status(err.status).send({ message: err.message, reason: err.reason });
    }
    if (err instanceof ZodError) {
      const first = err.issues[0];
      const where = first?.path.length ? `${first.path.join('.')}: ` : '';
      return reply.status(400).send({ message: `Invalid request: ${where}${first?.message ?? 'bad input'}`, reason: null });
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.status(status).send({ message: err.message, reason: null });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ message: 'Unhandled error', reason: null, traceback: '' });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ message: `Not found: ${req.url.split('?')[0]}`, reason: null });
  });
}
