/**
 * The intake-esm catalog (§2, §3.7): `catalog/eucp-syn.json` (ESM collection spec) and its
 * gzip-compressed CSV `catalog/eucp-syn.csv.gz`, one row per data file.
 */
import { gzipSync } from 'node:zlib';
import type { DatasetRecord } from './data.js';
import { GEN_VERSION } from './datasets.js';
import { memberId } from './drs.js';

/** CSV columns: the §3.7 list, then three CORDEX-only columns (empty for CMIP6 rows). */
export const CATALOG_COLUMNS = [
  'project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'member_id', 'sub_experiment_id', 'table_id',
  'frequency', 'realm', 'variable_id', 'grid_label', 'version', 'time_range', 'path', 'sha256', 'size', 'latest', 'retracted',
  'data_node', 'domain', 'driving_model', 'rcm_version',
] as const;

type Row = Record<(typeof CATALOG_COLUMNS)[number], string>;

function rowsOf(rec: DatasetRecord): Row[] {
  const ds = rec.ds;
  return rec.files.map((f) => {
    const common = {
      time_range: f.plan.timeRange ?? '',
      path: f.plan.path,
      sha256: f.written.sha256,
      size: String(f.written.size),
      version: `v${ds.version}`,
      variable_id: ds.variable.variable_id,
      realm: ds.variable.realm,
    };
    if (ds.project === 'CORDEX') {
      // CORDEX-CMIP5 facets mapped onto the CMIP6 columns as in CORDEX-CMIP6 (§1.3): activity DD,
      // source = RCM name, member = ensemble, table = frequency. Domain etc. get their own columns.
      return {
        ...common, project: 'CORDEX', activity_id: 'DD', institution_id: ds.institute, source_id: ds.rcm_name,
        experiment_id: ds.experiment, member_id: ds.ensemble, sub_experiment_id: 'none', table_id: ds.time_frequency,
        frequency: ds.time_frequency, grid_label: 'gn', latest: 'True', retracted: 'False', data_node: ds.data_node,
        domain: ds.domain, driving_model: ds.driving_model, rcm_version: ds.rcm_version,
      };
    }
    return {
      ...common, project: 'CMIP6', activity_id: ds.activity_id, institution_id: ds.model.institution_id,
      source_id: ds.model.source_id, experiment_id: ds.experiment_id, member_id: memberId(ds), sub_experiment_id: ds.sub_experiment_id,
      table_id: ds.variable.table_id, frequency: ds.variable.frequency, grid_label: ds.model.grid_label,
      latest: ds.latest ? 'True' : 'False', retracted: ds.retracted ? 'True' : 'False',
      data_node: ds.model.data_node, domain: '', driving_model: '', rcm_version: '',
    };
  });
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The catalog CSV text (header + rows sorted by path). */
export function catalogCsv(records: readonly DatasetRecord[]): string {
  const rows = records.flatMap(rowsOf).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = [CATALOG_COLUMNS.join(',')];
  for (const r of rows) lines.push(CATALOG_COLUMNS.map((c) => csvField(r[c])).join(','));
  return lines.join('\n') + '\n';
}

/**
 * Gzip bytes that do not depend on the host: mtime stays 0 (Node never sets it) and the OS byte
 * is forced to 255 ("unknown"), which zlib would otherwise set per platform.
 */
export function deterministicGzip(text: string): Buffer {
  const gz = gzipSync(Buffer.from(text, 'utf8'), { level: 9 });
  gz[9] = 0xff;
  return gz;
}

/** The ESM collection JSON that points at `eucp-syn.csv.gz` beside it. */
export function catalogJson(profile: string): Record<string, unknown> {
  const attrs = ['project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'member_id', 'sub_experiment_id', 'table_id', 'frequency', 'realm', 'variable_id', 'grid_label', 'version', 'time_range', 'domain', 'driving_model', 'rcm_version'];
  return {
    esmcat_version: '0.1.0',
    id: 'eucp-syn',
    description:
      `EUCP-SYN synthetic CMIP6 and CORDEX test data (eucp-syn ${GEN_VERSION}, profile ${profile}); NOT model output. ` +
      'The path column is relative to the data root (the directory holding CMIP6/ and cordex/). ' +
      'The catalog lists superseded and retracted versions too: filter latest == True to get the current data.',
    catalog_file: 'eucp-syn.csv.gz',
    attributes: attrs.map((column_name) => ({ column_name, vocabulary: '' })),
    assets: { column_name: 'path', format: 'netcdf' },
    aggregation_control: {
      variable_column_name: 'variable_id',
      // `project` and `version` are added to the usual CMIP6 keys because this catalog mixes
      // projects and keeps old versions; without them join_existing would concatenate the time
      // axes of superseded and current versions.
      groupby_attrs: ['project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'table_id', 'grid_label', 'version'],
      aggregations: [
        { type: 'union', attribute_name: 'variable_id' },
        { type: 'join_new', attribute_name: 'member_id', options: { coords: 'minimal', compat: 'override' } },
        { type: 'join_existing', attribute_name: 'time_range', options: { dim: 'time' } },
      ],
    },
  };
}
