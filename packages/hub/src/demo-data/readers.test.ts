/**
 * Independent read-back: ncdump, cdo and xarray (Debian packages installed by the project's
 * setup) must read the generated files, and what they compute must match expected.json.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { listFiles } from '@eucp/testing/files';
import { generateDemoData } from './index.js';
import { CMIP6_REQUIRED_GLOBAL_ATTRIBUTES } from './metadata.js';

const run = promisify(execFile);
const NCDUMP = '/usr/bin/ncdump';
const CDO = '/usr/bin/cdo';
const PYTHON = '/usr/bin/python3';

async function requireTools(): Promise<void> {
  for (const [tool, pkg] of [[NCDUMP, 'netcdf-bin'], [CDO, 'cdo'], [PYTHON, 'python3']] as const) {
    await access(tool, constants.X_OK).catch(() => assert.fail(`${tool} is missing: install the Debian package ${pkg} (the project setup installs it)`));
  }
  await run(PYTHON, ['-c', 'import xarray, netCDF4, numpy']).catch((err: { stderr?: string }) =>
    assert.fail(`${PYTHON} cannot import xarray/netCDF4: install Debian python3-xarray and python3-netcdf4 (${err.stderr ?? ''})`),
  );
}


/** Global and variable attributes from `ncdump -h` (text values unquoted, numbers as text). */
function parseHeader(cdl: string): { global: Map<string, string>; vars: Map<string, Map<string, string>>; dims: Map<string, string> } {
  const global = new Map<string, string>();
  const vars = new Map<string, Map<string, string>>();
  const dims = new Map<string, string>();
  for (const line of cdl.split('\n')) {
    let m = /^\t\t:(\w+) = (.*) ;$/.exec(line);
    if (m) {
      global.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
      continue;
    }
    m = /^\t\t(\w+):(\w+) = (.*) ;$/.exec(line);
    if (m) {
      if (!vars.has(m[1]!)) vars.set(m[1]!, new Map());
      vars.get(m[1]!)!.set(m[2]!, m[3]!.replace(/^"(.*)"$/, '$1'));
      continue;
    }
    m = /^\t(\w+) = (UNLIMITED ; \/\/ \((\d+) currently\)|(\d+) ;)$/.exec(line);
    if (m) dims.set(m[1]!, m[3] ?? m[4]!);
  }
  return { global, vars, dims };
}

interface DatasetOracle {
  files: string[];
  global_mean: number[];
  first_time_iso: string | null;
  missing_values: number;
  sum?: number;
  tolerance: { abs: number; rel: number };
}
interface Expected {
  datasets: Record<string, DatasetOracle>;
  files: Record<string, { dataset: string; n_time: number }>;
  sanity: { areacella_global_sum_m2: number };
}

const within = (actual: number, expected: number, tol: { abs: number; rel: number }): boolean =>
  Math.abs(actual - expected) <= tol.abs + tol.rel * Math.abs(expected);

// Area-weighted means with exact cell areas from the bounds in the file (rotated grids: rlat/rlon
// spacing), NaN-skipping so _FillValue cells drop out; plus the CF rotated-pole check.
const XARRAY_SCRIPT = `
import json, sys
import numpy as np, xarray as xr
root, paths = sys.argv[1], sys.argv[2:]
out = {}
for rel in paths:
    ds = xr.open_dataset(root + "/" + rel, use_cftime=True)
    name = rel.rsplit("/", 1)[1].split("_")[0]
    da = ds[name]
    res = {"dtype": str(da.dtype), "missing": int(da.isnull().sum())}
    if "rlat" in ds.dims:
        ydim, xdim = "rlat", "rlon"
        ry, rx = ds.rlat.values, ds.rlon.values
        dy = np.diff(ry).mean()
        wy = np.abs(np.sin(np.deg2rad(ry + dy / 2)) - np.sin(np.deg2rad(ry - dy / 2)))
        wx = np.full(rx.shape, np.abs(np.diff(rx).mean()))
        rp = ds.rotated_pole.attrs
        pp, pl = np.deg2rad(rp["grid_north_pole_latitude"]), rp["grid_north_pole_longitude"]
        rlon, rlat = np.meshgrid(np.deg2rad(rx), np.deg2rad(ry))
        lat = np.rad2deg(np.arcsin(np.sin(rlat) * np.sin(pp) + np.cos(rlat) * np.cos(rlon) * np.cos(pp)))
        lon = np.rad2deg(np.arctan2(np.cos(rlat) * np.sin(rlon), np.sin(pp) * np.cos(rlat) * np.cos(rlon) - np.cos(pp) * np.sin(rlat))) + pl + 180
        lon = (lon + 180) % 360 - 180
        res["max_lat_error"] = float(np.abs(lat - ds.lat.values).max())
        res["max_lon_error"] = float(np.abs(lon - ds.lon.values).max())
    else:
        ydim, xdim = "lat", "lon"
        lb, xb = ds.lat_bnds.values, ds.lon_bnds.values
        wy = np.abs(np.sin(np.deg2rad(lb[:, 1])) - np.sin(np.deg2rad(lb[:, 0])))
        wx = np.abs(xb[:, 1] - xb[:, 0])
    w = xr.DataArray(wy, dims=(ydim,)) * xr.DataArray(wx, dims=(xdim,))
    if "time" in da.dims:
        res["global_mean"] = [float(v) for v in da.weighted(w).mean((ydim, xdim)).values]
        res["first_time"] = ds.time.values[0].isoformat()
    else:
        res["sum"] = float(da.astype("float64").sum())
    out[rel] = res
print(json.dumps(out))
`;

describe('generated files are read by ncdump, cdo and xarray (tiny profile)', () => {
  let dir: string;
  let files: string[];
  let expected: Expected;

  before(async () => {
    await requireTools();
    dir = await mkdtemp(join(tmpdir(), 'eucp-syn-read-'));
    await generateDemoData({ profile: 'tiny', outDir: dir });
    files = (await listFiles(dir)).filter((f) => f.endsWith('.nc'));
    expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Expected;
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ncdump -h reads every file; CMIP6 files carry the 30 required attributes, consistent with their DRS path', async () => {
    assert.equal(files.length, 25);
    for (const f of files) {
      const { stdout } = await run(NCDUMP, ['-h', join(dir, f)]);
      const { global: g, vars } = parseHeader(stdout);
      const variable = f.split('/').pop()!.split('_')[0]!;
      const v = vars.get(variable);
      assert.ok(v, `${f}: no variable ${variable}`);
      assert.equal(v.get('_FillValue'), '1.e+20f', `${f}: _FillValue`);
      assert.match(g.get('comment') ?? '', /^SYNTHETIC TEST DATA generated by eucp-syn \S+; not model output$/, f);
      if (f.startsWith('CMIP6/')) {
        for (const a of CMIP6_REQUIRED_GLOBAL_ATTRIBUTES) assert.ok(g.has(a), `${f}: missing required attribute ${a}`);
        assert.match(g.get('Conventions')!, /^CF-1.7 CMIP-6.[0-2]( UGRID-1.0)?$/);
        assert.match(g.get('tracking_id')!, /^hdl:21\.14100\/[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, f);
        const [, , institution, source, experiment, member, table, varId, grid, version] = f.split('/');
        assert.equal(g.get('creation_date'), `${version!.slice(1, 5)}-${version!.slice(5, 7)}-${version!.slice(7, 9)}T00:00:00Z`, f);
        assert.equal(g.get('institution_id'), institution, f);
        assert.equal(g.get('source_id'), source, f);
        assert.equal(g.get('experiment_id'), experiment, f);
        const sub = g.get('sub_experiment_id')!;
        assert.equal(sub === 'none' ? g.get('variant_label') : `${sub}-${g.get('variant_label')}`, member, f);
        assert.equal(g.get('table_id'), table, f);
        assert.equal(g.get('variable_id'), varId, f);
        assert.equal(g.get('grid_label'), grid, f);
        assert.equal(
          g.get('further_info_url'),
          `https://furtherinfo.es-doc.org/CMIP6.${institution}.${source}.${experiment}.${sub}.${g.get('variant_label')}`,
        );
        if (experiment === 'ssp585') {
          for (const a of ['parent_experiment_id', 'parent_variant_label', 'branch_time_in_parent', 'branch_time_in_child', 'parent_time_units']) {
            assert.ok(g.has(a), `${f}: ssp585 needs ${a}`);
          }
        }
      } else {
        assert.equal(g.get('project_id'), 'CORDEX');
        assert.equal(g.get('Conventions'), 'CF-1.6');
        assert.equal(g.get('CORDEX_domain'), 'EUR-44');
        assert.equal(g.get('model_id'), 'SYNRCM-RCM1');
        assert.equal(v.get('grid_mapping'), 'rotated_pole');
        assert.equal(vars.get('rotated_pole')?.get('grid_mapping_name'), 'rotated_latitude_longitude');
      }
    }
  });

  it('xarray and cdo open every file and read its data variable', async () => {
    const py = await run(PYTHON, ['-c', [
      'import sys, xarray as xr',
      'for p in sys.argv[2:]:',
      '    ds = xr.open_dataset(sys.argv[1] + "/" + p, use_cftime=True)',
      '    v = p.rsplit("/", 1)[1].split("_")[0]',
      '    assert ds[v].size > 0 and ds[v].load().notnull().any(), p',
      'print(len(sys.argv) - 2)',
    ].join('\n'), dir, ...files]);
    assert.equal(Number(py.stdout.trim()), files.length);
    for (const f of files) {
      const info = await run(CDO, ['-s', 'sinfon', join(dir, f)]);
      assert.match(info.stdout, /Grid coordinates/, `cdo sinfon ${f}`);
    }
  });

  it('cdo reads the two files of data set #2 as one continuous monthly noleap series', async () => {
    const ds2 = expected.datasets['CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601']!;
    assert.equal(ds2.files.length, 2);
    const paths = ds2.files.map((f) => join(dir, f));
    for (const p of paths) {
      const { stdout } = await run(CDO, ['-s', 'sinfon', p]);
      assert.match(stdout, /lonlat\s+: points=648 \(36x18\)/);
      assert.match(stdout, /Calendar = 365_day/);
      assert.match(stdout, /time : 12 steps/);
    }
    const dates = (await run(CDO, ['-s', 'showdate', '-mergetime', ...paths])).stdout.trim().split(/\s+/);
    assert.equal(dates.length, 24);
    assert.equal(dates[0], '2005-01-16');
    assert.equal(dates[23], '2006-12-16');
    // cdo weights cells its own way (not the exact areas of the oracle), hence the loose bound.
    const fld = (await run(CDO, ['-s', 'outputtab,value', '-fldmean', paths[0]!])).stdout.trim().split('\n').slice(1).map(Number);
    fld.forEach((v, k) => assert.ok(Math.abs(v - ds2.global_mean[k]!) < 0.1, `cdo fldmean ${v} vs oracle ${ds2.global_mean[k]}`));
  });

  it('cdo reads the CORDEX files as a rotated-pole grid in the noleap calendar', async () => {
    for (const f of files.filter((x) => x.startsWith('cordex/'))) {
      const { stdout } = await run(CDO, ['-s', 'sinfon', join(dir, f)]);
      assert.match(stdout, /mapping : rotated_latitude_longitude/, f);
      assert.match(stdout, /RefTime =\s+1949-12-01 00:00:00\s+Units = days\s+Calendar = 365_day/, f);
    }
  });

  it('xarray decodes time and _FillValue, and its area-weighted means match expected.json within tolerance', async () => {
    const byDataset = (id: string, fileIndex = 0): string => expected.datasets[id]!.files[fileIndex]!;
    const picks = [
      byDataset('CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601', 1),
      byDataset('CMIP6.CMIP.FAKEMET.FAKE-CM2-MR.historical.r1i1p1f2.Amon.tas.gn.v20191115'),
      byDataset('CMIP6.ScenarioMIP.MOCKIT.MOCK-GCM3.ssp585.r1i1p1f1.Amon.pr.gr.v20200210'),
      byDataset('CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.day.tasmax.gn.v20190601'),
      byDataset('cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.tas.v20200101'),
      byDataset('CMIP6.CMIP.FAKEMET.FAKE-CM2-MR.historical.r1i1p1f2.fx.areacella.gn.v20191115'),
    ];
    const { stdout } = await run(PYTHON, ['-c', XARRAY_SCRIPT, dir, ...picks], { maxBuffer: 16 << 20 });
    const got = JSON.parse(stdout) as Record<string, { dtype: string; missing: number; global_mean?: number[]; first_time?: string; sum?: number; max_lat_error?: number; max_lon_error?: number }>;
    for (const rel of picks) {
      const r = got[rel]!;
      const id = expected.files[rel]!.dataset;
      const o = expected.datasets[id]!;
      assert.equal(r.dtype, 'float32', rel);
      if (o.sum !== undefined) {
        assert.ok(within(r.sum!, expected.sanity.areacella_global_sum_m2, o.tolerance), `${rel}: total area ${r.sum} is not 4*pi*R^2`);
        continue;
      }
      const offset = o.files.slice(0, o.files.indexOf(rel)).reduce((n, f) => n + expected.files[f]!.n_time, 0);
      const want = o.global_mean.slice(offset, offset + expected.files[rel]!.n_time);
      assert.equal(r.global_mean!.length, want.length, rel);
      r.global_mean!.forEach((v, k) => assert.ok(within(v, want[k]!, o.tolerance), `${rel}[${k}]: xarray ${v}, expected ${want[k]}`));
      if (offset === 0) assert.equal(`${r.first_time}Z`, o.first_time_iso, `${rel}: first time stamp`);
      assert.equal(r.missing, o.missing_values, `${rel}: cells decoded as missing`);
      if (r.max_lat_error !== undefined) {
        assert.ok(r.max_lat_error < 1e-9 && r.max_lon_error! < 1e-9, `${rel}: lat/lon disagree with rotated_pole (${r.max_lat_error}, ${r.max_lon_error})`);
      }
    }
    const patched = got[picks[2]!]!;
    assert.equal(patched.missing, 4, 'the 2x2 fill-value patch of data set #18 decodes as 4 missing cells');
  });
});

describe('default profile follows the spec grids and periods', () => {
  let dir: string;
  before(async () => {
    await requireTools();
    dir = await mkdtemp(join(tmpdir(), 'eucp-syn-default-'));
    await generateDemoData({ profile: 'default', outDir: dir });
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has the grid sizes of section 3.1 and the time steps of section 3.2', async () => {
    const header = async (rel: string) => parseHeader((await run(NCDUMP, ['-h', join(dir, rel)])).stdout);
    const cases: Array<[string, Record<string, string>]> = [
      ['CMIP6/CMIP/SYNLAB/SYN-ESM1-0-LR/historical/r1i1p1f1/Amon/tas/gn/v20190601/tas_Amon_SYN-ESM1-0-LR_historical_r1i1p1f1_gn_201001-201412.nc', { time: '60', lat: '36', lon: '72' }],
      ['CMIP6/CMIP/SYNLAB/SYN-ESM1-0-LR/historical/r1i1p1f1/day/tasmax/gn/v20190601/tasmax_day_SYN-ESM1-0-LR_historical_r1i1p1f1_gn_20140101-20141231.nc', { time: '365', lat: '36', lon: '72' }],
      ['CMIP6/ScenarioMIP/FAKEMET/FAKE-CM2-MR/ssp585/r1i1p1f2/Amon/pr/gn/v20200901/pr_Amon_FAKE-CM2-MR_ssp585_r1i1p1f2_gn_201501-202412.nc', { time: '120', lat: '32', lon: '64' }],
      ['CMIP6/CMIP/MOCKIT/MOCK-GCM3/historical/r1i1p1f1/Amon/tas/gr/v20200210/tas_Amon_MOCK-GCM3_historical_r1i1p1f1_gr_200501-201412.nc', { time: '120', lat: '45', lon: '90' }],
      ['CMIP6/DCPP/SYNLAB/SYN-ESM1-0-LR/dcppA-hindcast/s2010-r1i1p1f1/Amon/tas/gn/v20190601/tas_Amon_SYN-ESM1-0-LR_dcppA-hindcast_s2010-r1i1p1f1_gn_201011-201512.nc', { time: '62' }],
      ['cordex/output/EUR-44/SYNRCM/SYNLAB-SYN-ESM1-0-LR/rcp85/r1i1p1/SYNRCM-RCM1/v1/mon/pr/v20200101/pr_EUR-44_SYNLAB-SYN-ESM1-0-LR_rcp85_r1i1p1_SYNRCM-RCM1_v1_mon_200601-200712.nc', { time: '24', rlat: '103', rlon: '106' }],
    ];
    for (const [rel, dims] of cases) {
      const h = await header(rel);
      for (const [d, n] of Object.entries(dims)) assert.equal(h.dims.get(d), n, `${rel}: dimension ${d}`);
    }
    const gaussian = (await run(NCDUMP, ['-v', 'lat', join(dir, cases[2]![0])])).stdout;
    assert.match(gaussian, /lat = -85\.7605871204438, /, 'first Gaussian latitude of N=32');
    const c = (await run(NCDUMP, ['-v', 'lon', join(dir, cases[3]![0])])).stdout;
    assert.match(c, /lon = -178, -174, [\s\S]* 174, 178 ;/, 'model C longitudes run -178..178');
  });

  it('is about the size the spec states (NetCDF part 20-35 MB)', async () => {
    let total = 0;
    for (const f of (await listFiles(dir)).filter((x) => x.endsWith('.nc'))) total += (await stat(join(dir, f))).size;
    assert.ok(total > 20e6 && total < 35e6, `NetCDF total ${total} bytes`);
  });
});
