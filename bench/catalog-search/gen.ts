/**
 * Deterministic CMIP6-like dataset records for the catalog-search benchmark.
 *
 * Record i is a pure function of (seed, i) (a counter-based hash, as EUCP-SYN does for its
 * noise), so queries can be built from any record without keeping the million in memory.
 * The distributions follow the shape of the real CMIP6 index: a few dominant activities and
 * experiments (72), 49 institutions with ~145 models of very unequal output, 30 tables whose
 * variable vocabularies are Zipf-distributed (~1 200 variables in all), realizations r1 far
 * more common than r50, DCPP sub-experiment members (~10 000 member_ids), 2 000 version dates,
 * 85 % latest, 30 % replicas on ~30 data nodes. The names are fictional where they would
 * otherwise pose as real model output (institutions, models).
 */

/** 32-bit mix (SplitMix32-style finaliser). */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A small PRNG stream for record `i` of `seed`. */
export function stream(seed: number, i: number): () => number {
  let s = mix(mix(seed) ^ Math.imul(i + 1, 0x9e3779b1));
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    return mix(s) / 4294967296;
  };
}

/** Picks from `items` with weights ∝ `weights`. */
function weighted<T>(items: readonly T[], weights: readonly number[]): (u: number) => T {
  const cum: number[] = [];
  let t = 0;
  for (const w of weights) cum.push((t += w));
  return (u) => {
    const x = u * t;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return items[lo]!;
  };
}
const zipf = <T>(items: readonly T[], s = 1.1): ((u: number) => T) => weighted(items, items.map((_, k) => 1 / (k + 1) ** s));

const ACTIVITIES: [string, number, string[]][] = [
  ['CMIP', 30, ['historical', 'piControl', 'amip', 'abrupt-4xCO2', '1pctCO2', 'esm-hist', 'esm-piControl', 'historical-ext']],
  ['ScenarioMIP', 25, ['ssp585', 'ssp245', 'ssp126', 'ssp370', 'ssp119', 'ssp434', 'ssp460', 'ssp534-over']],
  ['DCPP', 8, ['dcppA-hindcast', 'dcppA-assim', 'dcppC-amv-pos', 'dcppC-amv-neg', 'dcppB-forecast']],
  ['HighResMIP', 6, ['highresSST-present', 'hist-1950', 'control-1950', 'highres-future', 'highresSST-future']],
  ['DAMIP', 5, ['hist-GHG', 'hist-aer', 'hist-nat', 'hist-stratO3', 'ssp245-GHG', 'ssp245-aer', 'ssp245-nat']],
  ['AerChemMIP', 4, ['hist-piNTCF', 'histSST', 'ssp370SST', 'hist-piAer', 'piClim-control', 'piClim-NTCF']],
  ['CFMIP', 3, ['amip-p4K', 'amip-4xCO2', 'amip-future4K', 'abrupt-solp4p']],
  ['PMIP', 3, ['lig127k', 'midHolocene', 'lgm', 'past1000']],
  ['LUMIP', 3, ['land-hist', 'hist-noLu', 'deforest-globe']],
  ['C4MIP', 3, ['esm-ssp585', '1pctCO2-bgc', '1pctCO2-rad']],
  ['GMMIP', 2, ['hist-resIPO', 'amip-hist']],
  ['OMIP', 2, ['omip1', 'omip2']],
  ['RFMIP', 2, ['piClim-4xCO2', 'piClim-aer', 'hist-spAer-all']],
  ['LS3MIP', 2, ['land-hist-princeton', 'land-future']],
  ['GeoMIP', 1, ['G1', 'G6sulfur', 'G6solar']],
  ['ISMIP6', 1, ['ism-ctrl', 'ism-asmb-std']],
  ['VolMIP', 1, ['volc-pinatubo-full', 'volc-long-eq']],
  ['FAFMIP', 1, ['faf-heat', 'faf-stress', 'faf-water']],
];
const pickActivity = weighted(ACTIVITIES, ACTIVITIES.map((a) => a[1]));
const experimentPickers = new Map(ACTIVITIES.map(([a, , exps]) => [a, zipf(exps, 1.2)]));

const INSTITUTIONS = Array.from({ length: 49 }, (_, k) => `INST${String(k + 1).padStart(2, '0')}`);
const SOURCES: { source: string; institution: string; resolution: string }[] = [];
const RESOLUTIONS = ['100 km', '250 km', '50 km', '500 km', '25 km', '10000 km'];
INSTITUTIONS.forEach((inst, k) => {
  const models = 1 + (mix(k + 17) % 5);
  for (let m = 0; m < models; m++) SOURCES.push({ source: `${inst}-ESM${m + 1}-${['LR', 'MR', 'HR'][m % 3]}`, institution: inst, resolution: RESOLUTIONS[mix(k * 7 + m) % RESOLUTIONS.length]! });
});
const pickSource = zipf(SOURCES, 0.9);

const REAL_VARS: Record<string, string[]> = {
  Amon: ['tas', 'pr', 'psl', 'ua', 'va', 'ta', 'hus', 'zg', 'tasmax', 'tasmin', 'clt', 'rsds', 'rlds', 'huss', 'uas', 'vas', 'sfcWind', 'rsut', 'rlut', 'ts', 'evspsbl', 'prc', 'prsn', 'ps', 'hurs'],
  Omon: ['tos', 'sos', 'thetao', 'so', 'uo', 'vo', 'wo', 'zos', 'mlotst', 'hfds', 'msftmz', 'hfbasin'],
  day: ['tas', 'pr', 'tasmax', 'tasmin', 'psl', 'uas', 'vas', 'sfcWind', 'huss', 'rsds', 'hurs', 'zg', 'ua', 'va'],
  Lmon: ['mrso', 'mrro', 'gpp', 'lai', 'npp', 'nbp', 'tsl', 'mrsos'],
  SImon: ['siconc', 'sithick', 'sisnthick', 'siu', 'siv'],
  fx: ['areacella', 'orog', 'sftlf', 'sftgif'],
  Ofx: ['areacello', 'deptho', 'sftof', 'volcello'],
};
const TABLES: [string, number, string, string, number][] = [
  // table, weight, frequency, realm, vocabulary size
  ['Amon', 25, 'mon', 'atmos', 80], ['Omon', 12, 'mon', 'ocean', 120], ['day', 12, 'day', 'atmos', 40], ['Emon', 6, 'mon', 'atmos', 200],
  ['Lmon', 6, 'mon', 'land', 60], ['AERmon', 4, 'mon', 'aerosol', 90], ['SImon', 4, 'mon', 'seaIce', 60], ['3hr', 3, '3hr', 'atmos', 25],
  ['6hrPlev', 3, '6hr', 'atmos', 15], ['Eday', 3, 'day', 'atmos', 70], ['Oyr', 3, 'yr', 'ocnBgchem', 80], ['CFmon', 2, 'mon', 'atmos', 40],
  ['fx', 2, 'fx', 'atmos', 10], ['Ofx', 1, 'fx', 'ocean', 12], ['LImon', 1, 'mon', 'landIce', 30], ['AERday', 1, 'day', 'aerosol', 20],
  ['CFday', 1, 'day', 'atmos', 25], ['E3hr', 1, '3hr', 'atmos', 20], ['Eyr', 1, 'yr', 'land', 40], ['6hrLev', 1, '6hr', 'atmos', 10],
  ['SIday', 1, 'day', 'seaIce', 10], ['Oday', 1, 'day', 'ocean', 8], ['Odec', 0.5, 'dec', 'ocean', 20],
  ['AERhr', 0.5, '1hr', 'aerosol', 5], ['E1hr', 0.5, '1hr', 'atmos', 12], ['CF3hr', 0.5, '3hr', 'atmos', 20], ['EdayZ', 0.5, 'day', 'atmos', 15],
  ['EmonZ', 0.5, 'mon', 'atmos', 20], ['IyrGre', 0.3, 'yr', 'landIce', 15], ['ImonAnt', 0.3, 'mon', 'landIce', 15],
];
const pickTable = weighted(TABLES, TABLES.map((t) => t[1]));
const variablePickers = new Map(TABLES.map(([table, , , , size]) => {
  const real = REAL_VARS[table] ?? [];
  const vocab = [...real, ...Array.from({ length: Math.max(0, size - real.length) }, (_, k) => `${table.toLowerCase().replace(/[^a-z0-9]/g, '')}v${k + 1}`)];
  return [table, zipf(vocab.length ? vocab : ['unknown'], 1.0)] as const;
}));

const pickGrid = weighted(['gn', 'gr', 'gr1', 'gm', 'gnz', 'grz'], [70, 20, 5, 2, 1.5, 1.5]);
const pickForcing = weighted([1, 2, 3], [70, 20, 10]);
const pickPhysics = weighted([1, 2, 3], [85, 10, 5]);
const pickRealization = zipf(Array.from({ length: 50 }, (_, k) => k + 1), 1.3);
const NODES = Array.from({ length: 30 }, (_, k) => `esgf-data${k + 1}.node.test`);
const pickNode = zipf(NODES, 0.8);
const pickProject = weighted(['CMIP6', 'CMIP6Plus', 'input4MIPs'], [97, 2, 1]);
const DAY0 = Date.UTC(2018, 5, 1);

/** A variable of `table`, drawn as in the data (for OR-ing a second variable into a query). */
export function sampleVariable(table: string, u: number): string {
  return variablePickers.get(table)!(u);
}

/** An experiment of `activity`, drawn as in the data. */
export function sampleExperiment(activity: string, u: number): string {
  return experimentPickers.get(activity)!(u);
}

/** One bench record: the fields of an ESGF Dataset doc the benchmark indexes and queries. */
export interface BenchRecord {
  id: string; instance_id: string; master_id: string; title: string;
  project: string; activity_id: string; institution_id: string; source_id: string; experiment_id: string; member_id: string;
  table_id: string; variable_id: string; grid_label: string; frequency: string; realm: string; nominal_resolution: string;
  version: string; latest: boolean; replica: boolean; data_node: string; _timestamp: string;
}

/** Record `i` of the set generated with `seed`. */
export function benchRecord(seed: number, i: number): BenchRecord {
  const u = stream(seed, i);
  const [activity] = pickActivity(u());
  const experiment = experimentPickers.get(activity)!(u());
  const src = pickSource(u());
  const variant = `r${pickRealization(u())}i1p${pickPhysics(u())}f${pickForcing(u())}`;
  const member = activity === 'DCPP' && experiment !== 'dcppA-assim' ? `s${1960 + Math.floor(u() * 60)}-${variant}` : variant;
  const [table, , frequency, realm] = pickTable(u());
  const variable = variablePickers.get(table)!(u());
  const grid = pickGrid(u());
  const days = Math.floor(u() * 2000);
  const date = new Date(DAY0 + days * 86_400_000);
  const version = date.toISOString().slice(0, 10).replace(/-/g, '');
  const replica = u() < 0.3;
  const node = pickNode(u());
  const project = pickProject(u());
  const master = `${project}.${activity}.${src.institution}.${src.source}.${experiment}.${member}.${table}.${variable}.${grid}`;
  const instance = `${master}.v${version}`;
  return {
    id: `${instance}|${node}`, instance_id: instance, master_id: master, title: master,
    project, activity_id: activity, institution_id: src.institution, source_id: src.source, experiment_id: experiment, member_id: member,
    table_id: table, variable_id: variable, grid_label: grid, frequency, realm, nominal_resolution: src.resolution,
    version, latest: u() < 0.85, replica, data_node: node, _timestamp: `${date.toISOString().slice(0, 10)}T00:00:00Z`,
  };
}

/** The facets the benchmark constrains and counts (all are also CSV columns). */
export const BENCH_FACETS = [
  'project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'member_id', 'table_id', 'variable_id', 'grid_label',
  'frequency', 'realm', 'nominal_resolution', 'data_node',
] as const;
