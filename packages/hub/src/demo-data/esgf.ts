/**
 * ESGF search documents (esgf-compat.md §2) for every data set and file, replica documents for
 * model C (§3.1), and a small evaluator of the search subset used to compute the search oracles
 * of §3.7 from those documents (never from hand-kept numbers).
 */
import type { DatasetRecord, FileRecord } from './data.js';
import { EXPERIMENT_TITLES, INDEX_NODE, type Cmip6Dataset, type CordexDataset } from './datasets.js';
import {
  CMIP6_DATASET_ID_TEMPLATE,
  CMIP6_DIRECTORY_TEMPLATE,
  CORDEX_DATASET_ID_TEMPLATE,
  CORDEX_DIRECTORY_TEMPLATE,
  datasetPid,
  masterId,
  memberId,
  versionDateIso,
} from './drs.js';
import { gridExtent } from './grids.js';
import { furtherInfoUrl } from './metadata.js';

/** A search document: facet fields are arrays, the rest scalars. */
export type EsgDoc = Record<string, unknown>;

/** Where a data set's files are served: the master node, then replica nodes. */
export function dataNodes(rec: DatasetRecord): { node: string; replica: boolean }[] {
  const ds = rec.ds;
  const nodes = [{ node: ds.project === 'CMIP6' ? ds.model.data_node : ds.data_node, replica: false }];
  if (ds.project === 'CMIP6' && ds.model.replica_node) nodes.push({ node: ds.model.replica_node, replica: true });
  return nodes;
}

function flags(rec: DatasetRecord): { latest: boolean; retracted: boolean } {
  return rec.ds.project === 'CMIP6' ? { latest: rec.ds.latest, retracted: rec.ds.retracted } : { latest: true, retracted: false };
}

function cmip6Facets(ds: Cmip6Dataset, gridText: string): EsgDoc {
  const m = ds.model;
  const v = ds.variable;
  return {
    project: ['CMIP6'], mip_era: ['CMIP6'], activity_id: [ds.activity_id], activity_drs: [ds.activity_id],
    institution_id: [m.institution_id], source_id: [m.source_id], source_type: m.source_type.split(' '),
    experiment_id: [ds.experiment_id], experiment_title: [EXPERIMENT_TITLES[ds.experiment_id]!],
    sub_experiment_id: [ds.sub_experiment_id], member_id: [memberId(ds)], variant_label: [ds.variant_label],
    table_id: [v.table_id], frequency: [v.frequency], realm: v.realm.split(' '),
    variable: [v.variable_id], variable_id: [v.variable_id], variable_long_name: [v.long_name], variable_units: [v.units],
    cf_standard_name: [v.standard_name], grid_label: [m.grid_label], grid: [gridText], nominal_resolution: [m.nominal_resolution],
    product: ['model-output'], data_specs_version: ['01.00.31'], model_cohort: ['Registered'], further_info_url: [furtherInfoUrl(ds)],
  };
}

function cordexFacets(ds: CordexDataset): EsgDoc {
  const v = ds.variable;
  return {
    project: ['CORDEX'], product: [ds.product], domain: [ds.domain], institute: [ds.institute], driving_model: [ds.driving_model],
    experiment: [ds.experiment], experiment_title: [EXPERIMENT_TITLES[ds.experiment]!], ensemble: [ds.ensemble],
    rcm_name: [ds.rcm_name], rcm_version: [ds.rcm_version], time_frequency: [ds.time_frequency],
    variable: [v.variable_id], variable_long_name: [v.long_name], variable_units: [v.units], cf_standard_name: [v.standard_name],
  };
}

function timeFields(first: FileRecord['first'], last: FileRecord['last']): EsgDoc {
  return first && last ? { datetime_start: first.iso, datetime_stop: last.iso } : {};
}

/** HTTP and OPeNDAP access tuples (`url|mime|service`) of a file on a node. */
export function fileUrls(node: string, path: string): string[] {
  return [
    `https://${node}/thredds/fileServer/esg_dataroot/${path}|application/netcdf|HTTPServer`,
    `https://${node}/thredds/dodsC/esg_dataroot/${path}.html|application/opendap-html|OPENDAP`,
  ];
}

/** Dataset and file documents of one data set: one set per node (master first, then replicas). */
export function searchDocs(rec: DatasetRecord): { datasets: EsgDoc[]; files: EsgDoc[] } {
  const ds = rec.ds;
  const master = masterId(ds);
  const facets = ds.project === 'CMIP6' ? cmip6Facets(ds, rec.grid.description) : cordexFacets(ds);
  const ext = gridExtent(rec.grid);
  const { latest, retracted } = flags(rec);
  const firstFile = rec.files[0]!;
  const lastFile = rec.files[rec.files.length - 1]!;
  const stamp = versionDateIso(ds.version);
  const datasets: EsgDoc[] = [];
  const files: EsgDoc[] = [];
  for (const { node, replica } of dataNodes(rec)) {
    const common = { latest, replica, retracted, data_node: node, index_node: INDEX_NODE };
    const pid = datasetPid(ds);
    const cmip6Extra =
      ds.project === 'CMIP6'
        ? {
            citation_url: [`https://citation.eucp-syn.test/CMIP6/${rec.instance_id}.json`],
            pid: [pid],
            xlink: [`https://citation.eucp-syn.test/CMIP6/${rec.instance_id}.json|Citation|citation`, `http://hdl.handle.net/${pid}|PID|pid`],
          }
        : {};
    datasets.push({
      id: `${rec.instance_id}|${node}`,
      instance_id: rec.instance_id,
      master_id: master,
      title: master,
      type: 'Dataset',
      version: ds.version,
      ...common,
      ...facets,
      ...cmip6Extra,
      ...timeFields(firstFile.first, lastFile.last),
      north_degrees: ext.north, south_degrees: ext.south, east_degrees: ext.east, west_degrees: ext.west,
      number_of_files: rec.files.length,
      number_of_aggregations: 0,
      size: rec.files.reduce((n, f) => n + f.written.size, 0),
      access: ['HTTPServer', 'OPENDAP'],
      url: [`https://${node}/thredds/catalog/esgcet/${rec.instance_id}.xml#${rec.instance_id}|application/xml+thredds|THREDDS`],
      dataset_id_template_: [ds.project === 'CMIP6' ? CMIP6_DATASET_ID_TEMPLATE : CORDEX_DATASET_ID_TEMPLATE],
      directory_format_template_: [ds.project === 'CMIP6' ? CMIP6_DIRECTORY_TEMPLATE : CORDEX_DIRECTORY_TEMPLATE],
      _timestamp: stamp,
    });
    for (const f of rec.files) {
      const fileInstance = `${rec.instance_id}.${f.plan.name}`;
      files.push({
        id: `${fileInstance}|${node}`,
        instance_id: fileInstance,
        master_id: `${master}.${f.plan.name}`,
        dataset_id: `${rec.instance_id}|${node}`,
        title: f.plan.name,
        type: 'File',
        version: '1',
        ...common,
        ...facets,
        ...timeFields(f.first, f.last),
        size: f.written.size,
        checksum: [f.written.sha256],
        checksum_type: ['SHA256'],
        tracking_id: [f.tracking_id],
        url: fileUrls(node, f.plan.path),
        timestamp: stamp,
      });
    }
  }
  return { datasets, files };
}

const KEYWORDS = new Set(['type', 'latest', 'replica', 'retracted', 'facets', 'limit', 'offset', 'format', 'fields', 'distrib', 'query']);

function docValues(doc: EsgDoc, field: string): string[] {
  const v = doc[field];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

/**
 * Evaluates the subset of the ESGF search API that the oracles use: `type`, `latest`, `replica`,
 * `retracted`, exact facet matches (repeated or comma-separated values are ORed, `name!=value`
 * negates) and `facets` (flat, lexically sorted value/count arrays, mincount 1).
 */
export function evaluateSearch(
  docs: { datasets: readonly EsgDoc[]; files: readonly EsgDoc[] },
  query: string,
): { numFound: number; facet_fields: Record<string, (string | number)[]> } {
  const params = new URLSearchParams(query);
  const type = params.get('type') ?? 'Dataset';
  let hits = (type === 'File' ? docs.files : docs.datasets).slice();
  for (const flag of ['latest', 'replica', 'retracted'] as const) {
    const want = params.get(flag);
    if (want !== null) hits = hits.filter((d) => String(d[flag]) === want);
  }
  const names = new Set([...params.keys()].filter((k) => !KEYWORDS.has(k)));
  for (const name of names) {
    const negated = name.endsWith('!');
    const field = negated ? name.slice(0, -1) : name;
    const wanted = new Set(params.getAll(name).flatMap((v) => v.split(',')));
    hits = hits.filter((d) => docValues(d, field).some((v) => wanted.has(v)) !== negated);
  }
  const facet_fields: Record<string, (string | number)[]> = {};
  for (const f of (params.get('facets') ?? '').split(',').filter(Boolean)) {
    const counts = new Map<string, number>();
    for (const d of hits) for (const v of new Set(docValues(d, f))) counts.set(v, (counts.get(v) ?? 0) + 1);
    facet_fields[f] = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).flatMap((k) => [k, counts.get(k)!]);
  }
  return { numFound: hits.length, facet_fields };
}

/** The search oracle queries of §3.7 (plus CORDEX and flag checks). */
export const ORACLE_QUERIES: readonly string[] = [
  'type=Dataset&project=CMIP6&latest=true&replica=false',
  'type=Dataset&project=CMIP6&replica=false',
  'type=Dataset&project=CMIP6&latest=true',
  'type=Dataset&project=CMIP6',
  'type=Dataset&project=CMIP6&latest=true&replica=false&facets=variable_id',
  'type=Dataset&project=CMIP6&latest=true&replica=false&facets=experiment_id',
  'type=Dataset&project=CMIP6&latest=false',
  'type=Dataset&project=CMIP6&retracted=true',
  'type=Dataset&project=CMIP6&replica=true',
  'type=Dataset&project=CORDEX',
  new URLSearchParams({ type: 'File', dataset_id: 'CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601|data1.eucp-syn.test' }).toString(),
];
