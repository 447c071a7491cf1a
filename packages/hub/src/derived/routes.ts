import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { selfActor } from '../auth/self.js';
import { parseBody } from '../api/input.js';
import type { HubContext } from '../context.js';
import { sharedPathOf, type DerivedRecord, type DerivedVersion } from './docs.js';
import { instanceIdOf, masterIdOf, parseDerivedId } from './rule.js';
import type { DerivedActor, DerivedService } from './service.js';

const publishBody = z.object({
  path: z.string('Give the folder to publish, relative to your area.').max(4096),
  area: z.enum(['derived', 'home']).optional(),
  name: z.string().max(64).optional(),
  title: z.string('Give a title.').trim().min(1, 'Give a title.').max(300),
  description: z.string().max(20_000).default(''),
  licence: z.object({
    id: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._+-]+$/, 'A licence id has letters, digits, ".", "_", "+" or "-" only.'),
    text: z.string().trim().min(1, 'Give the licence text.').max(100_000),
  }).strict().nullable().default(null),
  inputs: z.array(z.string().min(1).max(500)).max(200).default([]),
  audience: z.object({
    users: z.array(z.string().min(1).max(64)).max(500).optional(),
    groups: z.array(z.string().min(1).max(200)).max(200).optional(),
    public: z.boolean().optional(),
  }).strict().default({}),
}).strict();

const actor = (req: FastifyRequest, write: boolean): DerivedActor => selfActor(req, write);

const iso = (ms: number): string => new Date(ms).toISOString();

/** Python that opens the files where the reader's sandbox shows them. */
export function notebookCode(dir: string): string {
  return [
    'import glob',
    'import xarray as xr',
    '',
    `files = sorted(glob.glob(${JSON.stringify(`${dir}/**/*.nc`)}, recursive=True))`,
    'ds = xr.open_mfdataset(files, combine="by_coords") if len(files) > 1 else xr.open_dataset(files[0])',
    'ds',
  ].join('\n');
}

/** What leaves the server about one version; the owner also sees where it lives and who reads it. */
export function presentDerived(r: DerivedRecord, v: DerivedVersion, viewer: string | null): Record<string, unknown> {
  const own = viewer === r.owner;
  const shared = sharedPathOf(r.owner, r.name);
  const sandbox = own ? (r.area === 'derived' ? `/derived/${r.relPath}` : `~/${r.relPath}`) : shared;
  return {
    instance_id: instanceIdOf(r.owner, r.name, v.version), master_id: masterIdOf(r.owner, r.name), project: 'derived',
    name: r.name, owner: r.owner, title: r.title, description: r.description, version: v.version,
    latest: r.versions.at(-1) === v, versions: r.versions.map((x) => x.version), published: iso(v.createdAt),
    variables: v.facts.variables, time_range: v.facts.time, extent: v.facts.extent, size: v.facts.size,
    files: v.files.map((f) => ({ path: f.rel, size: f.size, sha256: f.sha256, variables: f.netcdf?.variables ?? null, time: f.netcdf?.time ?? null })),
    inputs: v.inputs.map((i) => ({ instance_id: i.instance_id, restricted: i.restricted, groups: i.groups, url: `/hub/catalog/dataset/${encodeURIComponent(i.instance_id)}` })),
    licences: v.licences.map((l) => ({ id: l.id, source: l.source, sha256: l.sha256, inputs: l.inputs ?? [], group: l.group ?? null, text: l.text })),
    sandbox_path: sandbox, shared_path: shared, code: notebookCode(sandbox),
    ...(own && { area: r.area, path: r.relPath, audience: r.audience }),
  };
}

/**
 * The derived-data API (thin: validate → authorize → use case → present):
 * - `POST /hub/api/eucp/derived` `{path, area?, name?, title, description?, licence: {id, text} | null, inputs: [instance_id], audience: {users?, groups?, public?}}`
 *   → 201 with the new version, the effective readers and the chosen users left out by the inputs' access;
 * - `GET /hub/api/eucp/derived` (mine); `GET /hub/api/eucp/derived/<instance_id or master_id>` (404 unless the rule lets the caller see it);
 * - `DELETE /hub/api/eucp/derived/<name>` → 204 (unpublish: gone from the catalog and from `/shared`).
 * Hub group changes made through the API resync the shares at once.
 */
export async function registerDerivedRoutes(app: FastifyInstance, ctx: HubContext, derived: DerivedService): Promise<void> {
  const base = '/hub/api/eucp/derived';

  app.post(base, async (req, reply) => {
    const a = actor(req, true);
    const body = parseBody(publishBody, req.body);
    const { record, version } = await derived.publish(a, {
      path: body.path, title: body.title, description: body.description, licence: body.licence, inputs: body.inputs,
      audience: { ...(body.audience.users && { users: body.audience.users }), ...(body.audience.groups && { groups: body.audience.groups }), public: body.audience.public ?? false },
      ...(body.area && { area: body.area }), ...(body.name !== undefined && { name: body.name }),
    });
    const readers = await derived.effectiveReaders(record);
    return reply.status(201).send({
      ...presentDerived(record, version, a.name),
      effective_readers: record.audience.public ? null : readers,
      left_out: record.audience.users.filter((u) => !readers.includes(u)),
    });
  });

  app.get(base, async (req) => {
    const a = actor(req, false);
    return derived.mine(a).map((r) => presentDerived(r, r.versions.at(-1)!, a.name));
  });

  app.get<{ Params: { id: string } }>(`${base}/:id`, async (req) => {
    const user = req.auth ? { id: req.auth.user.id, name: req.auth.user.name } : null;
    const { record, version } = await derived.get(user, req.params.id);
    return presentDerived(record, version, user?.name ?? null);
  });

  app.delete<{ Params: { id: string } }>(`${base}/:id`, async (req, reply) => {
    const a = actor(req, true);
    const p = parseDerivedId(req.params.id);
    await derived.unpublish(a, p && p.owner === a.name ? p.name : req.params.id);
    return reply.status(204).send();
  });

  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET' && req.url.startsWith('/hub/api/groups/') && reply.statusCode < 300) await derived.syncShares();
  });
}
