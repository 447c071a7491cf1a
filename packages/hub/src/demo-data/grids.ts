/**
 * Horizontal grids of EUCP-SYN (§3.1, §1.2): regular longitude/latitude, Gaussian and the
 * CORDEX EUR-44 rotated-pole grid, with exact spherical cell areas.
 */

/** Earth radius used for cell areas (m), §3.5. */
export const EARTH_RADIUS_M = 6_371_000;

const RAD = Math.PI / 180;

/** A 1-D coordinate with its cell bounds (`bounds[2k]`, `bounds[2k+1]` enclose `values[k]`). */
export interface Axis1D {
  readonly values: Float64Array;
  readonly bounds: Float64Array;
}

interface GridBase {
  /** CMIP6 `grid` attribute text. */
  readonly description: string;
  readonly nx: number;
  readonly ny: number;
  /** Geographic latitude of each cell (deg), index `j * nx + i`. */
  readonly cellLat: Float64Array;
  /** Geographic longitude of each cell (deg), as stored in the file. */
  readonly cellLon: Float64Array;
  /** Exact spherical area of each cell (m²). */
  readonly cellArea: Float64Array;
}

/** A longitude/latitude grid (regular or Gaussian). */
export interface LonLatGrid extends GridBase {
  readonly kind: 'lonlat';
  readonly lon: Axis1D;
  readonly lat: Axis1D;
}

/** A rotated-pole grid (CF `rotated_latitude_longitude`). */
export interface RotatedGrid extends GridBase {
  readonly kind: 'rotated';
  readonly rlon: Axis1D;
  readonly rlat: Axis1D;
  readonly poleLon: number;
  readonly poleLat: number;
}

export type Grid = LonLatGrid | RotatedGrid;

/** Equally spaced centres `(first + k*step)`, computed from integers so decimals print cleanly. */
function evenAxis(firstTimes100: number, stepTimes100: number, n: number): Axis1D {
  const values = new Float64Array(n);
  const bounds = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const c = firstTimes100 + k * stepTimes100;
    values[k] = c / 100;
    bounds[2 * k] = (2 * c - stepTimes100) / 200;
    bounds[2 * k + 1] = (2 * c + stepTimes100) / 200;
  }
  return { values, bounds };
}

/**
 * Gaussian latitudes: the roots of the Legendre polynomial P_n, ascending (deg). Bounds follow
 * the Gaussian weights (sin φ of the bounds is −1 + the cumulative weight), so each cell's exact
 * area is R²·Δλ·w_j, as in CMOR-written Gaussian grids.
 */
export function gaussianLatitudes(n: number): Axis1D {
  const x = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let z = Math.cos((Math.PI * (k + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = z;
      for (let l = 2; l <= n; l++) {
        const p2 = ((2 * l - 1) * z * p1 - (l - 1) * p0) / l;
        p0 = p1;
        p1 = p2;
      }
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x[n - 1 - k] = z; // roots come out descending; store ascending (south to north)
    w[n - 1 - k] = 2 / ((1 - z * z) * dp * dp);
  }
  const values = new Float64Array(n);
  const bounds = new Float64Array(2 * n);
  let s = -1;
  for (let j = 0; j < n; j++) {
    values[j] = Math.asin(x[j]!) / RAD;
    bounds[2 * j] = Math.asin(Math.max(-1, s)) / RAD;
    s += w[j]!;
    bounds[2 * j + 1] = j === n - 1 ? 90 : Math.asin(Math.min(1, s)) / RAD;
  }
  bounds[0] = -90;
  return { values, bounds };
}

/** Exact area of a cell bounded by two longitudes and two latitudes (deg) on the sphere (m²). */
export function cellAreaM2(lon0: number, lon1: number, lat0: number, lat1: number): number {
  return EARTH_RADIUS_M ** 2 * Math.abs(lon1 - lon0) * RAD * Math.abs(Math.sin(lat1 * RAD) - Math.sin(lat0 * RAD));
}

/** Builds a lon/lat grid from its two axes. */
export function lonLatGrid(lon: Axis1D, lat: Axis1D, description: string): LonLatGrid {
  const nx = lon.values.length;
  const ny = lat.values.length;
  const cellLat = new Float64Array(nx * ny);
  const cellLon = new Float64Array(nx * ny);
  const cellArea = new Float64Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const k = j * nx + i;
      cellLat[k] = lat.values[j]!;
      cellLon[k] = lon.values[i]!;
      cellArea[k] = cellAreaM2(lon.bounds[2 * i]!, lon.bounds[2 * i + 1]!, lat.bounds[2 * j]!, lat.bounds[2 * j + 1]!);
    }
  }
  return { kind: 'lonlat', lon, lat, description, nx, ny, cellLat, cellLon, cellArea };
}

/** Regular grid with `step`° cells; first longitude centre `lon0`°, latitudes centred from −90 + step/2. */
export function regularGrid(stepDeg: number, lon0Deg: number, description: string): LonLatGrid {
  const s100 = Math.round(stepDeg * 100);
  const nx = Math.round(360 / stepDeg);
  const ny = Math.round(180 / stepDeg);
  return lonLatGrid(evenAxis(Math.round(lon0Deg * 100), s100, nx), evenAxis(-9000 + s100 / 2, s100, ny), description);
}

/** Gaussian grid with `nx` equally spaced longitudes from 0° and `ny` Gaussian latitudes. */
export function gaussianGrid(nx: number, ny: number, description: string): LonLatGrid {
  const step = 360 / nx;
  const values = new Float64Array(nx);
  const bounds = new Float64Array(2 * nx);
  for (let i = 0; i < nx; i++) {
    values[i] = i * step;
    bounds[2 * i] = (i - 0.5) * step;
    bounds[2 * i + 1] = (i + 0.5) * step;
  }
  return lonLatGrid({ values, bounds }, gaussianLatitudes(ny), description);
}

/**
 * Rotated-pole → geographic coordinates (deg) for a CF `rotated_latitude_longitude` grid whose
 * north pole sits at geographic (`poleLon`, `poleLat`). Returns longitudes in [−180, 180).
 * Sanity oracle (§1.2): rotated (0, 0) with pole (−162, 39.25) is (18.0 E, 50.75 N).
 */
export function unrotate(rlon: number, rlat: number, poleLon: number, poleLat: number): { lon: number; lat: number } {
  const x = Math.cos(rlat * RAD) * Math.cos(rlon * RAD);
  const y = Math.cos(rlat * RAD) * Math.sin(rlon * RAD);
  const z = Math.sin(rlat * RAD);
  const sp = Math.sin(poleLat * RAD);
  const cp = Math.cos(poleLat * RAD);
  // Tilt about the y axis so the rotated pole lands at latitude poleLat on the 180° meridian…
  const xg = sp * x - cp * z;
  const zg = cp * x + sp * z;
  const lat = Math.asin(Math.max(-1, Math.min(1, zg))) / RAD;
  // …then turn about the polar axis so it lands on poleLon.
  let lon = Math.atan2(y, xg) / RAD + poleLon + 180;
  lon = ((((lon + 180) % 360) + 360) % 360) - 180;
  return { lon, lat };
}

/**
 * A CORDEX rotated grid from the domain table: first centres and step in hundredths of a degree.
 * `stride` > 1 keeps every `stride`-th point (used only by the `tiny` profile).
 */
export function rotatedGrid(
  spec: { rlon0x100: number; rlat0x100: number; stepx100: number; nx: number; ny: number; poleLon: number; poleLat: number },
  stride: number,
  description: string,
): RotatedGrid {
  const nx = Math.ceil(spec.nx / stride);
  const ny = Math.ceil(spec.ny / stride);
  const rlon = evenAxis(spec.rlon0x100, spec.stepx100 * stride, nx);
  const rlat = evenAxis(spec.rlat0x100, spec.stepx100 * stride, ny);
  const cellLat = new Float64Array(nx * ny);
  const cellLon = new Float64Array(nx * ny);
  const cellArea = new Float64Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const k = j * nx + i;
      const g = unrotate(rlon.values[i]!, rlat.values[j]!, spec.poleLon, spec.poleLat);
      cellLat[k] = g.lat;
      cellLon[k] = g.lon;
      // A rotation preserves area, so the exact area in rotated coordinates is the true area.
      cellArea[k] = cellAreaM2(rlon.bounds[2 * i]!, rlon.bounds[2 * i + 1]!, rlat.bounds[2 * j]!, rlat.bounds[2 * j + 1]!);
    }
  }
  return { kind: 'rotated', rlon, rlat, poleLon: spec.poleLon, poleLat: spec.poleLat, description, nx, ny, cellLat, cellLon, cellArea };
}

/** EUR-44 from `CORDEX-CMIP5_rotated_grids.csv` (§1.2): 106 × 103, step 0.44°, pole (−162, 39.25). */
export const EUR44 = { rlon0x100: -2821, rlat0x100: -2321, stepx100: 44, nx: 106, ny: 103, poleLon: -162.0, poleLat: 39.25 } as const;

/** Geographic extent of a grid from its cell bounds (deg): for search docs and STAC. */
export function gridExtent(g: Grid): { west: number; east: number; south: number; north: number } {
  if (g.kind === 'lonlat') {
    return {
      west: g.lon.bounds[0]!,
      east: g.lon.bounds[g.lon.bounds.length - 1]!,
      south: g.lat.bounds[0]!,
      north: g.lat.bounds[g.lat.bounds.length - 1]!,
    };
  }
  let west = Infinity, east = -Infinity, south = Infinity, north = -Infinity;
  for (let k = 0; k < g.cellLat.length; k++) {
    west = Math.min(west, g.cellLon[k]!);
    east = Math.max(east, g.cellLon[k]!);
    south = Math.min(south, g.cellLat[k]!);
    north = Math.max(north, g.cellLat[k]!);
  }
  const r = (v: number): number => Math.round(v * 1e4) / 1e4;
  return { west: r(west), east: r(east), south: r(south), north: r(north) };
}
