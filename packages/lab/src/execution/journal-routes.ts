import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { LabContext } from '../context.js';
import { JupyterError, notFound } from '../http/errors.js';
import { VerifyRunner } from './runner.js';

const pathQuery = z.object({ path: z.string().min(1) });
const badgesBody = z.object({
  path: z.string().min(1),
  cells: z
    .array(
      z.object({
        id: z.string().min(1),
        source: z.union([z.string(), z.array(z.string())]).transform((s) => (Array.isArray(s) ? s.join('') : s)),
        cell_type: z.string(),
        hasOutputs: z.boolean().optional(),
      }),
    )
    .max(100_000),
});
const verifyBody = z.object({ path: z.string().min(1) });

/**
 * The execution journal, trust badges and verify-by-replay (notebook-designs.md D4, D10):
 * - `GET api/eucp/notebooks/journal?path=` → `{entries}` (oldest first);
 * - `POST api/eucp/notebooks/badges` `{path, cells: [{id, source, cell_type, hasOutputs?}]}`
 *   → `NotebookBadges` for the cells as the caller has them (maybe unsaved);
 * - `POST api/eucp/notebooks/verify` `{path}` → 202 `{runId}`: restart the notebook's
 *   session kernel and run all, comparing outputs; 404 without a session and live kernel
 *   for the path, 409 while a verify run of it is going on;
 * - `GET api/eucp/runs/{id}` → the run's `VerifyReport`, 404 if unknown.
 * Paths pass `ctx.contents.resolve` first, so nothing outside the root is addressed.
 * `runner` is injectable so tests (and a future events stream) can await runs.
 */
export function journalRoutes(
  app: FastifyInstance,
  ctx: LabContext,
  runner: VerifyRunner = new VerifyRunner({ execution: ctx.execution, contents: ctx.contents, log: ctx.log.child({ component: 'verify' }) }),
): void {
  /** Validates an API path against the root and returns it in the journal's form. */
  const checked = async (apiPath: string): Promise<string> => {
    const normal = apiPath.replace(/^\/+|\/+$/g, '');
    await ctx.contents.resolve(normal);
    return normal;
  };

  app.get('/api/eucp/notebooks/journal', async (req) => {
    const { path } = pathQuery.parse(req.query);
    return { entries: ctx.journal.entries(await checked(path)) };
  });

  app.post('/api/eucp/notebooks/badges', async (req) => {
    const body = badgesBody.parse(req.body);
    return ctx.journal.badges(await checked(body.path), body.cells);
  });

  app.post('/api/eucp/notebooks/verify', async (req, reply) => {
    const path = await checked(verifyBody.parse(req.body).path);
    const session = ctx.sessions.list().find((s) => s.path.replace(/^\/+|\/+$/g, '') === path);
    const kernel = session ? ctx.kernels.get(session.kernel.id) : undefined;
    if (!session || !kernel) throw notFound(`A running kernel session for ${path}`);
    if (runner.running(path)) throw new JupyterError(409, `A verify run of ${path} is already running`);
    const report = await runner.start(path, kernel);
    return reply.status(202).send({ runId: report.runId });
  });

  app.get<{ Params: { id: string } }>('/api/eucp/runs/:id', async (req) => {
    const report = runner.get(req.params.id);
    if (!report) throw notFound(`Run ${req.params.id}`);
    return report;
  });
}
