/**
 * The catalog as intake-esm and STAC, from the same index and with the same visibility
 * filter as `GET /esg-search/search`:
 *
 * - `GET /catalog/intake/catalog.json` — ESM collection JSON pointing at `catalog.csv`;
 * - `GET /catalog/intake/catalog.csv` — one row per (non-replica) file;
 * - `GET /catalog/stac` (landing catalog), `/catalog/stac/collections`,
 *   `/catalog/stac/collections/{cmip6|cordex}`, `…/items?limit=&offset=` (a FeatureCollection
 *   with `next` links), `…/items/{instance_id}` (404 when absent or hidden).
 *
 * Every endpoint takes `readable=true`: only what the caller may read (else: what they may
 * list). No login needed; the filter decides what anonymous callers see.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, andInto, bitsetToIds, type Bitset } from '@eucp/core';
import type { HubContext } from '../context.js';
import type { EsgDoc, EsgfCorpus, EsgfIndexProvider, EsgfSnapshot } from './esgf-index.js';
import { badParam } from './esgf-query.js';
import { searchParamsOf, visibilityMask, type EsgfRouteOptions } from './esgf-routes.js';
import { intakeCollection, intakeCsv, intakeRows } from './intake.js';
import { stacCollection, stacItem, type StacHrefs, type StacLink } from './stac.js';

/** Options of {@link registerCatalogExports}. */
export interface CatalogExportOptions extends EsgfRouteOptions {
  /** Prefix of the intake CSV `path` column: where notebooks see the data (default `/data/`, the sandbox mount). */
  readonly intakePathPrefix?: string;
  /** Href of a STAC file asset; default the file's HTTPServer URL. */
  readonly stacAssetHref?: (file: EsgDoc) => string;
}

const COLLECTIONS = {
  cmip6: { project: 'CMIP6', title: 'CMIP6 data in this hub\'s cache', license: 'CC-BY-4.0' },
  cordex: { project: 'CORDEX', title: 'CORDEX data in this hub\'s cache', license: 'proprietary' },
} as const;
type CollectionId = keyof typeof COLLECTIONS;

function httpUrl(file: EsgDoc): string {
  const urls = Array.isArray(file['url']) ? (file['url'] as unknown[]).map(String) : [];
  return (urls.find((u) => u.endsWith('|HTTPServer')) ?? urls[0] ?? '').split('|')[0]!;
}

function readableFlag(req: FastifyRequest): boolean {
  const v = searchParamsOf(req).get('readable');
  if (v === null) return false;
  if (!/^(true|false)$/i.test(v)) throw badParam('readable', `must be true or false (got "${v}")`);
  return v.toLowerCase() === 'true';
}

function paging(req: FastifyRequest): { limit: number; offset: number } {
  const p = searchParamsOf(req);
  const int = (name: string, dflt: number, max: number): number => {
    const v = p.get(name);
    if (v === null) return dflt;
    if (!/^\d+$/.test(v) || Number(v) > max) throw badParam(name, `must be an integer from 0 to ${max} (got "${v}")`);
    return Number(v);
  };
  return { limit: int('limit', 10, 10_000), offset: int('offset', 0, Number.MAX_SAFE_INTEGER) };
}

/** Registers the intake-esm and STAC endpoints over `provider`, hiding what `opts.filter` hides. */
export async function registerCatalogExports(app: FastifyInstance, ctx: HubContext, provider: EsgfIndexProvider, opts: CatalogExportOptions = {}): Promise<void> {
  const base = (req: FastifyRequest): string => (ctx.config.publicUrl ?? `${req.protocol}://${req.headers.host ?? 'localhost'}`).replace(/\/+$/, '');
  const masked = async (req: FastifyRequest, corpus: EsgfCorpus, type: 'Dataset' | 'File'): Promise<Bitset | undefined> =>
    visibilityMask(opts, req, type, corpus, readableFlag(req) ? 'read' : 'list');
  const datasetIndex = new WeakMap<EsgfSnapshot, Map<string, EsgDoc>>();
  const datasetById = (s: EsgfSnapshot): Map<string, EsgDoc> => {
    let m = datasetIndex.get(s);
    if (!m) {
      m = new Map();
      for (let i = 0; i < s.datasets.index.size; i++) m.set(String(s.datasets.doc(i)['id']), s.datasets.doc(i));
      datasetIndex.set(s, m);
    }
    return m;
  };
  const send = (reply: FastifyReply, type: string, body: string): FastifyReply => reply.header('Cache-Control', 'no-store').type(type).send(body);

  app.get('/catalog/intake/catalog.json', async (req, reply) => {
    const readable = readableFlag(req);
    const body = intakeCollection({
      id: 'eucp-catalog',
      description: `The climate data cache of this EUCP Notebook hub (${readable ? 'what you may read' : 'what you may see'}); the path column is where notebooks find each file. Superseded and retracted versions are listed too: filter latest == True for current data.`,
      catalogFile: readable ? 'catalog.csv?readable=true' : 'catalog.csv',
    });
    return send(reply, 'application/json; charset=utf-8', JSON.stringify(body, null, 2));
  });

  app.get('/catalog/intake/catalog.csv', async (req, reply) => {
    const snap = await provider.current();
    const mask = await masked(req, snap.files, 'File');
    const masters = snap.files.index.evaluate({ op: 'eq', field: 'replica', values: ['false'] });
    const ids = bitsetToIds(mask ? andInto(masters, mask) : masters);
    const byId = datasetById(snap);
    const rows = intakeRows(Array.from(ids, (i) => snap.files.doc(i)), (id) => byId.get(id), { pathPrefix: opts.intakePathPrefix ?? '/data/' });
    return send(reply, 'text/csv; charset=utf-8', intakeCsv(rows));
  });

  const collectionOf = (cid: string): CollectionId => {
    if (!Object.hasOwn(COLLECTIONS, cid)) throw new AppError('NOT_FOUND', `No STAC collection "${cid}".`);
    return cid as CollectionId;
  };
  const hrefs = (req: FastifyRequest): StacHrefs => {
    const b = `${base(req)}/catalog/stac`;
    return {
      itemLinks: (id, cid) => [
        { rel: 'self', href: `${b}/collections/${cid}/items/${encodeURIComponent(id)}`, type: 'application/geo+json' },
        { rel: 'root', href: b, type: 'application/json' },
        { rel: 'parent', href: `${b}/collections/${cid}`, type: 'application/json' },
        { rel: 'collection', href: `${b}/collections/${cid}`, type: 'application/json' },
      ],
      assetHref: opts.stacAssetHref ?? httpUrl,
    };
  };
  /** Items of a collection (master copies only) under the caller's mask, paged by the index; `assets: false` skips the file lookups. */
  const items = async (req: FastifyRequest, cid: CollectionId, page: { limit: number; offset: number }, instanceId?: string, assets = true) => {
    const snap = await provider.current();
    const dmask = await masked(req, snap.datasets, 'Dataset');
    const where = { op: 'and' as const, args: [
      { op: 'eq' as const, field: 'project', values: [COLLECTIONS[cid].project] },
      { op: 'eq' as const, field: 'replica', values: ['false'] },
      ...(instanceId !== undefined ? [{ op: 'eq' as const, field: 'instance_id', values: [instanceId] }] : []),
    ] };
    const found = snap.datasets.index.search({ where, mask: dmask, ...page });
    const fmask = found.ids.length && assets ? await masked(req, snap.files, 'File') : undefined;
    const h = hrefs(req);
    const features = found.ids.map((i) => {
      const ds = snap.datasets.doc(i);
      const f = assets ? snap.files.index.search({ where: { op: 'eq', field: 'dataset_id', values: [String(ds['id'])] }, mask: fmask, limit: 10_000 }).ids : [];
      return stacItem(ds, f.map((j) => snap.files.doc(j)), h);
    });
    return { numberMatched: found.numFound, features };
  };

  app.get('/catalog/stac', async (req) => {
    const b = `${base(req)}/catalog/stac`;
    return {
      type: 'Catalog', stac_version: '1.0.0', id: 'eucp', title: 'EUCP Notebook data catalog',
      description: 'The climate data cache of this hub as STAC: one item per dataset version, one asset per file.',
      conformsTo: ['https://api.stacspec.org/v1.0.0/core', 'https://api.stacspec.org/v1.0.0/ogcapi-features'],
      links: [
        { rel: 'self', href: b, type: 'application/json' },
        { rel: 'root', href: b, type: 'application/json' },
        { rel: 'data', href: `${b}/collections`, type: 'application/json' },
        ...Object.keys(COLLECTIONS).map((cid) => ({ rel: 'child', href: `${b}/collections/${cid}`, type: 'application/json' })),
      ],
    };
  });

  const collection = async (req: FastifyRequest, cid: CollectionId): Promise<Record<string, unknown>> => {
    const { features } = await items(req, cid, { limit: 10_000, offset: 0 }, undefined, false);
    const b = `${base(req)}/catalog/stac`;
    const links: StacLink[] = [
      { rel: 'self', href: `${b}/collections/${cid}`, type: 'application/json' },
      { rel: 'root', href: b, type: 'application/json' },
      { rel: 'items', href: `${b}/collections/${cid}/items`, type: 'application/geo+json' },
    ];
    const c = COLLECTIONS[cid];
    return stacCollection(cid, features, { title: c.title, description: `${c.project} dataset versions in the hub's data cache.`, license: c.license, links });
  };

  app.get('/catalog/stac/collections', async (req) => ({
    collections: await Promise.all((Object.keys(COLLECTIONS) as CollectionId[]).map((cid) => collection(req, cid))),
    links: [{ rel: 'self', href: `${base(req)}/catalog/stac/collections`, type: 'application/json' }],
  }));

  app.get<{ Params: { cid: string } }>('/catalog/stac/collections/:cid', async (req) => collection(req, collectionOf(req.params.cid)));

  app.get<{ Params: { cid: string } }>('/catalog/stac/collections/:cid/items', async (req, reply) => {
    const cid = collectionOf(req.params.cid);
    const page = paging(req);
    const { numberMatched, features } = await items(req, cid, page);
    const self = `${base(req)}/catalog/stac/collections/${cid}/items`;
    const more = page.offset + features.length < numberMatched;
    const extra = readableFlag(req) ? '&readable=true' : '';
    reply.type('application/geo+json');
    return {
      type: 'FeatureCollection', numberMatched, numberReturned: features.length, features,
      links: [
        { rel: 'self', href: `${self}?limit=${page.limit}&offset=${page.offset}${extra}`, type: 'application/geo+json' },
        ...(more ? [{ rel: 'next', href: `${self}?limit=${page.limit}&offset=${page.offset + page.limit}${extra}`, type: 'application/geo+json' }] : []),
      ],
    };
  });

  app.get<{ Params: { cid: string; itemId: string } }>('/catalog/stac/collections/:cid/items/:itemId', async (req, reply) => {
    const { features } = await items(req, collectionOf(req.params.cid), { limit: 1, offset: 0 }, req.params.itemId);
    if (!features[0]) throw new AppError('NOT_FOUND', `No item "${req.params.itemId}".`);
    reply.type('application/geo+json');
    return features[0];
  });
}

