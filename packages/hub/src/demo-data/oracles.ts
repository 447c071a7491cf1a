/**
 * `expected.json` (§3.7 oracles), `errata.json` and the project CV overlay `eucp-syn-cv.json`
 * (§3.1). Everything here is derived from what the generator wrote, never hand-maintained.
 */
import { accessOracle } from './access.js';
import type { DatasetRecord } from './data.js';
import { CORDEX_DATASETS, GEN_VERSION, MODELS, type DemoProfile } from './datasets.js';
import { instanceId } from './drs.js';
import { evaluateSearch, ORACLE_QUERIES, type EsgDoc } from './esgf.js';
import { EARTH_RADIUS_M, EUR44, unrotate } from './grids.js';

/** Tolerance of a value oracle: pass if |actual − expected| ≤ abs + rel·|expected|. */
export interface Tolerance {
  readonly abs: number;
  readonly rel: number;
}

function toleranceOf(variableId: string): Tolerance {
  if (variableId === 'pr') return { abs: 0, rel: 1e-5 };
  if (variableId === 'areacella') return { abs: 0, rel: 1e-6 };
  return { abs: 1e-3, rel: 0 }; // K
}

function datasetOracle(rec: DatasetRecord): Record<string, unknown> {
  const ds = rec.ds;
  const v = ds.variable;
  const first = rec.files[0]!;
  const last = rec.files[rec.files.length - 1]!;
  const timeRange = first.plan.timeRange && last.plan.timeRange ? `${first.plan.timeRange.split('-')[0]}-${last.plan.timeRange.split('-')[1]}` : null;
  return {
    project: ds.project,
    variable_id: v.variable_id,
    units: v.units,
    frequency: v.frequency,
    calendar: rec.axis?.calendar ?? null,
    time_units: rec.axis?.units ?? null,
    time_range: timeRange,
    n_time: rec.axis?.steps.length ?? 0,
    first_time: first.first?.value ?? null,
    last_time: last.last?.value ?? null,
    first_time_iso: first.first?.iso ?? null,
    last_time_iso: last.last?.iso ?? null,
    latest: ds.project === 'CMIP6' ? ds.latest : true,
    retracted: ds.project === 'CMIP6' ? ds.retracted : false,
    files: rec.files.map((f) => f.plan.path),
    global_mean: rec.globalMean,
    min: rec.min,
    max: rec.max,
    missing_values: rec.missingValues,
    ...(rec.sum !== null ? { sum: rec.sum } : {}),
    tolerance: toleranceOf(v.variable_id),
  };
}

/** The oracle document written to `expected.json`. */
export function expectedJson(
  profile: DemoProfile,
  records: readonly DatasetRecord[],
  docs: { datasets: readonly EsgDoc[]; files: readonly EsgDoc[] },
): Record<string, unknown> {
  const datasets: Record<string, unknown> = {};
  const files: Record<string, unknown> = {};
  for (const rec of records) {
    datasets[rec.instance_id] = datasetOracle(rec);
    for (const f of rec.files) {
      files[f.plan.path] = {
        dataset: rec.instance_id,
        sha256: f.written.sha256,
        size: f.written.size,
        time_range: f.plan.timeRange,
        n_time: f.plan.to - f.plan.from,
      };
    }
  }
  const origin = unrotate(0, 0, EUR44.poleLon, EUR44.poleLat);
  return {
    generator: 'eucp-syn',
    generator_version: GEN_VERSION,
    profile,
    definitions: {
      global_mean:
        'Per time step, the mean over cells that are not _FillValue of the stored float32 values, weighted by exact spherical ' +
        'cell areas R^2 * dlon * |sin(lat_n) - sin(lat_s)| from the cell bounds (rlon/rlat for the rotated CORDEX grid), in double.',
      tolerance: 'pass if |actual - expected| <= abs + rel * |expected|',
      checksums: 'sha256 and size are exact only for this generator version; compare values with the tolerance, checksums with this manifest.',
      search: 'numFound / facet_fields of the ESGF search query over esgf/datasets.jsonl and esgf/files.jsonl.',
      access: 'ESGF decision rule (esgf-compat.md section 1) over access/policies.xml, access/groups.json and access/users.json.',
    },
    earth_radius_m: EARTH_RADIUS_M,
    sanity: {
      areacella_global_sum_m2: 4 * Math.PI * EARTH_RADIUS_M ** 2,
      rotated_pole: { grid_north_pole_longitude: EUR44.poleLon, grid_north_pole_latitude: EUR44.poleLat, rlon: 0, rlat: 0, lon: origin.lon, lat: origin.lat },
    },
    datasets,
    files,
    search: ORACLE_QUERIES.map((query) => {
      const r = evaluateSearch(docs, query);
      return { query, numFound: r.numFound, ...(Object.keys(r.facet_fields).length > 0 ? { facet_fields: r.facet_fields } : {}) };
    }),
    access: accessOracle([...CORDEX_DATASETS.map(instanceId), records.find((r) => r.ds.project === 'CMIP6' && r.ds.row === 2)!.instance_id]),
  };
}

/** `errata.json` (§3.7). */
export function errataJson(records: readonly DatasetRecord[]): unknown[] {
  const byRow = (row: number): string => {
    const r = records.find((x) => x.ds.project === 'CMIP6' && x.ds.row === row);
    if (!r) throw new Error(`no data set #${row}`);
    return r.instance_id;
  };
  return [
    { id: 'SYN-ERR-001', datasets: [byRow(1)], severity: 'high', title: '+0.5 K bias', superseded_by: 'v20190601' },
    { id: 'SYN-ERR-002', datasets: [byRow(12)], status: 'retracted', title: 'pr in mm/day labelled kg m-2 s-1', superseded_by: 'v20200901' },
  ];
}

/** `eucp-syn-cv.json`: the project CV overlay that adds the fictional ids to the CMIP6 and CORDEX CVs. */
export function cvOverlayJson(): Record<string, unknown> {
  const models = Object.values(MODELS);
  const cordex = CORDEX_DATASETS[0]!;
  return {
    description: 'EUCP-SYN project CV overlay: merge into CMIP6_CV.json ("CV" keys) so validators accept the fictional EUCP-SYN ids.',
    generator_version: GEN_VERSION,
    CV: {
      institution_id: Object.fromEntries(models.map((m) => [m.institution_id, m.institution])),
      source_id: Object.fromEntries(
        models.map((m) => [
          m.source_id,
          {
            activity_participation: m.key === 'A' ? ['CMIP', 'DCPP', 'ScenarioMIP'] : ['CMIP', 'ScenarioMIP'],
            cohort: ['Registered'],
            institution_id: [m.institution_id],
            label: m.source_id,
            label_extended: m.source,
            source_id: m.source_id,
            source_type: m.source_type,
          },
        ]),
      ),
    },
    cordex: {
      institute: { [cordex.institute]: cordex.institution },
      driving_model: [cordex.driving_model],
      rcm_model: { [cordex.rcm_model]: { institute: cordex.institute, rcm_name: cordex.rcm_name } },
      rcm_name_map: { [cordex.rcm_model]: cordex.rcm_name },
    },
  };
}
