/**
 * Identifiers, DRS paths and file names (§1.1 CMIP6, §1.2 CORDEX-CMIP5), the concrete time axis
 * and file split of each data set, and the name-based UUIDs used for tracking ids.
 */
import { createHash } from 'node:crypto';
import { dailyAxis, monthlyAxis, timeRangeLabel, type TimeAxis, type YMD } from './calendar.js';
import { PROFILES, type Cmip6Dataset, type Dataset, type DemoProfile } from './datasets.js';

/** CMIP6 time reference (CMOR default). */
export const CMIP6_TIME_REF: YMD = { y: 1850, m: 1, d: 1 };
/** The reference most EURO-CORDEX output uses. */
export const CORDEX_TIME_REF: YMD = { y: 1949, m: 12, d: 1 };

/** ESGF `dataset_id` template of CMIP6 (§1.1). */
export const CMIP6_DATASET_ID_TEMPLATE =
  '%(mip_era)s.%(activity_drs)s.%(institution_id)s.%(source_id)s.%(experiment_id)s.%(member_id)s.%(table_id)s.%(variable_id)s.%(grid_label)s';
export const CMIP6_DIRECTORY_TEMPLATE =
  '%(root)s/%(mip_era)s/%(activity_drs)s/%(institution_id)s/%(source_id)s/%(experiment_id)s/%(member_id)s/%(table_id)s/%(variable_id)s/%(grid_label)s/%(version)s';
/** ESGF `dataset_id` template of CORDEX (§1.2). */
export const CORDEX_DATASET_ID_TEMPLATE =
  'cordex.%(product)s.%(domain)s.%(institute)s.%(driving_model)s.%(experiment)s.%(ensemble)s.%(rcm_name)s.%(rcm_version)s.%(time_frequency)s.%(variable)s';
export const CORDEX_DIRECTORY_TEMPLATE =
  '%(root)s/%(project)s/%(product)s/%(domain)s/%(institute)s/%(driving_model)s/%(experiment)s/%(ensemble)s/%(rcm_model)s/%(rcm_version)s/%(time_frequency)s/%(variable)s/%(version)s';

/** CMIP6 `member_id`: the variant label, prefixed by the sub-experiment when there is one. */
export function memberId(ds: Cmip6Dataset): string {
  return ds.sub_experiment_id === 'none' ? ds.variant_label : `${ds.sub_experiment_id}-${ds.variant_label}`;
}

/** ESGF `master_id` (dataset id without version). */
export function masterId(ds: Dataset): string {
  if (ds.project === 'CORDEX') {
    return ['cordex', ds.product, ds.domain, ds.institute, ds.driving_model, ds.experiment, ds.ensemble, ds.rcm_name, ds.rcm_version, ds.time_frequency, ds.variable.variable_id].join('.');
  }
  const m = ds.model;
  return ['CMIP6', ds.activity_id, m.institution_id, m.source_id, ds.experiment_id, memberId(ds), ds.variable.table_id, ds.variable.variable_id, m.grid_label].join('.');
}

/** ESGF `instance_id` (`<master_id>.v<version>`). */
export function instanceId(ds: Dataset): string {
  return `${masterId(ds)}.v${ds.version}`;
}

/** Directory of a data set version relative to the data root (POSIX separators). */
export function datasetDir(ds: Dataset): string {
  if (ds.project === 'CORDEX') {
    return ['cordex', ds.product, ds.domain, ds.institute, ds.driving_model, ds.experiment, ds.ensemble, ds.rcm_model, ds.rcm_version, ds.time_frequency, ds.variable.variable_id, `v${ds.version}`].join('/');
  }
  const m = ds.model;
  return ['CMIP6', ds.activity_id, m.institution_id, m.source_id, ds.experiment_id, memberId(ds), ds.variable.table_id, ds.variable.variable_id, m.grid_label, `v${ds.version}`].join('/');
}

/** File name for a data set and an optional `time_range` label. */
export function fileName(ds: Dataset, timeRange: string | null): string {
  const tail = timeRange ? `_${timeRange}.nc` : '.nc';
  if (ds.project === 'CORDEX') {
    return [ds.variable.variable_id, ds.domain, ds.driving_model, ds.experiment, ds.ensemble, ds.rcm_model, ds.rcm_version, ds.time_frequency].join('_') + tail;
  }
  const m = ds.model;
  return [ds.variable.variable_id, ds.variable.table_id, m.source_id, ds.experiment_id, memberId(ds), m.grid_label].join('_') + tail;
}

/** Calendar of a data set. */
export function calendarOf(ds: Dataset): TimeAxis['calendar'] {
  return ds.project === 'CORDEX' ? ds.calendar : ds.model.calendar;
}

/** The complete time axis of a data set under a profile, or null for fx. */
export function datasetAxis(ds: Dataset, profile: DemoProfile): TimeAxis | null {
  const p = PROFILES[profile];
  const cal = calendarOf(ds);
  const ref = ds.project === 'CORDEX' ? CORDEX_TIME_REF : CMIP6_TIME_REF;
  switch (ds.period) {
    case 'fx':
      return null;
    case 'historical':
      return monthlyAxis(cal, ref, { y: 2005, m: 1 }, p.months);
    case 'ssp585':
      return monthlyAxis(cal, ref, { y: 2015, m: 1 }, p.months);
    case 'dcpp2010':
      return monthlyAxis(cal, ref, { y: 2010, m: 11 }, p.dcppMonths);
    case 'day2014':
      return dailyAxis(cal, ref, { y: 2014, m: 1, d: 1 }, p.days);
    case 'cordexHistorical':
      return monthlyAxis(cal, ref, { y: 2004, m: 1 }, 24);
    case 'cordexRcp85':
      return monthlyAxis(cal, ref, { y: 2006, m: 1 }, 24);
  }
}

/** One file of a data set: its name, directory and the half-open range of time indices it holds. */
export interface FilePlan {
  readonly ds: Dataset;
  readonly dir: string;
  readonly name: string;
  /** `dir/name`. */
  readonly path: string;
  readonly timeRange: string | null;
  readonly from: number;
  readonly to: number;
}

/** Splits a data set into files of (nearly) equal numbers of time steps. */
export function planFiles(ds: Dataset, axis: TimeAxis | null): FilePlan[] {
  const dir = datasetDir(ds);
  if (!axis) {
    const name = fileName(ds, null);
    return [{ ds, dir, name, path: `${dir}/${name}`, timeRange: null, from: 0, to: 0 }];
  }
  const n = ds.project === 'CMIP6' ? ds.nFiles : 1;
  const len = axis.steps.length;
  const plans: FilePlan[] = [];
  for (let k = 0; k < n; k++) {
    const from = Math.round((k * len) / n);
    const to = Math.round(((k + 1) * len) / n);
    const timeRange = timeRangeLabel(axis, from, to);
    const name = fileName(ds, timeRange);
    plans.push({ ds, dir, name, path: `${dir}/${name}`, timeRange, from, to });
  }
  return plans;
}

/** Namespace of EUCP-SYN name-based UUIDs: UUIDv5(URL namespace, "https://eucp-syn.test/"). */
export const EUCP_SYN_UUID_NAMESPACE = uuidV5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'https://eucp-syn.test/');

/** RFC 4122 name-based UUID (version 5, SHA-1). */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** File `tracking_id` (§3.6): CMIP6 handles use the 21.14100 prefix; CORDEX-CMIP5 used bare UUIDs. */
export function trackingId(ds: Dataset, name: string): string {
  const uuid = uuidV5(EUCP_SYN_UUID_NAMESPACE, `${instanceId(ds)}/${name}`);
  return ds.project === 'CMIP6' ? `hdl:21.14100/${uuid}` : uuid;
}

/** Data set PID (`hdl:21.14100/<uuid>` of the instance id), as in ESGF dataset docs. */
export function datasetPid(ds: Dataset): string {
  return `hdl:21.14100/${uuidV5(EUCP_SYN_UUID_NAMESPACE, instanceId(ds))}`;
}

/** `YYYYMMDD` → `YYYY-MM-DDT00:00:00Z`. */
export function versionDateIso(version: string): string {
  return `${version.slice(0, 4)}-${version.slice(4, 6)}-${version.slice(6, 8)}T00:00:00Z`;
}
