/**
 * What the scanner reads from one file and keeps in its state: selected global attributes,
 * the data variable's CF attributes, variable names, the decoded time range, the horizontal
 * extent, size and SHA-256. Documents are rebuilt from these facts at every scan, so
 * publication settings can change without reading files again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { openNetcdf, type NcAttrValue, type NcFormat, type NcHeader, type NcFileReader, type NcVariable } from './netcdf/index.js';

/** Bump when {@link FileFacts} or its extraction changes: older state entries are then read again. */
export const READER_VERSION = 1;

/** Global attributes kept (as text) for facets, cross-checks and the dataset page. */
export const KEPT_GLOBAL_ATTRIBUTES: readonly string[] = [
  'Conventions', 'activity_id', 'creation_date', 'data_specs_version', 'experiment', 'experiment_id', 'frequency',
  'further_info_url', 'grid', 'grid_label', 'institution', 'institution_id', 'license', 'mip_era', 'nominal_resolution',
  'product', 'realm', 'source', 'source_id', 'source_type', 'sub_experiment', 'sub_experiment_id', 'table_id', 'tracking_id',
  'variable_id', 'variant_label', 'title', 'contact', 'references', 'citation_url',
  'project_id', 'CORDEX_domain', 'institute_id', 'driving_model_id', 'driving_model_ensemble_member', 'driving_experiment',
  'driving_experiment_name', 'model_id', 'rcm_version_id',
];

/** Facts of one readable file (JSON-serialisable; stored in the scanner state). */
export interface FileFacts {
  size: number;
  /** SHA-256 (hex) of the whole file; null when checksums are switched off. */
  sha256: string | null;
  format: NcFormat;
  attrs: Record<string, string>;
  variables: string[];
  /** CF attributes of the data variable named by the path; null if the file lacks it. */
  variable: { long_name?: string; units?: string; standard_name?: string } | null;
  time: { firstIso: string; lastIso: string; calendar: string; units: string; length: number } | null;
  timeProblem?: string;
  /** Horizontal extent in degrees (west/east as in the file: 0…360 or −180…180). */
  extent: { west: number; east: number; south: number; north: number } | null;
}

const text = (v: NcAttrValue | undefined): string | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? v : v.map(String).join(' ');

/** Most cells of a 2-D coordinate read for the extent (8 bytes each); larger grids get no extent. */
const MAX_EXTENT_CELLS = 4_000_000;

const LAT_UNITS = /^degrees?_?n(orth)?$/i;
const LON_UNITS = /^degrees?_?e(ast)?$/i;

function isAxis(v: NcVariable, which: 'lat' | 'lon'): boolean {
  const sn = v.attributes['standard_name'];
  if (sn === (which === 'lat' ? 'latitude' : 'longitude')) return true;
  const u = v.attributes['units'];
  return typeof u === 'string' && (which === 'lat' ? LAT_UNITS : LON_UNITS).test(u.trim());
}

/** The latitude or longitude variable describing the data variable's grid. */
function coordinate(h: NcHeader, data: NcVariable | undefined, which: 'lat' | 'lon'): NcVariable | undefined {
  const axes = h.variables.filter((v) => isAxis(v, which) && v.dims.length >= 1 && v.dims.length <= 2);
  const usedDims = new Set(data?.dims ?? []);
  const named = new Set(String(data?.attributes['coordinates'] ?? '').split(/\s+/));
  return (
    axes.find((v) => v.dims.length === 1 && v.dims[0] === v.name && usedDims.has(v.name)) ??
    axes.find((v) => named.has(v.name)) ??
    axes.find((v) => v.dims.length === 1 && v.dims[0] === v.name) ??
    axes[0]
  );
}

function minMax(values: Float64Array, fill: number | undefined): [number, number] | null {
  let lo = Infinity, hi = -Infinity;
  for (const x of values) {
    if (!Number.isFinite(x) || x === fill || Math.abs(x) >= 1e19) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * Extent of one axis: the cell bounds of a 1-D coordinate when it names them, else its
 * values; for 2-D (curvilinear) coordinates the cell centres, rounded to 1e-4 degrees.
 */
async function axisRange(r: NcFileReader, v: NcVariable): Promise<[number, number] | null> {
  const cells = v.shape.reduce((a, b) => a * b, 1);
  if (cells === 0 || cells > MAX_EXTENT_CELLS) return null;
  const fillAttr = v.attributes['_FillValue'];
  const fill = Array.isArray(fillAttr) && typeof fillAttr[0] === 'number' ? fillAttr[0] : undefined;
  if (v.dims.length === 1) {
    const bounds = typeof v.attributes['bounds'] === 'string' ? r.header.variables.find((b) => b.name === v.attributes['bounds']) : undefined;
    return minMax(await r.readValues(bounds ? bounds.name : v.name), fill);
  }
  const mm = minMax(await r.readValues(v.name), fill);
  const round = (x: number): number => Math.round(x * 1e4) / 1e4;
  return mm ? [round(mm[0]), round(mm[1])] : null;
}

async function extentOf(r: NcFileReader, data: NcVariable | undefined): Promise<FileFacts['extent']> {
  const lat = coordinate(r.header, data, 'lat');
  const lon = coordinate(r.header, data, 'lon');
  if (!lat || !lon) return null;
  const y = await axisRange(r, lat);
  const x = await axisRange(r, lon);
  return x && y ? { west: x[0], east: x[1], south: y[0], north: y[1] } : null;
}

/** SHA-256 (hex) of a file, streamed in 1 MiB chunks. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Reads the facts of one file: header, time range, extent and (unless `checksum` is false)
 * SHA-256. `variable` is the data variable the path names.
 * @throws AppError `DATA_FILE_INVALID` for a file that is not readable NetCDF.
 */
export async function readFileFacts(path: string, size: number, variable: string, checksum = true): Promise<FileFacts> {
  const r = await openNetcdf(path);
  let facts: Omit<FileFacts, 'sha256'>;
  try {
    const h = r.header;
    const attrs: Record<string, string> = {};
    for (const k of KEPT_GLOBAL_ATTRIBUTES) {
      const t = text(h.attributes[k]);
      if (t !== undefined) attrs[k] = t;
    }
    const data = h.variables.find((v) => v.name === variable);
    const va: NonNullable<FileFacts['variable']> = {};
    for (const k of ['long_name', 'units', 'standard_name'] as const) {
      const t = text(data?.attributes[k]);
      if (t !== undefined) va[k] = t;
    }
    facts = {
      size,
      format: h.format,
      attrs,
      variables: h.variables.map((v) => v.name),
      variable: data ? va : null,
      time: h.time ? { firstIso: h.time.firstIso, lastIso: h.time.lastIso, calendar: h.time.calendar, units: h.time.units, length: h.time.length } : null,
      ...(h.timeProblem ? { timeProblem: h.timeProblem } : {}),
      extent: await extentOf(r, data),
    };
  } finally {
    await r.close();
  }
  return { ...facts, sha256: checksum ? await sha256File(path) : null };
}
