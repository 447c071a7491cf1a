/**
 * The EUCP-SYN data set list: models (§3.1), CMIP6 data sets (§3.2), CORDEX data sets (§3.3)
 * and the two generation profiles.
 */
import type { Calendar } from './calendar.js';
import type { FieldKind } from './fields.js';

/** Generation profile: `default` follows the spec; `tiny` is a small, fast subset for tests. */
export type DemoProfile = 'tiny' | 'default';

/** Version of the generator, written into every file's `comment` and `history`. */
export const GEN_VERSION = '1.0.0';

/** Host names (RFC 6761 `.test` TLD). */
export const DATA_NODE_1 = 'data1.eucp-syn.test';
export const DATA_NODE_2 = 'data2.eucp-syn.test';
export const INDEX_NODE = 'index.eucp-syn.test';

/** Sizes that differ between the profiles. */
export interface ProfileSpec {
  /** Regular grid step of models A and C (deg). */
  readonly regularStepA: number;
  readonly regularStepC: number;
  /** Gaussian grid of model B: longitudes × Gaussian latitudes. */
  readonly gaussian: { readonly nx: number; readonly ny: number };
  /** Keep every n-th point of EUR-44. */
  readonly cordexStride: number;
  /** Months of each historical / ssp585 period. */
  readonly months: number;
  /** Months of the DCPP hindcast. */
  readonly dcppMonths: number;
  /** Days of the daily data set. */
  readonly days: number;
}

/** Profile table. `tiny`: 10°×10° grids, 2 years (§3.2), one month of daily data, EUR-44 thinned 8×. */
export const PROFILES: Readonly<Record<DemoProfile, ProfileSpec>> = {
  default: { regularStepA: 5, regularStepC: 4, gaussian: { nx: 64, ny: 32 }, cordexStride: 1, months: 120, dcppMonths: 62, days: 365 },
  tiny: { regularStepA: 10, regularStepC: 10, gaussian: { nx: 36, ny: 18 }, cordexStride: 8, months: 24, dcppMonths: 24, days: 31 },
};

export type ModelKey = 'A' | 'B' | 'C';

/** A fictional CMIP6 model (§3.1). */
export interface Cmip6Model {
  readonly key: ModelKey;
  readonly institution_id: string;
  readonly institution: string;
  readonly source_id: string;
  readonly source: string;
  readonly source_type: string;
  readonly grid_label: string;
  readonly gridKind: 'regular5' | 'gaussian' | 'regular4';
  readonly nominal_resolution: string;
  readonly calendar: Calendar;
  readonly t0: number;
  readonly s: number;
  readonly data_node: string;
  /** Host of the replica, if the model's data is replicated. */
  readonly replica_node?: string;
}

export const MODELS: Readonly<Record<ModelKey, Cmip6Model>> = {
  A: {
    key: 'A', institution_id: 'SYNLAB', institution: 'Synthetic Climate Laboratory (fictional; EUCP-SYN test data)',
    source_id: 'SYN-ESM1-0-LR', source: 'SYN-ESM1-0-LR (2019): synthetic stand-in, no model was run; atmos: regular longitude/latitude grid',
    source_type: 'AOGCM BGC', grid_label: 'gn', gridKind: 'regular5', nominal_resolution: '500 km', calendar: 'noleap',
    t0: 287.6, s: 1.0, data_node: DATA_NODE_1,
  },
  B: {
    key: 'B', institution_id: 'FAKEMET', institution: 'Fake Meteorological Service (fictional; EUCP-SYN test data)',
    source_id: 'FAKE-CM2-MR', source: 'FAKE-CM2-MR (2019): synthetic stand-in, no model was run; atmos: Gaussian grid',
    source_type: 'AOGCM', grid_label: 'gn', gridKind: 'gaussian', nominal_resolution: '500 km', calendar: '360_day',
    t0: 286.9, s: 1.3, data_node: DATA_NODE_1,
  },
  C: {
    key: 'C', institution_id: 'MOCKIT', institution: 'Mock Institute for Testing (fictional; EUCP-SYN test data)',
    source_id: 'MOCK-GCM3', source: 'MOCK-GCM3 (2020): synthetic stand-in, no model was run; output regridded to a regular grid',
    source_type: 'AOGCM AER', grid_label: 'gr', gridKind: 'regular4', nominal_resolution: '500 km', calendar: 'proleptic_gregorian',
    t0: 288.3, s: 0.8, data_node: DATA_NODE_1, replica_node: DATA_NODE_2,
  },
};

/** A CMOR variable entry (§1.1 table). */
export interface VariableDef {
  readonly variable_id: string;
  readonly table_id: 'Amon' | 'day' | 'fx';
  readonly frequency: 'mon' | 'day' | 'fx';
  readonly realm: string;
  readonly standard_name: string;
  readonly units: string;
  readonly cell_methods: string;
  readonly cell_measures?: string;
  readonly long_name: string;
  readonly comment: string;
  /** Carries the scalar `height` coordinate (2 m). */
  readonly height: boolean;
  readonly kind: FieldKind | 'areacella';
}

const TAS_COMMENT = 'near-surface (usually, 2 meter) air temperature';
export const VARIABLES = {
  tas: { variable_id: 'tas', table_id: 'Amon', frequency: 'mon', realm: 'atmos', standard_name: 'air_temperature', units: 'K', cell_methods: 'area: time: mean', cell_measures: 'area: areacella', long_name: 'Near-Surface Air Temperature', comment: TAS_COMMENT, height: true, kind: 'tas' },
  pr: { variable_id: 'pr', table_id: 'Amon', frequency: 'mon', realm: 'atmos', standard_name: 'precipitation_flux', units: 'kg m-2 s-1', cell_methods: 'area: time: mean', cell_measures: 'area: areacella', long_name: 'Precipitation', comment: 'includes both liquid and solid phases', height: false, kind: 'pr' },
  tasmaxDay: { variable_id: 'tasmax', table_id: 'day', frequency: 'day', realm: 'atmos', standard_name: 'air_temperature', units: 'K', cell_methods: 'area: mean time: maximum', cell_measures: 'area: areacella', long_name: 'Daily Maximum Near-Surface Air Temperature', comment: 'maximum near-surface (usually, 2 meter) air temperature (add cell_method attribute \'time: max\')', height: true, kind: 'tasmax' },
  areacella: { variable_id: 'areacella', table_id: 'fx', frequency: 'fx', realm: 'atmos land', standard_name: 'cell_area', units: 'm2', cell_methods: 'area: sum', long_name: 'Grid-Cell Area for Atmospheric Grid Variables', comment: 'For atmospheres with more than 1 mesh (e.g., staggered grids), report areas that apply to surface vertical fluxes of energy.', height: false, kind: 'areacella' },
} as const satisfies Record<string, VariableDef>;

/** Which time period a data set covers; the profile turns it into a concrete axis. */
export type PeriodKey = 'historical' | 'ssp585' | 'dcpp2010' | 'day2014' | 'fx' | 'cordexHistorical' | 'cordexRcp85';

/** Modifiers that produce the errata and edge cases. */
export interface DatasetMods {
  readonly offsetK: number;
  readonly prScale: number;
  readonly fillPatch: boolean;
}

/** One CMIP6 data set version (a row of §3.2). */
export interface Cmip6Dataset {
  readonly project: 'CMIP6';
  /** Row number in §3.2. */
  readonly row: number;
  readonly model: Cmip6Model;
  readonly activity_id: 'CMIP' | 'ScenarioMIP' | 'DCPP';
  readonly experiment_id: 'historical' | 'ssp585' | 'dcppA-hindcast';
  readonly sub_experiment_id: string;
  readonly variant_label: string;
  readonly variable: VariableDef;
  /** `YYYYMMDD`. */
  readonly version: string;
  readonly period: PeriodKey;
  readonly nFiles: number;
  readonly latest: boolean;
  readonly retracted: boolean;
  /** The optional row #20; not counted by the spec's hand-written search oracles. */
  readonly stretch: boolean;
  readonly mods: DatasetMods;
}

/** One CORDEX-CMIP5 data set (§3.3). */
export interface CordexDataset {
  readonly project: 'CORDEX';
  readonly product: 'output';
  readonly domain: 'EUR-44';
  readonly institute: string;
  readonly institution: string;
  readonly driving_model: string;
  readonly experiment: 'historical' | 'rcp85';
  readonly ensemble: string;
  readonly rcm_model: string;
  readonly rcm_name: string;
  readonly rcm_version: string;
  readonly time_frequency: 'mon';
  readonly variable: VariableDef;
  readonly version: string;
  readonly period: PeriodKey;
  readonly calendar: Calendar;
  readonly t0: number;
  readonly s: number;
  readonly data_node: string;
}

export type Dataset = Cmip6Dataset | CordexDataset;

const NO_MODS: DatasetMods = { offsetK: 0, prScale: 1, fillPatch: false };

function cmip6(
  row: number,
  model: ModelKey,
  experiment: 'historical' | 'ssp585' | 'dcppA-hindcast',
  variant_label: string,
  variable: VariableDef,
  version: string,
  extra: Partial<Pick<Cmip6Dataset, 'nFiles' | 'latest' | 'retracted' | 'stretch' | 'period' | 'sub_experiment_id'>> & { mods?: Partial<DatasetMods> } = {},
): Cmip6Dataset {
  const activity_id = experiment === 'historical' ? 'CMIP' : experiment === 'ssp585' ? 'ScenarioMIP' : 'DCPP';
  const period: PeriodKey =
    variable.frequency === 'fx' ? 'fx' : variable.frequency === 'day' ? 'day2014' : experiment === 'dcppA-hindcast' ? 'dcpp2010' : experiment;
  return {
    project: 'CMIP6', row, model: MODELS[model], activity_id, experiment_id: experiment, sub_experiment_id: extra.sub_experiment_id ?? 'none',
    variant_label, variable, version, period: extra.period ?? period, nFiles: extra.nFiles ?? 1, latest: extra.latest ?? true,
    retracted: extra.retracted ?? false, stretch: extra.stretch ?? false, mods: { ...NO_MODS, ...extra.mods },
  };
}

const V = VARIABLES;

/** The CMIP6 part, in the order of §3.2 (rows 1–20). */
export const CMIP6_DATASETS: readonly Cmip6Dataset[] = [
  cmip6(1, 'A', 'historical', 'r1i1p1f1', V.tas, '20190101', { latest: false, mods: { offsetK: 0.5 } }),
  cmip6(2, 'A', 'historical', 'r1i1p1f1', V.tas, '20190601', { nFiles: 2 }),
  cmip6(3, 'A', 'historical', 'r1i1p1f1', V.pr, '20190601'),
  cmip6(4, 'A', 'historical', 'r2i1p1f1', V.tas, '20190601', { mods: { offsetK: 0.1 } }),
  cmip6(5, 'A', 'ssp585', 'r1i1p1f1', V.tas, '20190601'),
  cmip6(6, 'A', 'ssp585', 'r1i1p1f1', V.pr, '20190601'),
  cmip6(7, 'A', 'historical', 'r1i1p1f1', V.tasmaxDay, '20190601'),
  cmip6(8, 'A', 'historical', 'r1i1p1f1', V.areacella, '20190601'),
  cmip6(9, 'B', 'historical', 'r1i1p1f2', V.tas, '20191115'),
  cmip6(10, 'B', 'historical', 'r1i1p1f2', V.pr, '20191115'),
  cmip6(11, 'B', 'ssp585', 'r1i1p1f2', V.tas, '20191115'),
  cmip6(12, 'B', 'ssp585', 'r1i1p1f2', V.pr, '20200315', { latest: false, retracted: true, mods: { prScale: 86400 } }),
  cmip6(13, 'B', 'ssp585', 'r1i1p1f2', V.pr, '20200901'),
  cmip6(14, 'B', 'historical', 'r1i1p1f2', V.areacella, '20191115'),
  cmip6(15, 'C', 'historical', 'r1i1p1f1', V.tas, '20200210'),
  cmip6(16, 'C', 'historical', 'r1i1p1f1', V.pr, '20200210'),
  cmip6(17, 'C', 'ssp585', 'r1i1p1f1', V.tas, '20200210'),
  cmip6(18, 'C', 'ssp585', 'r1i1p1f1', V.pr, '20200210', { mods: { fillPatch: true } }),
  cmip6(19, 'C', 'historical', 'r1i1p1f1', V.areacella, '20200210'),
  cmip6(20, 'A', 'dcppA-hindcast', 'r1i1p1f1', V.tas, '20190601', { sub_experiment_id: 's2010', stretch: true }),
];

const CORDEX_VARS = {
  tas: { ...V.tas, table_id: 'Amon', cell_methods: 'time: mean', cell_measures: undefined },
  pr: { ...V.pr, table_id: 'Amon', cell_methods: 'time: mean', cell_measures: undefined },
} as const satisfies Record<string, VariableDef>;

function cordex(experiment: 'historical' | 'rcp85', variable: VariableDef): CordexDataset {
  return {
    project: 'CORDEX', product: 'output', domain: 'EUR-44', institute: 'SYNRCM',
    institution: 'Synthetic Regional Climate Modelling Group (fictional; EUCP-SYN test data)',
    driving_model: 'SYNLAB-SYN-ESM1-0-LR', experiment, ensemble: 'r1i1p1', rcm_model: 'SYNRCM-RCM1', rcm_name: 'RCM1',
    rcm_version: 'v1', time_frequency: 'mon', variable, version: '20200101',
    period: experiment === 'historical' ? 'cordexHistorical' : 'cordexRcp85', calendar: 'noleap', t0: 283, s: 1.0, data_node: DATA_NODE_1,
  };
}

/** The CORDEX part (§3.3): restricted, EUR-44, version v20200101. */
export const CORDEX_DATASETS: readonly CordexDataset[] = [
  cordex('historical', CORDEX_VARS.tas),
  cordex('historical', CORDEX_VARS.pr),
  cordex('rcp85', CORDEX_VARS.tas),
  cordex('rcp85', CORDEX_VARS.pr),
];

/** Every data set the generator writes. */
export const ALL_DATASETS: readonly Dataset[] = [...CMIP6_DATASETS, ...CORDEX_DATASETS];

/** Long experiment names (CMIP6 CV `experiment`, CORDEX `experiment`). */
export const EXPERIMENT_TITLES: Readonly<Record<string, string>> = {
  historical: 'all-forcing simulation of the recent past',
  ssp585: 'update of RCP8.5 based on SSP5',
  'dcppA-hindcast': 'hindcast initialized based on observations and using historical forcing',
  rcp85: 'RCP8.5',
};

/** `sub_experiment` text per `sub_experiment_id`. */
export const SUB_EXPERIMENT_TITLES: Readonly<Record<string, string>> = {
  none: 'none',
  s2010: 'initialized near end of year 2010',
};
