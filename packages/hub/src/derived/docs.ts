/**
 * ESGF search documents of published derived data sets (project `derived`), and the doc
 * source the catalog's index is built from: the scanned catalog's docs followed by the
 * derived ones. Who may see a derived doc is decided by the visibility filter (rule.ts),
 * never by the docs themselves.
 */
import type { EsgDoc, EsgfDocSource } from '../catalog/esgf-index.js';
import type { DerivedFacts, DerivedFile } from './files.js';
import type { DerivedInput, DerivedLicence } from './inputs.js';
import { instanceIdOf, masterIdOf, type Audience } from './rule.js';

/** The data node name of derived docs (the `|<node>` suffix of their ids). */
export const DERIVED_DATA_NODE = 'derived.local';

/** Where recipients find a derived data set in their sandbox. */
export const sharedPathOf = (owner: string, name: string): string => `/shared/${owner}/${name}`;

/** One version as the service holds it. */
export interface DerivedVersion {
  version: string;
  files: DerivedFile[];
  facts: DerivedFacts;
  inputs: DerivedInput[];
  licences: DerivedLicence[];
  createdAt: number;
}

/** One published derived data set with all its versions (oldest first). */
export interface DerivedRecord {
  id: number;
  ownerId: number;
  owner: string;
  name: string;
  area: 'derived' | 'home';
  relPath: string;
  title: string;
  description: string;
  /** The owner's own licence (also first in each version's `licences`). */
  licence: { id: string; text: string } | null;
  audience: Audience;
  shareId: number | null;
  createdAt: number;
  updatedAt: number;
  versions: DerivedVersion[];
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const present = <T>(xs: Array<T | undefined>): T[] => xs.filter((x): x is T => x !== undefined);

/** The Dataset doc and File docs of one version. */
export function docsOf(r: DerivedRecord, v: DerivedVersion, latest: boolean): { dataset: EsgDoc; files: EsgDoc[] } {
  const instanceId = instanceIdOf(r.owner, r.name, v.version);
  const datasetId = `${instanceId}|${DERIVED_DATA_NODE}`;
  const vars = v.facts.variables;
  const common = {
    project: ['derived'], owner: [r.owner], variable: vars.map((x) => x.name), variable_id: vars.map((x) => x.name),
    ...(vars.some((x) => x.long_name) && { variable_long_name: present(vars.map((x) => x.long_name)) }),
    ...(vars.some((x) => x.units) && { variable_units: [...new Set(present(vars.map((x) => x.units)))] }),
    ...(vars.some((x) => x.standard_name) && { cf_standard_name: present(vars.map((x) => x.standard_name)) }),
    data_node: DERIVED_DATA_NODE, index_node: DERIVED_DATA_NODE, replica: false, retracted: false,
  };
  const time = v.facts.time ? { datetime_start: v.facts.time.start, datetime_stop: v.facts.time.stop } : {};
  const e = v.facts.extent;
  const dataset: EsgDoc = {
    id: datasetId, instance_id: instanceId, master_id: masterIdOf(r.owner, r.name), title: r.title, description: r.description,
    type: 'Dataset', version: v.version, latest, ...common, ...time,
    ...(e && { north_degrees: e.north, south_degrees: e.south, east_degrees: e.east, west_degrees: e.west }),
    number_of_files: v.files.length, number_of_aggregations: 0, size: v.facts.size, access: ['Shared'],
    derived: true, derived_inputs: v.inputs.map((i) => i.instance_id),
    derived_licences: v.licences.map((l) => ({ id: l.id, sha256: l.sha256, source: l.source, ...(l.inputs && { inputs: l.inputs }), ...(l.group && { group: l.group }) })),
    sandbox_path: sharedPathOf(r.owner, r.name), _timestamp: iso(v.createdAt),
  };
  const files = v.files.map((f): EsgDoc => ({
    id: `${instanceId}.${f.rel}|${DERIVED_DATA_NODE}`, instance_id: `${instanceId}.${f.rel}`, master_id: `${masterIdOf(r.owner, r.name)}.${f.rel}`,
    dataset_id: datasetId, title: f.rel, type: 'File', version: v.version, latest, ...common,
    ...(f.netcdf?.time && { datetime_start: f.netcdf.time.start, datetime_stop: f.netcdf.time.stop }),
    ...(f.netcdf && { variable: f.netcdf.variables, variable_id: f.netcdf.variables }),
    size: f.size, checksum: [f.sha256], checksum_type: ['SHA256'], sandbox_path: `${sharedPathOf(r.owner, r.name)}/${f.rel}`, timestamp: iso(v.createdAt),
  }));
  return { dataset, files };
}

/** Docs of every version of every record, in publication order. */
export function allDocs(records: Iterable<DerivedRecord>): { datasets: EsgDoc[]; files: EsgDoc[] } {
  const datasets: EsgDoc[] = [];
  const files: EsgDoc[] = [];
  for (const r of records) {
    r.versions.forEach((v, i) => {
      const d = docsOf(r, v, i === r.versions.length - 1);
      datasets.push(d.dataset);
      files.push(...d.files);
    });
  }
  return { datasets, files };
}

/**
 * The catalog's doc source with derived docs appended: its generation changes whenever
 * either part's does, and `docs()` returns the same arrays until then.
 */
export class CatalogWithDerived implements EsgfDocSource {
  private last: { a: number; b: number; gen: number; docs: { datasets: EsgDoc[]; files: EsgDoc[] } } | null = null;
  private gen = 0;
  constructor(private readonly base: EsgfDocSource, private readonly derived: EsgfDocSource) {}

  generation(): number {
    const a = this.base.generation();
    const b = this.derived.generation();
    if (!this.last || this.last.a !== a || this.last.b !== b) {
      const x = this.base.docs();
      const y = this.derived.docs();
      this.last = { a, b, gen: ++this.gen, docs: { datasets: [...x.datasets, ...y.datasets], files: [...x.files, ...y.files] } };
    }
    return this.last.gen;
  }

  docs(): { datasets: readonly EsgDoc[]; files: readonly EsgDoc[] } {
    this.generation();
    return this.last!.docs;
  }
}
