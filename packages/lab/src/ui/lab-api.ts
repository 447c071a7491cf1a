import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { JupyterError, badRequest } from '../http/errors.js';
import { sendFile } from './files.js';
import type { SettingsStore } from './settings.js';
import type { WorkspaceStore } from './workspaces.js';

/** What the lab APIs read: the stores and the built UI directory (null when not built). */
export interface LabApiDeps {
  settings: SettingsStore;
  workspaces: WorkspaceStore;
  uiDir: () => string;
  appName: () => string;
}

/** Largest settings text accepted (JupyterLab's biggest, the shortcuts, is a few kB). */
const MAX_SETTINGS_CHARS = 1_000_000;
const SettingsPut = z.object({ raw: z.string().max(MAX_SETTINGS_CHARS) });

/** The wildcard tail of a route (`lab/api/settings/<tail>`), already URL-decoded by fastify. */
const tail = (req: FastifyRequest): string => ((req.params as Record<string, string | undefined>)['*'] ?? '').replace(/\/+$/, '');

/** A JSON body whatever Content-Type it came with (JupyterLab omits it when it has no XSRF cookie). */
function jsonBody(body: unknown): unknown {
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const text = body.toString();
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw badRequest('Request body is not valid JSON');
    }
  }
  return body;
}

/** `lab/api/settings` (§e.3). */
function settingsRoutes(app: FastifyInstance, deps: LabApiDeps): void {
  const list = async (req: FastifyRequest): Promise<unknown> => {
    deps.uiDir(); // 503 while the UI (and so its schemas) is not built
    const q = req.query as Record<string, unknown>;
    const idsOnly = q.ids_only === 'true' || q.ids_only === '1';
    return { settings: await deps.settings.list(idsOnly) };
  };
  app.get('/lab/api/settings', list);
  app.get('/lab/api/settings/', list);
  app.get('/lab/api/settings/*', async (req) => {
    deps.uiDir();
    return deps.settings.get(tail(req));
  });
  app.put('/lab/api/settings/*', async (req, reply) => {
    deps.uiDir();
    const body = SettingsPut.safeParse(jsonBody(req.body));
    if (!body.success) throw badRequest(`The body must be {"raw": "<settings as JSON5 text, at most ${MAX_SETTINGS_CHARS} characters>"}`);
    await deps.settings.save(tail(req), body.data.raw);
    return reply.status(204).send();
  });
}

/** `lab/api/workspaces` (§e.4). */
function workspaceRoutes(app: FastifyInstance, deps: LabApiDeps): void {
  const list = async (): Promise<unknown> => ({ workspaces: await deps.workspaces.list() });
  app.get('/lab/api/workspaces', list);
  app.get('/lab/api/workspaces/', list);
  app.get('/lab/api/workspaces/*', async (req) => deps.workspaces.get(tail(req)));
  app.put('/lab/api/workspaces/*', async (req, reply) => {
    await deps.workspaces.save(tail(req), jsonBody(req.body));
    return reply.status(204).send();
  });
  app.delete('/lab/api/workspaces/*', async (req, reply) => {
    await deps.workspaces.remove(tail(req));
    return reply.status(204).send();
  });
}

/** `lab/api/translations` (§e.5): English only, which needs no catalog. */
function translationRoutes(app: FastifyInstance): void {
  const languages = async (): Promise<unknown> => ({
    data: { en: { displayName: 'English', nativeName: 'English' } },
    message: '',
  });
  app.get('/lab/api/translations', languages);
  app.get('/lab/api/translations/', languages);
  app.get('/lab/api/translations/:locale', async (req) => {
    const { locale } = req.params as { locale: string };
    const english = locale === 'en' || locale === 'default' || /^en[-_]/i.test(locale);
    return { data: {}, message: english ? '' : `Language pack '${locale}' not installed!` };
  });
}

interface LicensePackage {
  name: string;
  versionInfo: string;
  licenseId: string;
  extractedText: string;
}

/** `lab/api/licenses` (Help ▸ Licenses): the bundle's third-party licenses as JSON, Markdown or CSV. */
async function licenses(req: FastifyRequest, reply: FastifyReply, deps: LabApiDeps): Promise<unknown> {
  const q = req.query as Record<string, string | undefined>;
  const format = q.format ?? 'json';
  if (!['json', 'markdown', 'csv'].includes(format)) throw badRequest(`Unknown license report format: ${format}`);
  let packages: LicensePackage[] = [];
  try {
    const text = await fs.readFile(path.join(deps.uiDir(), 'static', 'third-party-licenses.json'), 'utf8');
    packages = (JSON.parse(text) as { packages: LicensePackage[] }).packages;
  } catch {
    // no report in this build: an empty list
  }
  const fullText = q.full_text === 'true' || q.full_text === '1';
  if (!fullText) packages = packages.map((p) => ({ ...p, extractedText: '' }));
  const bundle = deps.appName();
  if (q.download === '1' || q.download === 'true') {
    const ext = { json: 'json', markdown: 'md', csv: 'csv' }[format];
    reply.header('content-disposition', `attachment; filename="${bundle.toLowerCase()}-licenses.${ext}"`);
  }
  if (format === 'json') return { bundles: { [bundle]: { packages } } };
  if (format === 'csv') {
    const cell = (s: string): string => `"${s.replace(/"/g, '""')}"`;
    const rows = packages.map((p) => [bundle, p.name, p.versionInfo, p.licenseId, p.extractedText].map(cell).join(','));
    return reply.type('text/csv; charset=utf-8').send(['bundle,name,versionInfo,licenseId,extractedText', ...rows].join('\n') + '\n');
  }
  const md = packages.map((p) => `## ${p.name} (${p.versionInfo})\n\nLicense: ${p.licenseId || 'unknown'}\n${fullText ? `\n${p.extractedText}\n` : ''}`);
  return reply.type('text/markdown; charset=utf-8').send(`# ${bundle}\n\n${md.join('\n')}`);
}

/** Themes, listings, licenses and the extension-manager stubs (§e.6). */
function otherRoutes(app: FastifyInstance, deps: LabApiDeps): void {
  app.get('/lab/api/themes/*', async (req, reply) => sendFile(req, reply, path.join(deps.uiDir(), 'themes'), tail(req)));
  app.get('/lab/api/listings/*', async (req) => {
    if (tail(req) !== '@jupyterlab/extensionmanager-extension/listings.json') throw badRequest('Unknown listing');
    return { blocked_extensions_uris: [], allowed_extensions_uris: [], blocked_extensions: [], allowed_extensions: [] };
  });
  app.get('/lab/api/licenses', (req, reply) => licenses(req, reply, deps));
  app.get('/lab/api/licenses/', (req, reply) => licenses(req, reply, deps));
  // Extensions are built in; nothing can be installed at run time.
  app.get('/lab/api/extensions', async () => []);
  app.post('/lab/api/extensions', async () => {
    throw new JupyterError(405, 'Extensions cannot be installed on this server: they are built into the lab UI.');
  });
  // Any other lab/api path is an unknown API, answered in JSON (not with the app page).
  app.all('/lab/api/*', async (req) => {
    throw new JupyterError(404, `Not found: ${req.url.split('?')[0]}`);
  });
}

/** Registers every `lab/api/…` route (settings, workspaces, translations, themes, …). */
export function labApiRoutes(app: FastifyInstance, deps: LabApiDeps): void {
  settingsRoutes(app, deps);
  workspaceRoutes(app, deps);
  translationRoutes(app);
  otherRoutes(app, deps);
}
