/**
 * Writes the NetCDF files of one data set and returns what the catalogs and oracles need:
 * per-file checksums and the area-weighted statistics of the values actually stored.
 */
import type { TimeAxis, TimeStep } from './calendar.js';
import { PROFILES, type Dataset, type DemoProfile } from './datasets.js';
import { datasetAxis, instanceId, planFiles, trackingId, type FilePlan } from './drs.js';
import { areaField, fnv1a, sliceStats, timeField, type FieldOptions } from './fields.js';
import { EUR44, gaussianGrid, regularGrid, rotatedGrid, type Grid } from './grids.js';
import { writeAtomic, type WrittenFile } from './io.js';
import { buildNcFile } from './ncfile.js';
import { encodeNetcdf } from './netcdf.js';

/** One written data file. */
export interface FileRecord {
  readonly plan: FilePlan;
  readonly written: WrittenFile;
  readonly tracking_id: string;
  /** First and last time steps of the file (null for fx). */
  readonly first: TimeStep | null;
  readonly last: TimeStep | null;
}

/** One written data set with its oracle statistics. */
export interface DatasetRecord {
  readonly ds: Dataset;
  readonly instance_id: string;
  readonly grid: Grid;
  readonly axis: TimeAxis | null;
  readonly files: readonly FileRecord[];
  /** Area-weighted mean over valid cells per time step (one value for fx). */
  readonly globalMean: readonly number[];
  readonly min: number;
  readonly max: number;
  /** Cells equal to the fill value, over all time steps. */
  readonly missingValues: number;
  /** Plain sum of all cells (fx only; for areacella the total area, m²). */
  readonly sum: number | null;
}

/** Grids of a profile, built once per generation run. */
export class GridSet {
  private readonly cache = new Map<string, Grid>();
  constructor(readonly profile: DemoProfile) {}

  /** The horizontal grid of a data set. */
  gridOf(ds: Dataset): Grid {
    const key = ds.project === 'CORDEX' ? 'cordex' : ds.model.key;
    let g = this.cache.get(key);
    if (!g) {
      g = this.build(key);
      this.cache.set(key, g);
    }
    return g;
  }

  private build(key: string): Grid {
    const p = PROFILES[this.profile];
    switch (key) {
      case 'A': {
        const s = p.regularStepA;
        return regularGrid(s, s / 2, `native atmosphere regular ${s}-degree longitude/latitude grid (${360 / s} x ${180 / s} longitude/latitude)`);
      }
      case 'B':
        return gaussianGrid(p.gaussian.nx, p.gaussian.ny, `native atmosphere Gaussian grid (${p.gaussian.nx} x ${p.gaussian.ny} longitude/latitude; Gaussian latitudes N=${p.gaussian.ny})`);
      case 'C': {
        const s = p.regularStepC;
        return regularGrid(s, -180 + s / 2, `data regridded to a regular ${s}-degree longitude/latitude grid (${360 / s} x ${180 / s}; longitudes -180 to 180) from the native atmosphere grid`);
      }
      default: {
        const st = p.cordexStride;
        const desc = st === 1 ? 'EUR-44 rotated-pole grid (106 x 103, 0.44 degree)' : `EUR-44 rotated-pole grid thinned ${st}x (tiny profile)`;
        return rotatedGrid(EUR44, st, desc);
      }
    }
  }
}

function fieldOptions(ds: Dataset, grid: Grid, axis: TimeAxis | null): FieldOptions {
  const seed = fnv1a(instanceId(ds));
  if (ds.project === 'CORDEX') {
    return { model: { t0: ds.t0, s: ds.s }, seed, offsetK: 0, prScale: 1, orography: true };
  }
  const fillPatch =
    ds.mods.fillPatch && axis
      ? { t: Math.min(5, axis.steps.length - 1), i0: Math.floor(grid.nx / 2), j0: Math.floor(grid.ny / 2) }
      : undefined;
  return {
    model: { t0: ds.model.t0, s: ds.model.s },
    seed,
    offsetK: ds.mods.offsetK,
    prScale: ds.mods.prScale,
    orography: false,
    ...(fillPatch ? { fillPatch } : {}),
  };
}

/** Computes, encodes and atomically writes every file of a data set below `outDir`. */
export async function writeDataset(ds: Dataset, grids: GridSet, outDir: string): Promise<DatasetRecord> {
  const grid = grids.gridOf(ds);
  const axis = datasetAxis(ds, grids.profile);
  const plans = planFiles(ds, axis);
  const n = grid.nx * grid.ny;
  const values =
    ds.variable.kind === 'areacella'
      ? areaField(grid)
      : timeField(ds.variable.kind, grid, axis!.steps, 0, fieldOptions(ds, grid, axis));

  const nSlices = axis ? axis.steps.length : 1;
  const globalMean: number[] = [];
  let min = Infinity, max = -Infinity, missingValues = 0, sum = 0;
  for (let t = 0; t < nSlices; t++) {
    const s = sliceStats(values, t, grid.cellArea);
    globalMean.push(s.mean);
    min = Math.min(min, s.min);
    max = Math.max(max, s.max);
    missingValues += s.missing;
    sum += s.sum;
  }

  const files: FileRecord[] = [];
  for (const plan of plans) {
    const slice = axis ? values.subarray(plan.from * n, plan.to * n) : values;
    const bytes = encodeNetcdf(buildNcFile(plan, grid, axis, slice));
    const written = await writeAtomic(outDir, plan.path, bytes);
    files.push({
      plan,
      written,
      tracking_id: trackingId(ds, plan.name),
      first: axis ? axis.steps[plan.from]! : null,
      last: axis ? axis.steps[plan.to - 1]! : null,
    });
  }
  return { ds, instance_id: instanceId(ds), grid, axis, files, globalMean, min, max, missingValues, sum: axis ? null : sum };
}
