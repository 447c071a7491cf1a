import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies } from '@eucp/core';
import type { LabContext } from '../context.js';
import { XSRF_COOKIE } from '../http/auth.js';
import { JupyterError } from '../http/errors.js';
import { sendFile } from './files.js';
import { labApiRoutes } from './lab-api.js';
import { STATIC_PATH, contentSecurityPolicy, pageConfig, readManifest, renderPage, type PageView, type UiManifest } from './page.js';
import { SettingsStore } from './settings.js';
import { WorkspaceStore } from './workspaces.js';

/** Options for tests; the server uses the defaults. */
export interface UiRouteOptions {
  /** Where the JUPYTERHUB_* variables are read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** An `_xsrf` value we would have issued (reused so that open tabs keep working). */
const XSRF_VALUE = /^[A-Za-z0-9_-]{22,128}$/;

/**
 * The JupyterLab UI and the lab APIs it needs (jupyter-server-api.md §e): the `lab`,
 * `lab/tree/…`, `lab/workspaces/…` and `doc/…` pages, the bundle under `static/lab/`,
 * and `lab/api/{settings,workspaces,translations,themes,listings,licenses,extensions}`.
 * Files come from `ctx.config.uiDir` (built by `npm run setup`); without it, pages and
 * UI files answer 503. Settings and workspaces persist under `ctx.config.stateDir`.
 */
export function uiRoutes(app: FastifyInstance, ctx: LabContext, options: UiRouteOptions = {}): void {
  const env = options.env ?? process.env;
  const { config } = ctx;
  let manifest: UiManifest | null = null;

  const uiDir = (): string => {
    if (config.uiDir && existsSync(path.join(config.uiDir, 'manifest.json'))) return config.uiDir;
    throw new JupyterError(503, 'The JupyterLab UI is not built: run `npm run setup` (it builds packages/lab-ui), then reload.', 'ui not built');
  };
  const loadManifest = (): UiManifest => {
    if (!manifest) {
      try {
        manifest = readManifest(uiDir());
      } catch (err) {
        if (err instanceof JupyterError) throw err;
        ctx.log.error({ err }, 'unreadable lab UI manifest');
        throw new JupyterError(503, 'The JupyterLab UI build is incomplete: run `npm run setup` again.', 'ui not built');
      }
    }
    return manifest;
  };

  // Without a UI the settings routes answer 503 before they reach the store.
  const schemasDir = path.join(config.uiDir ?? config.stateDir, 'schemas');
  const settings = new SettingsStore(schemasDir, path.join(config.stateDir, 'settings'));
  const workspaces = new WorkspaceStore(path.join(config.stateDir, 'workspaces'));

  const page = async (req: FastifyRequest, reply: FastifyReply, view: PageView): Promise<FastifyReply> => {
    const ui = loadManifest();
    const cfg = pageConfig(config, ui, view, env, req.identity?.name);
    const existing = parseCookies(req.headers.cookie).get(XSRF_COOKIE);
    const xsrf = existing && XSRF_VALUE.test(existing) ? existing : randomBytes(24).toString('base64url');
    const secure = req.protocol === 'https' ? '; Secure' : '';
    return reply
      .status(view.notFoundUrl ? 404 : 200)
      .header('set-cookie', `${XSRF_COOKIE}=${xsrf}; Path=${config.baseUrl}; SameSite=Lax${secure}`)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', contentSecurityPolicy(req.headers.host))
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .send(renderPage(cfg, ui));
  };
  const rest = (req: FastifyRequest): string => (req.params as Record<string, string | undefined>)['*'] ?? '';
  const multi = (treePath = '', workspace = 'default'): PageView => ({ mode: 'multiple-document', workspace, treePath });

  /** `<name>` or `<name>/tree/<path>` after `…/workspaces/`. */
  const inWorkspace = (tail: string): { workspace: string; treePath: string } => {
    const m = /^([^/]+)(?:\/tree\/?(.*))?$/.exec(tail);
    return m ? { workspace: m[1]!, treePath: m[2] ?? '' } : { workspace: 'default', treePath: '' };
  };

  app.get('/lab', (req, reply) => page(req, reply, multi()));
  app.get('/lab/', (req, reply) => reply.redirect(`${config.baseUrl}lab`));
  app.get('/lab/tree/*', (req, reply) => page(req, reply, multi(rest(req))));
  app.get('/lab/workspaces/*', (req, reply) => {
    const { workspace, treePath } = inWorkspace(rest(req));
    return page(req, reply, multi(treePath, workspace));
  });
  app.get('/doc', (req, reply) => page(req, reply, { ...multi(), mode: 'single-document' }));
  app.get('/doc/*', (req, reply) => {
    const tail = rest(req);
    const view = tail.startsWith('workspaces/') ? inWorkspace(tail.slice('workspaces/'.length)) : { workspace: 'default', treePath: tail.replace(/^tree\/?/, '') };
    return page(req, reply, { mode: 'single-document', ...view });
  });
  // Any other page under lab/ renders the app, which shows its "not found" dialog.
  app.get('/lab/*', (req, reply) => page(req, reply, { ...multi(), notFoundUrl: req.url.split('?')[0]! }));

  app.get(`/${STATIC_PATH}/*`, (req, reply) => sendFile(req, reply, path.join(uiDir(), 'static'), rest(req)));

  labApiRoutes(app, {
    settings,
    workspaces,
    uiDir,
    appName: () => loadManifest().appName,
  });
}
