/**
 * Assembles one NetCDF file (dimensions, CF coordinates, data variable, global attributes) as
 * CMOR writes it (§1.1 coordinates; §1.2 rotated-pole layout for CORDEX).
 */
import type { TimeAxis } from './calendar.js';
import type { FilePlan } from './drs.js';
import { FILL_VALUE } from './fields.js';
import type { Grid, LonLatGrid, RotatedGrid } from './grids.js';
import { globalAttrs } from './metadata.js';
import { ncAttr, type NcAttrs, type NcDim, type NcFile, type NcVar } from './netcdf.js';

function timeVars(axis: TimeAxis, from: number, to: number): NcVar[] {
  const steps = axis.steps.slice(from, to);
  const bnds = new Float64Array(2 * steps.length);
  steps.forEach((s, k) => {
    bnds[2 * k] = s.lower;
    bnds[2 * k + 1] = s.upper;
  });
  return [
    {
      name: 'time',
      dims: ['time'],
      type: 'double',
      attrs: [
        ['bounds', 'time_bnds'],
        ['units', axis.units],
        ['calendar', axis.calendar],
        ['axis', 'T'],
        ['long_name', 'time'],
        ['standard_name', 'time'],
      ],
      data: Float64Array.from(steps, (s) => s.value),
    },
    { name: 'time_bnds', dims: ['time', 'bnds'], type: 'double', attrs: [], data: bnds },
  ];
}

function lonLatVars(g: LonLatGrid): NcVar[] {
  return [
    {
      name: 'lat',
      dims: ['lat'],
      type: 'double',
      attrs: [
        ['bounds', 'lat_bnds'],
        ['units', 'degrees_north'],
        ['axis', 'Y'],
        ['long_name', 'Latitude'],
        ['standard_name', 'latitude'],
      ],
      data: g.lat.values,
    },
    { name: 'lat_bnds', dims: ['lat', 'bnds'], type: 'double', attrs: [], data: g.lat.bounds },
    {
      name: 'lon',
      dims: ['lon'],
      type: 'double',
      attrs: [
        ['bounds', 'lon_bnds'],
        ['units', 'degrees_east'],
        ['axis', 'X'],
        ['long_name', 'Longitude'],
        ['standard_name', 'longitude'],
      ],
      data: g.lon.values,
    },
    { name: 'lon_bnds', dims: ['lon', 'bnds'], type: 'double', attrs: [], data: g.lon.bounds },
  ];
}

function rotatedVars(g: RotatedGrid): NcVar[] {
  return [
    {
      name: 'rlat',
      dims: ['rlat'],
      type: 'double',
      attrs: [
        ['standard_name', 'grid_latitude'],
        ['long_name', 'latitude in rotated pole grid'],
        ['units', 'degrees'],
        ['axis', 'Y'],
      ],
      data: g.rlat.values,
    },
    {
      name: 'rlon',
      dims: ['rlon'],
      type: 'double',
      attrs: [
        ['standard_name', 'grid_longitude'],
        ['long_name', 'longitude in rotated pole grid'],
        ['units', 'degrees'],
        ['axis', 'X'],
      ],
      data: g.rlon.values,
    },
    {
      name: 'rotated_pole',
      dims: [],
      type: 'char',
      attrs: [
        ['grid_mapping_name', 'rotated_latitude_longitude'],
        ['grid_north_pole_latitude', ncAttr.double(g.poleLat)],
        ['grid_north_pole_longitude', ncAttr.double(g.poleLon)],
      ],
      data: new Uint8Array(1),
    },
    {
      name: 'lat',
      dims: ['rlat', 'rlon'],
      type: 'double',
      attrs: [
        ['standard_name', 'latitude'],
        ['long_name', 'latitude'],
        ['units', 'degrees_north'],
      ],
      data: g.cellLat,
    },
    {
      name: 'lon',
      dims: ['rlat', 'rlon'],
      type: 'double',
      attrs: [
        ['standard_name', 'longitude'],
        ['long_name', 'longitude'],
        ['units', 'degrees_east'],
      ],
      data: g.cellLon,
    },
  ];
}

const HEIGHT: NcVar = {
  name: 'height',
  dims: [],
  type: 'double',
  attrs: [
    ['units', 'm'],
    ['axis', 'Z'],
    ['positive', 'up'],
    ['long_name', 'height'],
    ['standard_name', 'height'],
  ],
  data: Float64Array.of(2.0),
};

/**
 * The NetCDF description of one planned file. `values` holds exactly this file's data in C
 * order (`[time][y][x]`, or `[y][x]` for fx), already float32.
 */
export function buildNcFile(plan: FilePlan, grid: Grid, axis: TimeAxis | null, values: Float32Array): NcFile {
  const { ds } = plan;
  const v = ds.variable;
  const [ydim, xdim] = grid.kind === 'rotated' ? ['rlat', 'rlon'] : ['lat', 'lon'];
  const dims: NcDim[] = [];
  if (axis) dims.push({ name: 'time', size: 'unlimited' });
  dims.push({ name: ydim, size: grid.ny }, { name: xdim, size: grid.nx });
  if (axis || grid.kind === 'lonlat') dims.push({ name: 'bnds', size: 2 });

  const vars: NcVar[] = [];
  if (axis) vars.push(...timeVars(axis, plan.from, plan.to));
  vars.push(...(grid.kind === 'rotated' ? rotatedVars(grid) : lonLatVars(grid)));
  if (v.height) vars.push(HEIGHT);

  const coordinates = grid.kind === 'rotated' ? (v.height ? 'lat lon height' : 'lat lon') : v.height ? 'height' : undefined;
  const attrs: Array<NcAttrs[number]> = [
    ['standard_name', v.standard_name],
    ['long_name', v.long_name],
    ['comment', v.comment],
    ['units', v.units],
    ['original_name', v.variable_id],
    ['cell_methods', v.cell_methods],
  ];
  if (v.cell_measures) attrs.push(['cell_measures', v.cell_measures]);
  if (grid.kind === 'rotated') attrs.push(['grid_mapping', 'rotated_pole']);
  if (coordinates) attrs.push(['coordinates', coordinates]);
  attrs.push(['missing_value', ncAttr.float(FILL_VALUE)], ['_FillValue', ncAttr.float(FILL_VALUE)]);
  vars.push({ name: v.variable_id, dims: axis ? ['time', ydim, xdim] : [ydim, xdim], type: 'float', attrs, data: values });

  return { dims, attrs: globalAttrs(ds, plan.name, grid.description), vars };
}
