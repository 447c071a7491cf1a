/**
 * "Open in a notebook" for a catalog data set:
 *
 * - `GET /hub/api/eucp/catalog/datasets/:instanceId/notebook` — the notebook the data set
 *   opens with: `{instance_id, name, files, code, notebook}` (files are sandbox paths,
 *   `/data/…`). Anyone who may list the data set (anonymous callers too), else 404.
 * - `POST` on the same path — writes that notebook into the caller's running default server
 *   as `catalog/<name>` (or `<name>-1`, `-2`… — never overwriting) and answers 201
 *   `{path, url}`, `url` opening it in the server's UI (`/user/<name>/lab/tree/<path>` for
 *   JupyterLab, `/user/<name>/notebooks/<path>` for the classic Notebook). Needs
 *   `access:servers` on the caller's own server (a browser session, with the anti-forgery
 *   header, or a token with it). 404 when the caller may not list the data set;
 *   `DATA_ACCESS_DENIED` (403) when they may list but not read it (with the groups that
 *   would grant it); `SERVER_NOT_RUNNING` (424) when their server is not running;
 *   `SERVER_WRITE_FAILED` (502, with the server's message) when the server refuses the file.
 *
 * The notebook is written through the server's contents API (see notebook-writer.ts).
 */
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  AppError, DEFAULT_SERVER, hasScope, SANDBOX_DATA_MOUNT, datasetCode, datasetNotebook, datasetNotebookName, serverPrefix,
  type DatasetNotebookSpec, type UserName,
} from '@eucp/core';
import type { HubContext } from '../context.js';
import type { AccessReader } from '../access/index.js';
import { requireScope } from '../auth/plugin.js';
import { dataDirOf } from '../config/load.js';
import { serverCommandFor } from '../servers/server-command.js';
import type { EsgDoc, EsgfIndexProvider } from './esgf-index.js';
import { pathFromUrls } from './intake.js';
import { encodePath, ServerNotebookWriter, type ServerTokenIssuer } from './notebook-writer.js';

/** The folder of the user's home that catalog notebooks go into. */
export const CATALOG_NOTEBOOK_DIR = 'catalog';

/** A data set of the catalog with what its notebook needs. */
interface FoundDataset {
  instanceId: string;
  spec: DatasetNotebookSpec;
}

const first = (d: EsgDoc, k: string): string => {
  const v = d[k];
  return v === undefined || v === null ? '' : String(Array.isArray(v) ? (v[0] ?? '') : v);
};

/**
 * Where the sandbox sees a file below the catalog root: `/data/<root below the data
 * directory>/<path>`. The root prefix is '' when the catalog scans the data directory
 * itself (the default); a root outside the data directory is not in the sandbox at all,
 * and then the path below `/data` is the best guess (as the intake catalog's).
 */
export function sandboxPathPrefix(dataDir: string, roots: readonly string[] | null | undefined): string {
  const [root, ...more] = (roots ?? [dataDir]).map((r) => path.resolve(r));
  if (!root || more.length) return `${SANDBOX_DATA_MOUNT}/`;
  const rel = path.relative(path.resolve(dataDir), root);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return `${SANDBOX_DATA_MOUNT}/`;
  return `${SANDBOX_DATA_MOUNT}/${rel.split(path.sep).join('/')}/`;
}

/** The master (non-replica) Dataset doc of `instanceId` and its files' sandbox paths; null when the catalog has none. */
async function findDataset(provider: EsgfIndexProvider, instanceId: string, prefix: string): Promise<FoundDataset | null> {
  const snap = await provider.current();
  const found = snap.datasets.index.search({ where: { op: 'eq', field: 'instance_id', values: [instanceId] }, limit: 100 });
  const docs = found.ids.map((i) => snap.datasets.doc(i));
  const doc = docs.find((d) => d['replica'] !== true) ?? docs[0];
  if (!doc) return null;
  const files = snap.files.index.search({ where: { op: 'eq', field: 'dataset_id', values: [String(doc['id'])] }, limit: 100_000 });
  const paths = new Set<string>();
  for (const i of files.ids) {
    const f = snap.files.doc(i);
    if (f['replica'] === true) continue;
    const rel = pathFromUrls(f);
    if (rel) paths.add(prefix + rel);
  }
  return { instanceId, spec: { instanceId, variable: first(doc, 'variable_id') || first(doc, 'variable') || null, paths: [...paths].sort() } };
}

/** Options of {@link registerCatalogNotebooks}. */
export interface CatalogNotebookOptions {
  /** Who mints the short-lived server tokens; default `ctx.auth`. */
  readonly tokens?: ServerTokenIssuer;
}

/** Registers the "open in a notebook" API over the catalog index `provider`. */
export async function registerCatalogNotebooks(app: FastifyInstance, ctx: HubContext, provider: EsgfIndexProvider, opts: CatalogNotebookOptions = {}): Promise<void> {
  const log = ctx.log.child({ component: 'catalog-notebooks' });
  const writer = new ServerNotebookWriter(opts.tokens ?? ctx.auth);
  const prefix = sandboxPathPrefix(dataDirOf(ctx.config), ctx.config.catalog.roots);
  const route = '/hub/api/eucp/catalog/datasets/:instanceId/notebook';

  /** The data set if the caller may list it (else 404), with the caller's access reader. */
  const listable = async (req: FastifyRequest<{ Params: { instanceId: string } }>): Promise<{ ds: FoundDataset; reader: AccessReader }> => {
    const id = req.params.instanceId;
    const auth = req.auth;
    const [ds, reader] = await Promise.all([
      id.length <= 1024 ? findDataset(provider, id, prefix) : null,
      ctx.access.reader(auth ? { id: auth.user.id, name: auth.user.name } : null),
    ]);
    if (!ds || !reader.canList(ds.instanceId)) throw new AppError('NOT_FOUND', `No data set ${id} in the catalog.`);
    return { ds, reader };
  };

  app.get<{ Params: { instanceId: string } }>(route, async (req, reply) => {
    const { ds } = await listable(req);
    reply.header('Cache-Control', 'no-store');
    const withFiles = ds.spec.paths.length > 0;
    return {
      instance_id: ds.instanceId,
      name: datasetNotebookName(ds.instanceId),
      files: ds.spec.paths,
      code: withFiles ? datasetCode(ds.spec) : null,
      notebook: withFiles ? datasetNotebook(ds.spec) : null,
    };
  });

  app.post<{ Params: { instanceId: string } }>(route, async (req, reply) => {
    const me = req.auth?.user;
    const auth = requireScope(req, 'access:servers', me ? { user: me.name, server: `${me.name}/`, userGroups: me.groups } : {});
    const user = auth.user.name as UserName;
    const { ds, reader } = await listable(req);
    if (!reader.canRead(ds.instanceId)) {
      // The groups the caller may see (as GET /api/access/check lists them).
      const check = await ctx.access.check({ id: auth.user.id, name: user }, ds.instanceId, 'Read', hasScope(auth.scopes, 'admin:groups'));
      const groups = [...new Set(check.grantableBy.map((g) => g.group))];
      throw new AppError('DATA_ACCESS_DENIED', `Request access on the data set's catalog page${groups.length ? ` (${groups.join(' or ')})` : ''}; once approved, open it in a notebook.`, {
        groups, request_url: `/hub/catalog/dataset/${encodeURIComponent(ds.instanceId)}`,
      });
    }
    if (ds.spec.paths.length === 0) throw new AppError('NOT_FOUND', `The data set ${ds.instanceId} lists no files.`);
    const row = await ctx.servers.get(user, DEFAULT_SERVER);
    if (row?.state !== 'running' || !row.target) {
      throw new AppError('SERVER_NOT_RUNNING', 'Start your server (on the home page, or with this page\'s button), then open the notebook again.');
    }
    const saved = await writer.write({
      userId: auth.user.id, user, server: DEFAULT_SERVER, origin: row.target, dir: CATALOG_NOTEBOOK_DIR, name: datasetNotebookName(ds.instanceId),
    }, datasetNotebook(ds.spec));
    const kind = serverCommandFor(ctx.config.spawner, user, auth.user.groups).kind;
    // The lab server is JupyterLab; jupyterhub-singleuser runs the classic Notebook unless configured with JupyterLab.
    const ui = kind === 'lab' || /lab/i.test(ctx.config.spawner.app) ? 'lab/tree' : 'notebooks';
    log.info({ user, dataset: ds.instanceId, path: saved }, 'notebook created for a data set');
    return reply.status(201).send({ path: saved, url: `${serverPrefix(user, DEFAULT_SERVER)}${ui}/${encodePath(saved)}` });
  });
}
