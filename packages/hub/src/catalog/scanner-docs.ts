/**
 * ESGF Solr-style search documents (esgf-compat.md §2) built from scanned files: one Dataset
 * doc per dataset version and data node, one File doc per file and data node, in the same
 * fields and forms the EUCP-SYN generator writes into `esgf/*.jsonl`.
 *
 * Publication facts a file cannot carry (data and index node names, replica nodes, PIDs,
 * citation URLs) come from {@link PublicationSettings}. `_timestamp`/`timestamp` are the
 * version date (DRS `vYYYYMMDD`), the publication date by convention, so the docs are
 * deterministic.
 */
import { createHash } from 'node:crypto';
import {
  CMIP6_DATASET_ID_TEMPLATE,
  CMIP6_DIRECTORY_TEMPLATE,
  CORDEX_DATASET_ID_TEMPLATE,
  CORDEX_DIRECTORY_TEMPLATE,
  type Drs,
} from './drs.js';
import type { FileFacts } from './scanner-facts.js';

/** A search document: facet fields are arrays, the rest scalars. */
export type EsgfDoc = Record<string, unknown>;

/** Where and how the scanned data is published. */
export interface PublicationSettings {
  /** Host name of the data node serving the scanned roots (the `id` suffix `|<node>`). */
  dataNode: string;
  indexNode: string;
  /** Datasets (instance_id regex) also published as replicas by other nodes: extra docs with `replica=true`. */
  replicas: readonly { pattern: string; dataNode: string }[];
  /** CMIP6 `citation_url`; `{instance_id}` is replaced. Empty = no citation_url/xlink. */
  citationUrlTemplate: string;
  /** Dataset PIDs are `hdl:<pidPrefix>/<UUIDv5(UUIDv5(URL, pidNamespaceUrl), instance_id)>`; empty prefix = no PIDs. */
  pidPrefix: string;
  pidNamespaceUrl: string;
  /** CMIP6 `model_cohort` (a CV property, not in files). */
  modelCohort: string;
  /** CORDEX `rcm_model` → `rcm_name` overrides (ESGF `rcm_name_map`). */
  rcmNameMap: Readonly<Record<string, string>>;
}

/** Publication settings matching the EUCP-SYN demo data's `esgf/*.jsonl` (synthetic-climate-data.md §3.1). */
export const EUCP_SYN_PUBLICATION: PublicationSettings = {
  dataNode: 'data1.eucp-syn.test',
  indexNode: 'index.eucp-syn.test',
  replicas: [{ pattern: '^CMIP6\\.[^.]+\\.MOCKIT\\.', dataNode: 'data2.eucp-syn.test' }],
  citationUrlTemplate: 'https://citation.eucp-syn.test/CMIP6/{instance_id}.json',
  pidPrefix: '21.14100',
  pidNamespaceUrl: 'https://eucp-syn.test/',
  modelCohort: 'Registered',
  rcmNameMap: {},
};

/** One scanned file with its parsed path. */
export interface ScannedFile {
  readonly drs: Drs;
  readonly facts: FileFacts;
  /** Path relative to its root (`/`-separated): the DRS path of the URLs. */
  readonly rel: string;
  /** The node serving this root, and whether the root holds replicas. */
  readonly dataNode: string;
  readonly replica: boolean;
}

const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/** RFC 4122 name-based UUID (version 5, SHA-1). */
export function uuidV5(namespace: string, name: string): string {
  const h = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const versionIso = (v: string): string => `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}T00:00:00Z`;
const list = (v: string | undefined): string[] | undefined => (v === undefined ? undefined : [v]);
const words = (v: string | undefined): string[] | undefined => (v === undefined ? undefined : v.split(/\s+/).filter(Boolean));

/** Drops undefined values so absent attributes leave no field (as ESGF does). */
function compact(doc: Record<string, unknown>): EsgfDoc {
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined));
}

function facetsOf(f: ScannedFile, pub: PublicationSettings): EsgfDoc {
  const { drs, facts } = f;
  const a = facts.attrs;
  const v = facts.variable ?? {};
  if (drs.project === 'CMIP6') {
    return {
      project: ['CMIP6'], mip_era: [drs.mip_era], activity_id: words(a['activity_id']) ?? [drs.activity_drs], activity_drs: [drs.activity_drs],
      institution_id: [drs.institution_id], source_id: [drs.source_id], source_type: words(a['source_type']),
      experiment_id: [drs.experiment_id], experiment_title: list(a['experiment']),
      sub_experiment_id: [a['sub_experiment_id'] ?? drs.sub_experiment_id], member_id: [drs.member_id],
      variant_label: [a['variant_label'] ?? drs.variant_label], table_id: [drs.table_id], frequency: list(a['frequency']), realm: words(a['realm']),
      variable: [drs.variable_id], variable_id: [drs.variable_id], variable_long_name: list(v.long_name), variable_units: list(v.units),
      cf_standard_name: list(v.standard_name), grid_label: [drs.grid_label], grid: list(a['grid']), nominal_resolution: list(a['nominal_resolution']),
      product: list(a['product']), data_specs_version: list(a['data_specs_version']), model_cohort: pub.modelCohort ? [pub.modelCohort] : undefined,
      further_info_url: list(a['further_info_url']),
    };
  }
  return {
    project: ['CORDEX'], product: [drs.product], domain: [drs.domain], institute: [drs.institute], driving_model: [drs.driving_model],
    experiment: [drs.experiment], experiment_title: list(a['experiment']), ensemble: [drs.ensemble], rcm_name: [drs.rcm_name],
    rcm_version: [drs.rcm_version], time_frequency: [drs.time_frequency], variable: [drs.variable], variable_long_name: list(v.long_name),
    variable_units: list(v.units), cf_standard_name: list(v.standard_name),
  };
}

/** HTTP and OPeNDAP access tuples (`url|mime|service`) of a file on a node. */
export function fileUrls(node: string, rel: string): string[] {
  return [
    `https://${node}/thredds/fileServer/esg_dataroot/${rel}|application/netcdf|HTTPServer`,
    `https://${node}/thredds/dodsC/esg_dataroot/${rel}.html|application/opendap-html|OPENDAP`,
  ];
}

/** One dataset version as served by one node: its files (sorted by name). */
export interface DatasetVersion {
  readonly instance_id: string;
  readonly master_id: string;
  readonly version: string;
  readonly dataNode: string;
  readonly replica: boolean;
  readonly files: readonly ScannedFile[];
}

/** Flags of a dataset version: `latest` (highest version of its master not retracted) and `retracted`. */
export function versionFlags(all: readonly { master_id: string; version: string; instance_id: string }[], retracted: ReadonlySet<string>): Map<string, { latest: boolean; retracted: boolean }> {
  const best = new Map<string, string>();
  for (const d of all) {
    if (retracted.has(d.instance_id)) continue;
    const cur = best.get(d.master_id);
    if (cur === undefined || Number(d.version) > Number(cur)) best.set(d.master_id, d.version);
  }
  return new Map(all.map((d) => [d.instance_id, { latest: !retracted.has(d.instance_id) && best.get(d.master_id) === d.version, retracted: retracted.has(d.instance_id) }]));
}

/** Dataset and File docs of one dataset version on one node. */
export function docsOf(ds: DatasetVersion, flags: { latest: boolean; retracted: boolean }, pub: PublicationSettings): { dataset: EsgfDoc; files: EsgfDoc[] } {
  const first = ds.files[0]!;
  const facets = facetsOf(first, pub);
  const node = ds.dataNode;
  const common = { latest: flags.latest, replica: ds.replica, retracted: flags.retracted, data_node: node, index_node: pub.indexNode };
  const stamp = versionIso(ds.version);
  const cmip6 = first.drs.project === 'CMIP6';
  const citation = cmip6 && pub.citationUrlTemplate ? pub.citationUrlTemplate.replaceAll('{instance_id}', ds.instance_id) : undefined;
  const pid = cmip6 && pub.pidPrefix ? `hdl:${pub.pidPrefix}/${uuidV5(uuidV5(URL_NAMESPACE, pub.pidNamespaceUrl), ds.instance_id)}` : undefined;
  const xlink = [...(citation ? [`${citation}|Citation|citation`] : []), ...(pid ? [`http://hdl.handle.net/${pid}|PID|pid`] : [])];
  const starts = ds.files.map((f) => f.facts.time?.firstIso).filter((x): x is string => x !== undefined).sort();
  const stops = ds.files.map((f) => f.facts.time?.lastIso).filter((x): x is string => x !== undefined).sort();
  const ext = ds.files.map((f) => f.facts.extent).filter((e) => e !== null);
  const dataset = compact({
    id: `${ds.instance_id}|${node}`, instance_id: ds.instance_id, master_id: ds.master_id, title: ds.master_id, type: 'Dataset', version: ds.version,
    ...common, ...facets,
    citation_url: citation ? [citation] : undefined, pid: pid ? [pid] : undefined, xlink: xlink.length ? xlink : undefined,
    datetime_start: starts[0], datetime_stop: stops[stops.length - 1],
    north_degrees: ext.length ? Math.max(...ext.map((e) => e.north)) : undefined,
    south_degrees: ext.length ? Math.min(...ext.map((e) => e.south)) : undefined,
    east_degrees: ext.length ? Math.max(...ext.map((e) => e.east)) : undefined,
    west_degrees: ext.length ? Math.min(...ext.map((e) => e.west)) : undefined,
    number_of_files: ds.files.length, number_of_aggregations: 0, size: ds.files.reduce((n, f) => n + f.facts.size, 0),
    access: ['HTTPServer', 'OPENDAP'],
    url: [`https://${node}/thredds/catalog/esgcet/${ds.instance_id}.xml#${ds.instance_id}|application/xml+thredds|THREDDS`],
    dataset_id_template_: [cmip6 ? CMIP6_DATASET_ID_TEMPLATE : CORDEX_DATASET_ID_TEMPLATE],
    directory_format_template_: [cmip6 ? CMIP6_DIRECTORY_TEMPLATE : CORDEX_DIRECTORY_TEMPLATE],
    _timestamp: stamp,
  });
  const files = ds.files.map((f) => {
    const name = f.drs.fileName;
    return compact({
      id: `${ds.instance_id}.${name}|${node}`, instance_id: `${ds.instance_id}.${name}`, master_id: `${ds.master_id}.${name}`,
      dataset_id: `${ds.instance_id}|${node}`, title: name, type: 'File', version: '1',
      ...common, ...facetsOf(f, pub),
      datetime_start: f.facts.time?.firstIso, datetime_stop: f.facts.time?.lastIso,
      size: f.facts.size, checksum: f.facts.sha256 ? [f.facts.sha256] : undefined, checksum_type: f.facts.sha256 ? ['SHA256'] : undefined,
      tracking_id: list(f.facts.attrs['tracking_id']), url: fileUrls(node, f.rel), timestamp: stamp,
    });
  });
  return { dataset, files };
}

/** The node list of a dataset: where it was found, plus replica nodes from the settings not already present. */
export function replicaNodes(instanceId: string, present: ReadonlySet<string>, pub: PublicationSettings): string[] {
  const out: string[] = [];
  for (const r of pub.replicas) {
    if (!present.has(r.dataNode) && !out.includes(r.dataNode) && new RegExp(r.pattern).test(instanceId)) out.push(r.dataNode);
  }
  return out;
}
