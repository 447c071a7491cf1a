/**
 * STAC items and collections of the hub's data (esgf-compat.md §3, synthetic-climate-data.md
 * §2) built from the ESGF search docs: one item per dataset version (id = instance_id) of
 * the master copy, one asset per file, the CMIP6 extension's `cmip6:*` properties for CMIP6
 * and `cordex:*` ones for CORDEX, datacube dimensions from the doc's time and bounding box.
 *
 * What docs do not carry, items do not have (unlike the EUCP-SYN generator, which writes
 * from the grids themselves): no `step` of lat/lon, no `height` dimension, no
 * `cmip6:license` unless the doc has a `license` field. Time extents are the cell bounds
 * derived from the first/last time stamps and the frequency (month, day or year cells),
 * which equals the generator's for mon, day and fx data.
 */
import type { EsgDoc } from './esgf-index.js';

/** STAC extension schemas used. */
export const STAC_EXTENSIONS = [
  'https://stac-extensions.github.io/cmip6/v1.0.0/schema.json',
  'https://stac-extensions.github.io/datacube/v2.2.0/schema.json',
  'https://stac-extensions.github.io/file/v2.1.0/schema.json',
];

/** A STAC link. */
export interface StacLink { rel: string; href: string; type?: string; title?: string }

/** How hrefs are made (relative files for a static catalog, hub URLs for the API). */
export interface StacHrefs {
  /** Links of an item (root, parent, collection, self…). */
  itemLinks(itemId: string, collectionId: string): StacLink[];
  /** Href of a file's asset. */
  assetHref(file: EsgDoc): string;
}

const first = (d: EsgDoc, k: string): string | undefined => {
  const v = d[k];
  if (v === undefined || v === null) return undefined;
  return String(Array.isArray(v) ? v[0] : v);
};
const list = (d: EsgDoc, k: string): string[] => (Array.isArray(d[k]) ? (d[k] as unknown[]).map(String) : d[k] === undefined ? [] : [String(d[k])]);
const num = (d: EsgDoc, k: string): number | undefined => (typeof d[k] === 'number' ? (d[k] as number) : undefined);

/** The STAC collection id of a dataset doc: `cmip6`, `cordex`, or null (not in STAC). */
export function stacCollectionIdOf(dataset: EsgDoc): 'cmip6' | 'cordex' | null {
  const p = first(dataset, 'project');
  return p === 'CMIP6' ? 'cmip6' : p === 'CORDEX' ? 'cordex' : null;
}

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Lower and upper cell bounds around first/last time stamps, by frequency (ISO strings, UTC). */
export function timeBounds(startIso: string, stopIso: string, frequency: string): [string, string] {
  const s = new Date(startIso);
  const e = new Date(stopIso);
  if (Number.isNaN(s.getTime()) || Number.isNaN(e.getTime())) return [startIso, stopIso];
  const f = frequency.replace(/C$|Pt$/, '');
  if (f === 'mon') return [iso(new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth(), 1))), iso(new Date(Date.UTC(e.getUTCFullYear(), e.getUTCMonth() + 1, 1)))];
  if (f === 'day') return [iso(new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth(), s.getUTCDate()))), iso(new Date(Date.UTC(e.getUTCFullYear(), e.getUTCMonth(), e.getUTCDate() + 1)))];
  if (f === 'yr') return [iso(new Date(Date.UTC(s.getUTCFullYear(), 0, 1))), iso(new Date(Date.UTC(e.getUTCFullYear() + 1, 0, 1)))];
  return [iso(s), iso(e)];
}

function geometryOf(ds: EsgDoc): { bbox: number[]; geometry: Record<string, unknown> } {
  const [w0, s, e0, n] = ['west_degrees', 'south_degrees', 'east_degrees', 'north_degrees'].map((k) => num(ds, k));
  let bbox = [-180, -90, 180, 90];
  if (w0 !== undefined && s !== undefined && e0 !== undefined && n !== undefined) {
    const wrap = (x: number): number => (x > 180 ? x - 360 : x);
    bbox = e0 - w0 >= 359.999 ? [-180, s, 180, n] : [wrap(w0), s, wrap(e0), n];
  }
  const [w, so, e, no] = bbox as [number, number, number, number];
  return { bbox, geometry: { type: 'Polygon', coordinates: [[[w, so], [e, so], [e, no], [w, no], [w, so]]] } };
}

function versionIso(v: string): string {
  return `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}T00:00:00Z`;
}

/** The STAC item of one dataset doc with its File docs (assets in file-name order). */
export function stacItem(dataset: EsgDoc, files: readonly EsgDoc[], hrefs: StacHrefs): Record<string, unknown> {
  const collection = stacCollectionIdOf(dataset) ?? 'other';
  const id = first(dataset, 'instance_id') ?? '';
  const variable = first(dataset, 'variable_id') ?? first(dataset, 'variable') ?? '';
  const frequency = first(dataset, 'frequency') ?? first(dataset, 'time_frequency') ?? '';
  const start = first(dataset, 'datetime_start');
  const stop = first(dataset, 'datetime_stop');
  const bounds = start && stop ? timeBounds(start, stop, frequency) : null;
  const time = bounds ? { start_datetime: bounds[0], end_datetime: bounds[1], datetime: null } : { datetime: versionIso(first(dataset, 'version') ?? '') };
  const { bbox, geometry } = geometryOf(dataset);
  const dims: Record<string, unknown> = {};
  if (bounds) dims['time'] = { type: 'temporal', extent: bounds };
  dims['lat'] = { type: 'spatial', axis: 'y', extent: [num(dataset, 'south_degrees') ?? -90, num(dataset, 'north_degrees') ?? 90], reference_system: 4326 };
  dims['lon'] = { type: 'spatial', axis: 'x', extent: [num(dataset, 'west_degrees') ?? -180, num(dataset, 'east_degrees') ?? 180], reference_system: 4326 };
  const units = first(dataset, 'variable_units');
  const longName = first(dataset, 'variable_long_name');
  const cube = {
    'cube:dimensions': dims,
    'cube:variables': { [variable]: { dimensions: [...(bounds ? ['time'] : []), 'lat', 'lon'], type: 'data', unit: units, description: longName } },
  };
  const prefixed = (prefix: string, keys: readonly string[], lists: readonly string[] = []): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const k of keys) if (first(dataset, k) !== undefined) out[`${prefix}:${k}`] = lists.includes(k) ? list(dataset, k) : first(dataset, k);
    return out;
  };
  const props = collection === 'cmip6'
    ? {
        project: 'CMIP6',
        ...prefixed('cmip6', ['activity_id', 'institution_id', 'source_id', 'experiment_id', 'sub_experiment_id', 'member_id', 'variant_label', 'table_id',
          'variable_id', 'grid_label', 'frequency', 'realm', 'nominal_resolution', 'source_type', 'version', 'further_info_url', 'citation_url', 'pid', 'license',
          'data_specs_version', 'variable_units', 'variable_long_name'], ['activity_id', 'realm', 'source_type']),
        ...(first(dataset, 'cf_standard_name') ? { 'cmip6:variable_cf_standard_name': first(dataset, 'cf_standard_name') } : {}),
      }
    : {
        project: first(dataset, 'project'),
        ...prefixed('cordex', ['domain', 'institute', 'driving_model', 'experiment', 'ensemble', 'rcm_name', 'rcm_version', 'time_frequency', 'variable',
          'variable_units', 'variable_long_name', 'cf_standard_name', 'version']),
      };
  const assets: Record<string, unknown> = {};
  [...files].sort((a, b) => ((first(a, 'title') ?? '') < (first(b, 'title') ?? '') ? -1 : 1)).forEach((f, k) => {
    const sha = (first(f, 'checksum_type') ?? '').toUpperCase() === 'SHA256' ? first(f, 'checksum') : undefined;
    assets[`data${String(k + 1).padStart(4, '0')}`] = {
      href: hrefs.assetHref(f),
      title: first(f, 'title'),
      type: 'application/netcdf',
      roles: ['data'],
      'file:size': num(f, 'size'),
      ...(sha ? { 'file:checksum': `1220${sha}` } : {}), // multihash: sha2-256 (0x12), 32 bytes (0x20)
      ...(first(f, 'tracking_id') ? { [`${collection === 'cmip6' ? 'cmip6' : 'cordex'}:tracking_id`]: first(f, 'tracking_id') } : {}),
    };
  });
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    stac_extensions: collection === 'cmip6' ? STAC_EXTENSIONS : STAC_EXTENSIONS.slice(1),
    id,
    collection,
    geometry,
    bbox,
    properties: {
      title: id,
      ...time,
      ...props,
      latest: dataset['latest'] === true,
      retracted: dataset['retracted'] === true,
      size: num(dataset, 'size'),
      ...cube,
    },
    links: hrefs.itemLinks(id, collection),
    assets,
  };
}

/** A collection over the given items (extent, providers and summaries from them). */
export function stacCollection(
  id: string,
  items: readonly Record<string, unknown>[],
  opts: { title: string; description: string; license: string; links: StacLink[] },
): Record<string, unknown> {
  const props = items.map((i) => i['properties'] as Record<string, unknown>);
  const uniq = (k: string): string[] => [...new Set(props.map((p) => p[k]).filter((v): v is string => typeof v === 'string'))].sort();
  const starts = props.map((p) => p['start_datetime']).filter((v): v is string => typeof v === 'string').sort();
  const ends = props.map((p) => p['end_datetime']).filter((v): v is string => typeof v === 'string').sort();
  const boxes = items.map((i) => i['bbox'] as number[]);
  const bbox = boxes.length
    ? [Math.min(...boxes.map((b) => b[0]!)), Math.min(...boxes.map((b) => b[1]!)), Math.max(...boxes.map((b) => b[2]!)), Math.max(...boxes.map((b) => b[3]!))]
    : [-180, -90, 180, 90];
  const p = id === 'cmip6' ? 'cmip6' : 'cordex';
  const keys = id === 'cmip6' ? ['institution_id', 'source_id', 'experiment_id', 'table_id', 'variable_id', 'frequency'] : ['domain', 'institute', 'driving_model', 'experiment', 'rcm_name', 'time_frequency', 'variable'];
  return {
    type: 'Collection',
    stac_version: '1.0.0',
    stac_extensions: id === 'cmip6' ? STAC_EXTENSIONS : STAC_EXTENSIONS.slice(1),
    id,
    title: opts.title,
    description: opts.description,
    license: opts.license,
    providers: uniq(`${p}:${id === 'cmip6' ? 'institution_id' : 'institute'}`).map((name) => ({ name, roles: ['producer'] })),
    extent: { spatial: { bbox: [bbox] }, temporal: { interval: [[starts[0] ?? null, ends[ends.length - 1] ?? null]] } },
    summaries: Object.fromEntries(keys.map((k) => [`${p}:${k}`, uniq(`${p}:${k}`)])),
    links: opts.links,
  };
}
