import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { LabConfig } from '../context.js';

/** What `packages/lab-ui/build.mjs` records about a build (`<uiDir>/manifest.json`). */
export const UiManifest = z.object({
  appName: z.string(),
  appVersion: z.string(),
  /** Bundle files (relative to `static/`) the page loads, in order. */
  entry: z.array(z.string().regex(/^[\w.-]+\.js$/)).min(1),
  licenses: z.string().optional(),
});
export type UiManifest = z.infer<typeof UiManifest>;

/** Reads and checks `<uiDir>/manifest.json`; throws when the UI is not (completely) built. */
export function readManifest(uiDir: string): UiManifest {
  return UiManifest.parse(JSON.parse(readFileSync(path.join(uiDir, 'manifest.json'), 'utf8')));
}

/** Which view of the application a page URL asks for (jupyter-server-api.md §e.2). */
export interface PageView {
  mode: 'multiple-document' | 'single-document';
  workspace: string;
  treePath: string;
  /** Set for an unknown `lab/…` path: the app renders its "not found" dialog. */
  notFoundUrl?: string;
}

/**
 * Message types that are not user activity: the kernel status indicator ignores the
 * `status` messages they cause (jupyter_server's `untracked_message_types`, §b.1).
 */
const UNTRACKED_MESSAGE_TYPES = [
  'comm_info_request', 'comm_info_reply', 'kernel_info_request', 'kernel_info_reply',
  'shutdown_request', 'shutdown_reply', 'interrupt_request', 'interrupt_reply',
  'debug_request', 'debug_reply', 'stream', 'display_data', 'update_display_data',
  'execute_input', 'execute_result', 'error', 'status', 'clear_output', 'debug_event',
  'input_request', 'input_reply',
];

/** Plugins the page always disables: their server side (extension/plugin manager, news) does not exist. */
const DISABLED_EXTENSIONS = [
  '@jupyterlab/extensionmanager-extension',
  '@jupyterlab/pluginmanager-extension',
  '@jupyterlab/apputils-extension:announcements',
];

/** URL paths below the base URL (leading slash, as JupyterLab expects them). */
const APP_URL = '/lab';
const urls = {
  settingsUrl: `${APP_URL}/api/settings`,
  themesUrl: `${APP_URL}/api/themes`,
  translationsApiUrl: `${APP_URL}/api/translations`,
  workspacesApiUrl: `${APP_URL}/api/workspaces`,
  listingsUrl: `${APP_URL}/api/listings`,
  licensesUrl: `${APP_URL}/api/licenses`,
  labextensionsUrl: `${APP_URL}/extensions`,
  treeUrl: `${APP_URL}/tree`,
  workspacesUrl: `${APP_URL}/workspaces`,
};

/** The static URL path of the bundle, relative to the base URL (no trailing slash). */
export const STATIC_PATH = 'static/lab';

/**
 * The page config JupyterLab reads from `#jupyter-config-data` (§e.2): URLs under
 * `config.baseUrl`, the view, behaviour flags, and, under JupyterHub (env
 * `JUPYTERHUB_API_TOKEN` set), the hub fields that enable the Hub menu.
 * `visitor` is the name of the user looking at the page, if known.
 */
export function pageConfig(
  config: LabConfig,
  manifest: UiManifest,
  view: PageView,
  env: NodeJS.ProcessEnv,
  visitor: string | undefined,
): Record<string, unknown> {
  const base = config.baseUrl;
  const full = (p: string): string => `${base.replace(/\/$/, '')}${p}`;
  const out: Record<string, unknown> = {
    appName: manifest.appName,
    appVersion: manifest.appVersion,
    appNamespace: 'lab',
    appUrl: APP_URL,
    baseUrl: base,
    fullAppUrl: full(APP_URL),
    fullStaticUrl: full(`/${STATIC_PATH}`),
    staticUrl: `/${STATIC_PATH}`,
  };
  for (const [key, value] of Object.entries(urls)) {
    out[key] = value;
    out[`full${key[0]!.toUpperCase()}${key.slice(1)}`] = full(value);
  }
  Object.assign(out, {
    token: '',
    terminalsAvailable: true,
    buildAvailable: false,
    buildCheck: false,
    devMode: false,
    exposeAppInBrowser: false,
    cacheFiles: true,
    quitButton: false,
    notebookStartsKernel: true,
    copyAbsolutePath: false,
    allow_hidden_files: false,
    delete_to_trash: false,
    store_id: 0,
    notebookVersion: '[2, 20, 0]',
    federated_extensions: [],
    disabledExtensions: DISABLED_EXTENSIONS,
    deferredExtensions: [],
    ignorePlugins: [],
    news: { disabled: true },
    untracked_message_types: UNTRACKED_MESSAGE_TYPES,
    preferredPath: '/',
    serverRoot: config.rootDir,
    mode: view.mode,
    workspace: view.workspace,
    treePath: view.treePath,
    appSettingsDir: '',
    schemasDir: '',
    staticDir: '',
    templatesDir: '',
    themesDir: '',
    userSettingsDir: path.join(config.stateDir, 'settings'),
    workspacesDir: path.join(config.stateDir, 'workspaces'),
    labextensionsPath: [],
  });
  if (view.notFoundUrl) out.notFoundUrl = view.notFoundUrl;
  if (env.JUPYTERHUB_API_TOKEN) {
    const hubPrefix = `${(env.JUPYTERHUB_BASE_URL ?? '/').replace(/\/?$/, '/')}hub/`;
    Object.assign(out, {
      hubPrefix,
      hubHost: env.JUPYTERHUB_HOST ?? '',
      hubUser: visitor ?? env.JUPYTERHUB_USER ?? '',
      hubServerUser: env.JUPYTERHUB_USER ?? '',
      hubServerName: env.JUPYTERHUB_SERVER_NAME ?? '',
      shareUrl: `${hubPrefix}user-redirect`,
    });
  }
  return out;
}

/**
 * The Content-Security-Policy of the lab page: scripts only from this origin (the page
 * config `<script>` is JSON data, not code); `'unsafe-eval'` because JupyterLab compiles
 * settings validators (Ajv), Vega expressions and `application/javascript` outputs at run
 * time; inline styles because JupyterLab, CodeMirror and MathJax inject them; WebSockets
 * (kernels, terminals, events) to the page's own host (`host`, the request's Host header).
 */
export function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host && /^[\w.-]+(:\d+)?$|^\[[\da-fA-F:.]+\](:\d+)?$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https:",
    "font-src 'self' data:",
    "media-src 'self' data: blob:",
    `connect-src 'self'${sockets}`,
    "frame-src 'self' blob: data: https:",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
  ].join('; ');
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON safe inside `<script>`: no `</script>`, `<!--` or line separators can break out. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The HTML of the lab page: the page config and the bundle's entry scripts. */
export function renderPage(config: Record<string, unknown>, manifest: UiManifest): string {
  const staticUrl = escapeHtml(String(config.fullStaticUrl));
  const scripts = manifest.entry.map((f) => `<script defer src="${staticUrl}/${escapeHtml(f)}"></script>`).join('\n    ');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeHtml(manifest.appName)}</title>
    <link rel="icon" type="image/svg+xml" href="${staticUrl}/favicon.svg" class="idle favicon">
    <link rel="" type="image/svg+xml" href="${staticUrl}/favicon-busy.svg" class="busy favicon">
    <script id="jupyter-config-data" type="application/json">${scriptJson(config)}</script>
    ${scripts}
  </head>
  <body></body>
</html>
`;
}
