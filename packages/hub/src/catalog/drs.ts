/**
 * Data Reference Syntax: CMIP6 and CORDEX-CMIP5 directory layouts and file names
 * (synthetic-climate-data.md §1.1, §1.2), parsed into ESGF facets, and the cross-check of
 * those facets with a file's global attributes.
 *
 * The directory is authoritative (as for the ESGF publisher): the file name and the global
 * attributes are checked against it, and disagreements are reported, not fatal.
 */

/** ESGF dataset id and directory templates (written into Dataset docs as `*_template_`). */
// The DRS templates are the generator's own (one definition for writing and reading the tree).
export {
  CMIP6_DATASET_ID_TEMPLATE, CMIP6_DIRECTORY_TEMPLATE, CORDEX_DATASET_ID_TEMPLATE, CORDEX_DIRECTORY_TEMPLATE,
} from '../demo-data/drs.js';

interface DrsCommon {
  /** Path of the dataset version directory relative to the root (`/`-separated). */
  readonly dir: string;
  readonly fileName: string;
  /** `YYYYMMDD` (the directory's `v<version>` without the `v`). */
  readonly version: string;
  readonly master_id: string;
  /** `<master_id>.v<version>`. */
  readonly instance_id: string;
  /** `time_range` from the file name, null if it has none (fx) or cannot be parsed. */
  readonly time_range: string | null;
  /** The data variable of the file. */
  readonly variable: string;
  /** File name disagreements with the directory (each a sentence). */
  readonly nameMismatches: readonly string[];
}

/** A CMIP6 path: `<mip_era>/<activity>/<institution>/<source>/<experiment>/<member>/<table>/<variable>/<grid>/<version>/<file>`. */
export interface Cmip6Drs extends DrsCommon {
  readonly project: 'CMIP6';
  readonly mip_era: string;
  readonly activity_drs: string;
  readonly institution_id: string;
  readonly source_id: string;
  readonly experiment_id: string;
  readonly member_id: string;
  /** From `member_id`: `none` or e.g. `s2010`. */
  readonly sub_experiment_id: string;
  readonly variant_label: string;
  readonly table_id: string;
  readonly variable_id: string;
  readonly grid_label: string;
}

/** A CORDEX-CMIP5 path: `cordex/<product>/<domain>/<institute>/<driving_model>/<experiment>/<ensemble>/<rcm_model>/<rcm_version>/<frequency>/<variable>/<version>/<file>`. */
export interface CordexDrs extends DrsCommon {
  readonly project: 'CORDEX';
  readonly product: string;
  readonly domain: string;
  readonly institute: string;
  readonly driving_model: string;
  readonly experiment: string;
  readonly ensemble: string;
  /** Directory form, institute-prefixed (e.g. `SYNRCM-RCM1`). */
  readonly rcm_model: string;
  /** Facet / dataset id form (e.g. `RCM1`). */
  readonly rcm_name: string;
  readonly rcm_version: string;
  readonly time_frequency: string;
}

export type Drs = Cmip6Drs | CordexDrs;

const SEGMENT = /^[A-Za-z0-9-]+$/;
const VERSION = /^v(\d{8})$/;
const MEMBER = /^(?:([A-Za-z0-9]+)-)?(r\d+i\d+p\d+f\d+)$/;
const TIME_RANGE = /^\d{4,14}-\d{4,14}(-clim)?$/;

/**
 * CORDEX `rcm_name` from the directory's `rcm_model`: a configured mapping (ESGF's
 * `rcm_name_map`), else the model without its `<institute>-` prefix.
 */
export function rcmName(rcmModel: string, institute: string, map: Readonly<Record<string, string>> = {}): string {
  return map[rcmModel] ?? (rcmModel.startsWith(`${institute}-`) ? rcmModel.slice(institute.length + 1) : rcmModel);
}

function fileParts(fileName: string, expected: readonly (readonly [string, string])[], nameMismatches: string[]): string | null {
  if (!fileName.endsWith('.nc')) {
    nameMismatches.push(`file name ${fileName} does not end in .nc`);
    return null;
  }
  const parts = fileName.slice(0, -3).split('_');
  if (parts.length !== expected.length && parts.length !== expected.length + 1) {
    nameMismatches.push(`file name ${fileName} has ${parts.length} parts, expected ${expected.length} or ${expected.length + 1}`);
    return null;
  }
  expected.forEach(([facet, value], k) => {
    if (parts[k] !== value) nameMismatches.push(`file name says ${facet}=${parts[k]}, the directory ${value}`);
  });
  const tr = parts[expected.length];
  if (tr === undefined) return null;
  if (!TIME_RANGE.test(tr)) {
    nameMismatches.push(`file name time range ${tr} is not <start>-<end>`);
    return null;
  }
  return tr;
}

/**
 * Parses a path relative to a scan root. The DRS part is found from the end, so a root may
 * hold it below other directories (e.g. `esg_dataroot/CMIP6/…`).
 * @returns the facets, or `{ error }` when the path is in neither layout.
 */
export function parseDrsPath(relPath: string, rcmNameMap: Readonly<Record<string, string>> = {}): Drs | { error: string } {
  const seg = relPath.split('/');
  const fileName = seg[seg.length - 1]!;
  const n = seg.length;
  const nameMismatches: string[] = [];
  if (n >= 11 && seg[n - 11] === 'CMIP6') {
    const [mip_era, activity_drs, institution_id, source_id, experiment_id, member_id, table_id, variable_id, grid_label, v] = seg.slice(n - 11, n - 1) as string[] as [string, string, string, string, string, string, string, string, string, string];
    const bad = [activity_drs, institution_id, source_id, experiment_id, member_id, table_id, variable_id, grid_label].find((s) => !SEGMENT.test(s));
    if (bad !== undefined) return { error: `directory segment ${JSON.stringify(bad)} has characters outside a-zA-Z0-9-` };
    const version = VERSION.exec(v)?.[1];
    if (!version) return { error: `version directory ${v} is not v<YYYYMMDD>` };
    const member = MEMBER.exec(member_id);
    if (!member) return { error: `member_id ${member_id} is not [<sub_experiment>-]r<k>i<l>p<m>f<n>` };
    const master_id = [mip_era, activity_drs, institution_id, source_id, experiment_id, member_id, table_id, variable_id, grid_label].join('.');
    const time_range = fileParts(
      fileName,
      [['variable_id', variable_id], ['table_id', table_id], ['source_id', source_id], ['experiment_id', experiment_id], ['member_id', member_id], ['grid_label', grid_label]],
      nameMismatches,
    );
    return {
      project: 'CMIP6', dir: seg.slice(0, n - 1).join('/'), fileName, version, master_id, instance_id: `${master_id}.v${version}`,
      time_range, variable: variable_id, nameMismatches, mip_era, activity_drs, institution_id, source_id, experiment_id, member_id,
      sub_experiment_id: member[1] ?? 'none', variant_label: member[2]!, table_id, variable_id, grid_label,
    };
  }
  if (n >= 13 && seg[n - 13]!.toLowerCase() === 'cordex') {
    const [product, domain, institute, driving_model, experiment, ensemble, rcm_model, rcm_version, time_frequency, variable, v] = seg.slice(n - 12, n - 1) as [string, string, string, string, string, string, string, string, string, string, string];
    const bad = [product, domain, institute, driving_model, experiment, ensemble, rcm_model, rcm_version, time_frequency, variable].find((s) => !SEGMENT.test(s));
    if (bad !== undefined) return { error: `directory segment ${JSON.stringify(bad)} has characters outside a-zA-Z0-9-` };
    const version = VERSION.exec(v)?.[1];
    if (!version) return { error: `version directory ${v} is not v<YYYYMMDD>` };
    const rcm_name = rcmName(rcm_model, institute, rcmNameMap);
    const master_id = ['cordex', product, domain, institute, driving_model, experiment, ensemble, rcm_name, rcm_version, time_frequency, variable].join('.');
    const time_range = fileParts(
      fileName,
      [['variable', variable], ['domain', domain], ['driving_model', driving_model], ['experiment', experiment], ['ensemble', ensemble], ['rcm_model', rcm_model], ['rcm_version', rcm_version], ['time_frequency', time_frequency]],
      nameMismatches,
    );
    return {
      project: 'CORDEX', dir: seg.slice(0, n - 1).join('/'), fileName, version, master_id, instance_id: `${master_id}.v${version}`,
      time_range, variable, nameMismatches, product, domain, institute, driving_model, experiment, ensemble, rcm_model, rcm_name,
      rcm_version, time_frequency,
    };
  }
  return { error: 'not in a CMIP6 (CMIP6/<activity>/…/<version>/) or CORDEX (cordex/<product>/…/<version>/) directory layout' };
}

/** Global attributes as text (numbers joined by spaces), the form the cross-check and the docs use. */
export type TextAttrs = Readonly<Record<string, string>>;

/**
 * Disagreements between a path's facets and the file: global attributes (CMIP6: `mip_era`,
 * `activity_id`, `institution_id`, …; CORDEX: `CORDEX_domain`, `institute_id`, `model_id`, …),
 * the data variable's presence, and the file name's time range vs the decoded time axis.
 * An attribute that is absent is reported too (CMIP6 requires them all).
 */
export function crossCheck(drs: Drs, attrs: TextAttrs, variables: readonly string[], time: { firstIso: string; lastIso: string } | null): string[] {
  const out = [...drs.nameMismatches];
  const expect = (attr: string, want: string, ok: (have: string) => boolean = (h) => h === want): void => {
    const have = attrs[attr];
    if (have === undefined) out.push(`global attribute ${attr} is missing (the path says ${want})`);
    else if (!ok(have)) out.push(`global attribute ${attr}=${JSON.stringify(have)}, the path says ${want}`);
  };
  if (drs.project === 'CMIP6') {
    expect('mip_era', drs.mip_era);
    expect('activity_id', drs.activity_drs, (h) => h.split(/\s+/).includes(drs.activity_drs));
    expect('institution_id', drs.institution_id);
    expect('source_id', drs.source_id);
    expect('experiment_id', drs.experiment_id);
    expect('sub_experiment_id', drs.sub_experiment_id);
    expect('variant_label', drs.variant_label);
    expect('table_id', drs.table_id);
    expect('variable_id', drs.variable_id);
    expect('grid_label', drs.grid_label);
  } else {
    expect('project_id', 'CORDEX', (h) => h.toUpperCase() === 'CORDEX');
    expect('product', drs.product);
    expect('CORDEX_domain', drs.domain);
    expect('institute_id', drs.institute);
    expect('driving_model_id', drs.driving_model);
    expect('experiment_id', drs.experiment);
    expect('driving_model_ensemble_member', drs.ensemble);
    expect('model_id', drs.rcm_model);
    expect('rcm_version_id', drs.rcm_version);
    expect('frequency', drs.time_frequency);
  }
  if (!variables.includes(drs.variable)) out.push(`the file has no variable ${drs.variable}`);
  if (drs.time_range && time) {
    const [from, to] = drs.time_range.replace(/-clim$/, '').split('-') as [string, string];
    const digits = (iso: string): string => iso.replace(/[^0-9]/g, '');
    // Only date-precision labels are compared: sub-daily labels name the interval start, not the stamp.
    if (from.length <= 8 && !digits(time.firstIso).startsWith(from)) out.push(`file name time range starts ${from}, the first time is ${time.firstIso}`);
    if (to.length <= 8 && !digits(time.lastIso).startsWith(to)) out.push(`file name time range ends ${to}, the last time is ${time.lastIso}`);
  } else if (drs.time_range && !time) {
    out.push(`file name has time range ${drs.time_range} but no decodable time axis`);
  }
  return out;
}
