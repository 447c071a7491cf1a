/**
 * A minimal lab app for the UI tests: fastify + the error handler + the JSON body parser of
 * app.ts + `uiRoutes`, under a base URL, with a fake identity (no auth module), and a
 * temporary state directory. `BUILT_UI` is the real JupyterLab build, if present.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { LabContext } from '../../src/context.js';
import { installErrorHandler } from '../../src/http/errors.js';
import { uiRoutes } from '../../src/ui/routes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const builtDir = path.resolve(here, '../../../lab-ui/dist');

/** The built UI directory, or null when `packages/lab-ui/dist` is absent. */
export const BUILT_UI: string | null = existsSync(path.join(builtDir, 'manifest.json')) ? builtDir : null;
/** Why UI tests skip when the build is absent (false when present). */
export const SKIP_WITHOUT_UI: string | false = BUILT_UI
  ? false
  : 'packages/lab-ui/dist is absent: run `npm run setup` (it builds the JupyterLab UI)';

export interface UiApp {
  app: FastifyInstance;
  stateDir: string;
  base: string;
  close(): Promise<void>;
}

export interface UiAppOptions {
  uiDir: string | null;
  base?: string;
  env?: NodeJS.ProcessEnv;
  /** Name put on every request as `req.identity` (as the auth hook would). */
  visitor?: string;
  /** More routes (absolute paths), e.g. stand-ins for the APIs of other modules. */
  extraRoutes?: (app: FastifyInstance) => void;
}

export async function startUiApp(opts: UiAppOptions): Promise<UiApp> {
  const base = opts.base ?? '/user/alice/';
  const stateDir = mkdtempSync(path.join(tmpdir(), 'eucp-lab-ui-'));
  const ctx = {
    config: { baseUrl: base, rootDir: stateDir, stateDir, uiDir: opts.uiDir, defaultUrl: 'lab' },
    log: pino({ level: process.env.EUCP_TEST_LOG ?? 'silent' }),
  } as unknown as LabContext;
  const app = fastify({ routerOptions: { ignoreDuplicateSlashes: true } });
  installErrorHandler(app);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Request body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  if (opts.visitor) {
    const name = opts.visitor;
    app.addHook('onRequest', async (req) => {
      req.identity = { name, via: 'cookie' };
    });
  }
  await app.register(async (scoped) => uiRoutes(scoped, ctx, { env: opts.env ?? {} }), { prefix: base.replace(/\/$/, '') });
  opts.extraRoutes?.(app);
  await app.ready();
  return {
    app,
    stateDir,
    base,
    async close() {
      await app.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The page config embedded in a lab page. */
export function pageConfigOf(html: string): Record<string, unknown> {
  const m = /<script id="jupyter-config-data" type="application\/json">([^<]*)<\/script>/.exec(html);
  if (!m) throw new Error('no page config in the page');
  return JSON.parse(m[1]!) as Record<string, unknown>;
}
