/**
 * Field definitions of EUCP-SYN (§3.5): deterministic, realistic-magnitude `tas`, `pr`,
 * `tasmax` and `areacella`, plus the counter-based noise they share.
 */
import type { TimeStep } from './calendar.js';
import type { Grid } from './grids.js';

/** CMIP6 missing value / `_FillValue` (float32 1e20). */
export const FILL_VALUE = 1e20;

/** 32-bit FNV-1a hash of a string's UTF-8 bytes. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** SplitMix32-style finaliser: a well-mixed 32-bit function of a 32-bit input. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Noise ε ∈ (−1, 1) for cell (i, j) at time index t of the data set seeded by `seed`
 * (= fnv1a(instance_id)): the mean of three uniforms, each from a counter-based hash, so a value
 * never depends on the order in which values are generated.
 */
export function noise(seed: number, i: number, j: number, t: number): number {
  const key = mix32(seed ^ mix32(i ^ mix32(j ^ mix32(t))));
  let sum = 0;
  for (let k = 1; k <= 3; k++) sum += (mix32(key + Math.imul(k, 0x632be5ab)) + 0.5) / 4294967296;
  return (2 * sum) / 3 - 1;
}

/** Per-model constants of the `tas` / `pr` formulas. */
export interface FieldModel {
  /** Base temperature T0 (K). */
  readonly t0: number;
  /** Warming-rate scale s. */
  readonly s: number;
}

/**
 * Forced warming ΔT (K) at a decimal year: 0.02 K/yr·s from 2005 (historical), then from the
 * 2015 value at 0.05 K/yr·s (ssp585 and later). The decimal year (not the calendar year) keeps
 * the series smooth across January.
 */
export function deltaT(decimalYear: number, s: number): number {
  return decimalYear < 2015 ? 0.02 * (decimalYear - 2005) * s : (0.2 + 0.05 * (decimalYear - 2015)) * s;
}

/** Modifiers for one data set: the errata bugs, member offsets and the fill-value patch. */
export interface FieldOptions {
  readonly model: FieldModel;
  /** fnv1a(instance_id). */
  readonly seed: number;
  /** Added to every `tas` / `tasmax` value (K): +0.1 for member r2 of model A, +0.5 for the #1 bug. */
  readonly offsetK: number;
  /** Multiplies `pr` (86400 for the retracted units bug of #12). */
  readonly prScale: number;
  /** Orography-like lapse-rate term over the Alps (CORDEX fields). */
  readonly orography: boolean;
  /** Sets a 2×2 block of cells to the fill value at one time index (data set #18). */
  readonly fillPatch?: { readonly t: number; readonly i0: number; readonly j0: number };
}

const RAD = Math.PI / 180;

/** A smooth bump (m) over the Alps at (10°E, 46°N): 2000 m peak, ~2° wide. */
export function alpsHeight(lonDeg: number, latDeg: number): number {
  const dx = (lonDeg - 10) * Math.cos(46 * RAD);
  const dy = latDeg - 46;
  return 2000 * Math.exp(-(dx * dx + dy * dy) / (2 * 2 * 2));
}

/** Precomputed per-cell terms, so the inner loops only do per-time work. */
interface CellTerms {
  sinLat: Float64Array;
  tasStatic: Float64Array; // −30·P2(sin φ) + 3·cos φ·cos λ − 6.5e-3·z
  absLat: Float64Array;
}

function cellTerms(grid: Grid, orography: boolean): CellTerms {
  const n = grid.cellLat.length;
  const sinLat = new Float64Array(n);
  const tasStatic = new Float64Array(n);
  const absLat = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const phi = grid.cellLat[k]! * RAD;
    const lam = grid.cellLon[k]! * RAD;
    const sp = Math.sin(phi);
    sinLat[k] = sp;
    absLat[k] = Math.abs(grid.cellLat[k]!);
    const p2 = (3 * sp * sp - 1) / 2;
    tasStatic[k] = -30 * p2 + 3 * Math.cos(phi) * Math.cos(lam) - (orography ? 6.5e-3 * alpsHeight(grid.cellLon[k]!, grid.cellLat[k]!) : 0);
  }
  return { sinLat, tasStatic, absLat };
}

/** Which field to compute. */
export type FieldKind = 'tas' | 'pr' | 'tasmax';

/**
 * Values of a time-varying field on `grid` at the given steps, as float32, C order
 * `[time][lat][lon]`. `t0Index` is the index of `steps[0]` within the whole data set, so files
 * of a multi-file data set continue the same noise sequence.
 */
export function timeField(kind: FieldKind, grid: Grid, steps: readonly TimeStep[], t0Index: number, o: FieldOptions): Float32Array {
  const { nx, ny } = grid;
  const n = nx * ny;
  const out = new Float32Array(steps.length * n);
  const c = cellTerms(grid, o.orography);
  steps.forEach((st, ti) => {
    const t = t0Index + ti;
    const dT = deltaT(st.decimalYear, o.model.s);
    const season = Math.cos(2 * Math.PI * st.f);
    const itcz = 6 * Math.sin(2 * Math.PI * (st.f - 0.25));
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const k = j * nx + i;
        const eps = noise(o.seed, i, j, t);
        let v: number;
        if (kind === 'pr') {
          const lat = grid.cellLat[k]!;
          const band =
            0.4 + 2.2 * Math.exp(-((lat - itcz) ** 2) / (2 * 8 * 8)) + 0.9 * Math.exp(-((c.absLat[k]! - 50) ** 2) / (2 * 12 * 12));
          v = Math.max(0, 2.5e-5 * band * (1 + 0.02 * dT) * Math.exp(0.3 * eps - 0.045)) * o.prScale;
        } else {
          v = o.model.t0 + dT + c.tasStatic[k]! - 15 * c.sinLat[k]! * season + 0.8 * eps + o.offsetK;
          // tasmax reuses the same ε: "daily tas formula + 5 + 1.5·ε".
          if (kind === 'tasmax') v += 5 + 1.5 * eps;
        }
        out[ti * n + k] = v;
      }
    }
  });
  const p = o.fillPatch;
  if (p && p.t >= t0Index && p.t < t0Index + steps.length) {
    for (const [di, dj] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) out[(p.t - t0Index) * n + (p.j0 + dj) * nx + (p.i0 + di)] = FILL_VALUE;
  }
  return out;
}

/** `areacella` (m²): the exact spherical cell areas, stored as float32. */
export function areaField(grid: Grid): Float32Array {
  return Float32Array.from(grid.cellArea);
}

/** Area-weighted statistics of one time step or a static field, skipping fill values. */
export interface SliceStats {
  /** Area-weighted mean over valid cells (exact areas, float32 values widened to double). */
  readonly mean: number;
  /** Plain sum of valid values (for `areacella`: the total area). */
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly missing: number;
}

/** Statistics of slice `t` (of size nx·ny) of `values`. */
export function sliceStats(values: Float32Array, t: number, area: Float64Array): SliceStats {
  const n = area.length;
  let wsum = 0, asum = 0, sum = 0, min = Infinity, max = -Infinity, missing = 0;
  for (let k = 0; k < n; k++) {
    const v = values[t * n + k]!;
    if (v >= FILL_VALUE * 0.5) {
      missing++;
      continue;
    }
    wsum += v * area[k]!;
    asum += area[k]!;
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { mean: wsum / asum, sum, min, max, missing };
}
