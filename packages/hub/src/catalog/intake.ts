/**
 * The intake-esm catalog of the hub's data (synthetic-climate-data.md §2, ESM collection
 * spec) built from the ESGF search docs: a CSV with one row per file and the collection
 * JSON that points at it. Columns, CORDEX mapping, aggregation control and row order are
 * those of the EUCP-SYN generator's `catalog/eucp-syn.{json,csv.gz}`, so a notebook written
 * against one works against the other.
 *
 * Rows come from File docs that are not replicas (the cache holds each file once; replica
 * docs only say another node serves it too). Each row's `path` is the file's path below the
 * data root (from its HTTPServer URL `…/thredds/fileServer/<dataroot>/<path>`), with an
 * optional prefix such as `/data/` (where sandboxes see the cache).
 */
import type { EsgDoc } from './esgf-index.js';

/** CSV columns: the §3.7 list, then three CORDEX-only columns (empty for CMIP6 rows). */
export const INTAKE_COLUMNS = [
  'project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'member_id', 'sub_experiment_id', 'table_id',
  'frequency', 'realm', 'variable_id', 'grid_label', 'version', 'time_range', 'path', 'sha256', 'size', 'latest', 'retracted',
  'data_node', 'domain', 'driving_model', 'rcm_version',
] as const;

/** One CSV row. */
export type IntakeRow = Record<(typeof INTAKE_COLUMNS)[number], string>;

/** Options of {@link intakeRows}. */
export interface IntakeOptions {
  /** Put before every `path` (e.g. `/data/`); default none (relative to the data root). */
  readonly pathPrefix?: string;
}

const first = (d: EsgDoc | undefined, k: string): string => {
  const v = d?.[k];
  return v === undefined || v === null ? '' : String(Array.isArray(v) ? (v[0] ?? '') : v);
};
const pyBool = (v: unknown): string => (v === true ? 'True' : 'False');

/** The file's path below the data root, from its HTTPServer URL tuple; null when it has none. */
export function pathFromUrls(file: EsgDoc): string | null {
  const urls = Array.isArray(file['url']) ? (file['url'] as unknown[]) : [];
  for (const u of urls) {
    const [url, , service] = String(u).split('|');
    if (service !== 'HTTPServer' || !url) continue;
    const m = /\/fileServer\/[^/]+\/(.+)$/.exec(url);
    if (m) return decodeURIComponent(m[1]!);
  }
  return null;
}

/** `200501-201412` from `…_200501-201412.nc`; empty for fx files. */
export function timeRangeOf(filename: string): string {
  return /_(\d{4,14}-\d{4,14}(?:-clim)?)\.nc$/.exec(filename)?.[1] ?? '';
}

/** The dataset version of a file: from its dataset doc, else from `dataset_id` (`….vYYYYMMDD|node`). */
function versionOf(file: EsgDoc, dataset: EsgDoc | undefined): string {
  const v = first(dataset, 'version') || (/\.v(\d+)(\|[^|]*)?$/.exec(first(file, 'dataset_id'))?.[1] ?? '');
  return v ? `v${v}` : '';
}

/** The row of one File doc (null for replicas and files without a path). */
export function intakeRowOf(file: EsgDoc, dataset: EsgDoc | undefined, opts: IntakeOptions = {}): IntakeRow | null {
  if (file['replica'] === true) return null;
  const rel = pathFromUrls(file);
  if (rel === null) return null;
  const sha = first(file, 'checksum_type').toUpperCase() === 'SHA256' ? first(file, 'checksum') : '';
  const common = {
    version: versionOf(file, dataset), time_range: timeRangeOf(first(file, 'title')), path: `${opts.pathPrefix ?? ''}${rel}`,
    sha256: sha, size: first(file, 'size'), latest: pyBool(file['latest']), retracted: pyBool(file['retracted']),
    data_node: first(file, 'data_node'), realm: Array.isArray(file['realm']) ? (file['realm'] as unknown[]).join(' ') : first(file, 'realm'),
  };
  if (first(file, 'project') === 'CORDEX') {
    // CORDEX-CMIP5 facets on the CMIP6 columns as in CORDEX-CMIP6 (§1.3): activity DD, source =
    // RCM name, member = ensemble, table = frequency, native (rotated) grid; domain etc. get their own columns.
    return {
      ...common, project: 'CORDEX', activity_id: 'DD', institution_id: first(file, 'institute'), source_id: first(file, 'rcm_name'),
      experiment_id: first(file, 'experiment'), member_id: first(file, 'ensemble'), sub_experiment_id: 'none',
      table_id: first(file, 'time_frequency'), frequency: first(file, 'time_frequency'), variable_id: first(file, 'variable'),
      grid_label: first(file, 'grid_label') || 'gn', domain: first(file, 'domain'), driving_model: first(file, 'driving_model'),
      rcm_version: first(file, 'rcm_version'),
    };
  }
  return {
    ...common, project: first(file, 'project'), activity_id: first(file, 'activity_id'), institution_id: first(file, 'institution_id'),
    source_id: first(file, 'source_id'), experiment_id: first(file, 'experiment_id'), member_id: first(file, 'member_id'),
    sub_experiment_id: first(file, 'sub_experiment_id'), table_id: first(file, 'table_id'), frequency: first(file, 'frequency'),
    variable_id: first(file, 'variable_id'), grid_label: first(file, 'grid_label'), domain: '', driving_model: '', rcm_version: '',
  };
}

/** Rows of the given File docs, sorted by path; `datasetOf(dataset_id)` finds a file's dataset doc. */
export function intakeRows(files: Iterable<EsgDoc>, datasetOf: (datasetId: string) => EsgDoc | undefined, opts: IntakeOptions = {}): IntakeRow[] {
  const rows: IntakeRow[] = [];
  for (const f of files) {
    const row = intakeRowOf(f, datasetOf(first(f, 'dataset_id')), opts);
    if (row) rows.push(row);
  }
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (no newline). */
export function intakeCsvLine(row: IntakeRow): string {
  return INTAKE_COLUMNS.map((c) => csvField(row[c])).join(',');
}

/** The catalog CSV: header and rows, `\n`-terminated. */
export function intakeCsv(rows: readonly IntakeRow[]): string {
  return [INTAKE_COLUMNS.join(','), ...rows.map(intakeCsvLine)].join('\n') + '\n';
}

/** The ESM collection JSON (esmcat 0.1.0) whose `catalog_file` (a path or URL, relative to the JSON) is the CSV. */
export function intakeCollection(opts: { id: string; description: string; catalogFile: string }): Record<string, unknown> {
  const attrs = INTAKE_COLUMNS.filter((c) => !['path', 'sha256', 'size', 'latest', 'retracted', 'data_node'].includes(c));
  return {
    esmcat_version: '0.1.0',
    id: opts.id,
    description: opts.description,
    catalog_file: opts.catalogFile,
    attributes: attrs.map((column_name) => ({ column_name, vocabulary: '' })),
    assets: { column_name: 'path', format: 'netcdf' },
    aggregation_control: {
      variable_column_name: 'variable_id',
      // `project` and `version` join the usual CMIP6 keys: the catalog mixes projects and keeps
      // old versions, and join_existing must not concatenate time axes of different versions.
      groupby_attrs: ['project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'table_id', 'grid_label', 'version'],
      aggregations: [
        { type: 'union', attribute_name: 'variable_id' },
        { type: 'join_new', attribute_name: 'member_id', options: { coords: 'minimal', compat: 'override' } },
        { type: 'join_existing', attribute_name: 'time_range', options: { dim: 'time' } },
      ],
    },
  };
}
