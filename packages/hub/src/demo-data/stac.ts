/**
 * STAC form of the CMIP6 part (§2 "STAC for climate data", esgf-compat.md §3):
 * `stac/collection-cmip6.json` and one item per data set version in `stac/items/`, with the
 * CMIP6 extension fields, one asset per file and datacube dimensions.
 */
import type { DatasetRecord } from './data.js';
import { GEN_VERSION, type Cmip6Dataset } from './datasets.js';
import { datasetPid, memberId, versionDateIso } from './drs.js';
import { cmip6License, furtherInfoUrl } from './metadata.js';

const STAC_EXTENSIONS = [
  'https://stac-extensions.github.io/cmip6/v1.0.0/schema.json',
  'https://stac-extensions.github.io/datacube/v2.2.0/schema.json',
  'https://stac-extensions.github.io/file/v2.1.0/schema.json',
];

const GLOBAL_BBOX = [-180, -90, 180, 90] as const;
const GLOBAL_POLYGON = {
  type: 'Polygon',
  coordinates: [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
};

/** Relative path of an item file below the output root. */
export function stacItemPath(instanceId: string): string {
  return `stac/items/${instanceId}.json`;
}

function span(axis: { values: Float64Array; bounds: Float64Array }): { extent: [number, number]; step: number | null } {
  const b = axis.bounds;
  const v = axis.values;
  const step = v.length > 1 ? v[1]! - v[0]! : null;
  const regular = step !== null && v.every((x, k) => k === 0 || Math.abs(x - v[k - 1]! - step) < 1e-9);
  return { extent: [b[0]!, b[b.length - 1]!], step: regular ? step : null };
}

/** The STAC item of one CMIP6 data set version. */
export function stacItem(rec: DatasetRecord): Record<string, unknown> {
  const ds = rec.ds as Cmip6Dataset;
  const m = ds.model;
  const v = ds.variable;
  const first = rec.files[0]!.first;
  const last = rec.files[rec.files.length - 1]!.last;
  const time = first && last ? { start_datetime: first.lowerIso, end_datetime: last.upperIso, datetime: null } : { datetime: versionDateIso(ds.version) };
  const grid = rec.grid;
  const dims: Record<string, unknown> = {};
  if (first && last) dims['time'] = { type: 'temporal', extent: [first.lowerIso, last.upperIso] };
  if (grid.kind === 'lonlat') {
    const lat = span(grid.lat);
    const lon = span(grid.lon);
    dims['lat'] = { type: 'spatial', axis: 'y', extent: lat.extent, ...(lat.step !== null ? { step: lat.step } : {}), reference_system: 4326 };
    dims['lon'] = { type: 'spatial', axis: 'x', extent: lon.extent, ...(lon.step !== null ? { step: lon.step } : {}), reference_system: 4326 };
  }
  if (v.height) dims['height'] = { type: 'spatial', axis: 'z', values: [2.0], unit: 'm' };
  const assets: Record<string, unknown> = {};
  rec.files.forEach((f, k) => {
    assets[`data${String(k + 1).padStart(4, '0')}`] = {
      href: `../../${f.plan.path}`,
      title: f.plan.name,
      type: 'application/netcdf',
      roles: ['data'],
      'file:size': f.written.size,
      'file:checksum': `1220${f.written.sha256}`, // multihash: sha2-256 (0x12), 32 bytes (0x20)
      'cmip6:tracking_id': f.tracking_id,
    };
  });
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    stac_extensions: STAC_EXTENSIONS,
    id: rec.instance_id,
    collection: 'cmip6',
    geometry: GLOBAL_POLYGON,
    bbox: [...GLOBAL_BBOX],
    properties: {
      title: rec.instance_id,
      ...time,
      project: 'CMIP6',
      'cmip6:activity_id': [ds.activity_id],
      'cmip6:institution_id': m.institution_id,
      'cmip6:source_id': m.source_id,
      'cmip6:experiment_id': ds.experiment_id,
      'cmip6:sub_experiment_id': ds.sub_experiment_id,
      'cmip6:member_id': memberId(ds),
      'cmip6:variant_label': ds.variant_label,
      'cmip6:table_id': v.table_id,
      'cmip6:variable_id': v.variable_id,
      'cmip6:grid_label': m.grid_label,
      'cmip6:frequency': v.frequency,
      'cmip6:realm': v.realm.split(' '),
      'cmip6:nominal_resolution': m.nominal_resolution,
      'cmip6:source_type': m.source_type.split(' '),
      'cmip6:version': ds.version,
      'cmip6:further_info_url': furtherInfoUrl(ds),
      'cmip6:citation_url': `https://citation.eucp-syn.test/CMIP6/${rec.instance_id}.json`,
      'cmip6:pid': datasetPid(ds),
      'cmip6:license': cmip6License(m.institution_id),
      'cmip6:data_specs_version': '01.00.31',
      'cmip6:variable_units': v.units,
      'cmip6:variable_long_name': v.long_name,
      'cmip6:variable_cf_standard_name': v.standard_name,
      latest: ds.latest,
      retracted: ds.retracted,
      size: rec.files.reduce((n, f) => n + f.written.size, 0),
      'cube:dimensions': dims,
      'cube:variables': {
        [v.variable_id]: { dimensions: [...(first ? ['time'] : []), 'lat', 'lon'], type: 'data', unit: v.units, description: v.long_name },
      },
    },
    links: [
      { rel: 'root', href: '../collection-cmip6.json', type: 'application/json' },
      { rel: 'parent', href: '../collection-cmip6.json', type: 'application/json' },
      { rel: 'collection', href: '../collection-cmip6.json', type: 'application/json' },
    ],
    assets,
  };
}

/** The CMIP6 collection, linking every item. */
export function stacCollection(records: readonly DatasetRecord[]): Record<string, unknown> {
  const cmip6 = records.filter((r) => r.ds.project === 'CMIP6');
  const starts = cmip6.flatMap((r) => (r.files[0]!.first ? [r.files[0]!.first.lowerIso] : [])).sort();
  const ends = cmip6.flatMap((r) => (r.files[r.files.length - 1]!.last ? [r.files[r.files.length - 1]!.last!.upperIso] : [])).sort();
  const uniq = (f: (ds: Cmip6Dataset) => string): string[] => [...new Set(cmip6.map((r) => f(r.ds as Cmip6Dataset)))].sort();
  return {
    type: 'Collection',
    stac_version: '1.0.0',
    stac_extensions: STAC_EXTENSIONS,
    id: 'cmip6',
    title: 'EUCP-SYN CMIP6 (synthetic test data)',
    description: `Synthetic CMIP6-shaped test data generated by eucp-syn ${GEN_VERSION}; not model output.`,
    license: 'CC-BY-4.0',
    providers: uniq((d) => d.model.institution_id).map((name) => ({ name, roles: ['producer'] })),
    extent: { spatial: { bbox: [[...GLOBAL_BBOX]] }, temporal: { interval: [[starts[0] ?? null, ends[ends.length - 1] ?? null]] } },
    summaries: {
      'cmip6:institution_id': uniq((d) => d.model.institution_id),
      'cmip6:source_id': uniq((d) => d.model.source_id),
      'cmip6:experiment_id': uniq((d) => d.experiment_id),
      'cmip6:table_id': uniq((d) => d.variable.table_id),
      'cmip6:variable_id': uniq((d) => d.variable.variable_id),
      'cmip6:frequency': uniq((d) => d.variable.frequency),
    },
    links: [
      { rel: 'root', href: './collection-cmip6.json', type: 'application/json' },
      ...cmip6.map((r) => ({ rel: 'item', href: `./items/${r.instance_id}.json`, type: 'application/geo+json', title: r.instance_id })),
    ],
  };
}
