/**
 * The NetCDF header readers against Unidata's `ncdump -h` (netcdf-bin), netcdfjs and cftime:
 * every EUCP-SYN demo file (CDF-2), files written by Debian's python3-netCDF4 in the other
 * formats (CDF-1, CDF-5, NETCDF4 with groups, NETCDF4_CLASSIC) and calendars, and broken files.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { NetCDFReader } from 'netcdfjs';
import { listFiles } from '@eucp/testing/files';
import { generateDemoData } from '../../demo-data/index.js';
import { ncInvalidReason, openNetcdf, readNetcdfHeader, type NcAttrValue, type NcHeader } from './index.js';
import { parseCdl, type CdlValue } from './testing.js';

const run = promisify(execFile);
const NCDUMP = '/usr/bin/ncdump';
const PYTHON = '/usr/bin/python3';

function sameValue(ours: NcAttrValue | undefined, theirs: CdlValue, what: string): void {
  assert.notEqual(ours, undefined, `${what}: missing`);
  if (typeof theirs === 'string' || (Array.isArray(theirs) && typeof theirs[0] === 'string')) {
    assert.deepEqual(ours, theirs, what);
    return;
  }
  assert.ok(Array.isArray(ours), `${what}: ${JSON.stringify(ours)} is not numeric`);
  assert.equal(ours.length, theirs.length, `${what}: length`);
  (theirs as number[]).forEach((t, k) => {
    const o = (ours as number[])[k]!;
    // ncdump prints floats with 7 and doubles with 15-17 significant digits.
    assert.ok(Number.isNaN(t) ? Number.isNaN(o) : Math.abs(o - t) <= 1e-6 * Math.abs(t), `${what}[${k}]: ${o} vs ${t}`);
  });
}

/** Our header equals ncdump's: dimensions, variables (type, dims, every attribute), global attributes, group names. */
async function assertMatchesNcdump(path: string, h: NcHeader): Promise<void> {
  const { stdout } = await run(NCDUMP, ['-h', path], { maxBuffer: 64 * 1024 * 1024 });
  const cdl = parseCdl(stdout);
  assert.deepEqual(h.dimensions, cdl.dimensions, `${path}: dimensions`);
  assert.deepEqual(h.variables.map((v) => `${v.type} ${v.name}(${v.dims.join(', ')})`), cdl.variables.map((v) => `${v.type} ${v.name}(${v.dims.join(', ')})`), `${path}: variables`);
  for (const cv of cdl.variables) {
    const ov = h.variables.find((v) => v.name === cv.name)!;
    assert.deepEqual(Object.keys(ov.attributes), Object.keys(cv.attributes), `${path}: attributes of ${cv.name}`);
    for (const [k, val] of Object.entries(cv.attributes)) sameValue(ov.attributes[k], val, `${path} ${cv.name}:${k}`);
  }
  assert.deepEqual(Object.keys(h.attributes), Object.keys(cdl.attributes), `${path}: global attributes`);
  for (const [k, val] of Object.entries(cdl.attributes)) sameValue(h.attributes[k], val, `${path} :${k}`);
  assert.deepEqual(h.groups.map((g) => g.name), cdl.groups, `${path}: groups`);
  const { stdout: kind } = await run(NCDUMP, ['-k', path]);
  assert.equal(h.format, kind.trim(), `${path}: format`);
}

/** First and last time as cftime decodes them (`isoformat`, seconds precision). */
async function cftimeRanges(paths: string[]): Promise<Record<string, [string, string] | null>> {
  const script = `
import json, sys, netCDF4, cftime
out = {}
for p in sys.argv[1:]:
    with netCDF4.Dataset(p) as ds:
        t = ds.variables.get("time")
        if t is None or len(t) == 0:
            out[p] = None; continue
        cal = getattr(t, "calendar", "standard")
        d = cftime.num2date([t[0], t[-1]], t.units, cal)
        out[p] = [x.strftime("%Y-%m-%dT%H:%M:%SZ") for x in d]
print(json.dumps(out))
`;
  const { stdout } = await run(PYTHON, ['-c', script, ...paths], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, [string, string] | null>;
}

async function expectInvalid(path: string, reason: string): Promise<void> {
  await assert.rejects(readNetcdfHeader(path), (err: unknown) => {
    assert.equal(ncInvalidReason(err), reason, `${path}: ${(err as Error).message}`);
    return true;
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eucp-nc-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('EUCP-SYN demo files (CDF-2)', () => {
  let root: string;
  let files: string[];
  before(async () => {
    root = join(dir, 'demo');
    await generateDemoData({ profile: 'tiny', outDir: root });
    files = (await listFiles(root)).filter((f) => f.endsWith('.nc')).map((f) => join(root, f));
  });

  it('every file: the header equals ncdump -h (dimensions, variables, all attributes) and the format is 64-bit offset', async () => {
    assert.equal(files.length, 25);
    for (const f of files) await assertMatchesNcdump(f, await readNetcdfHeader(f));
  });

  it('every file: the first/last time equals cftime; equals expected.json for each data set', async () => {
    const ref = await cftimeRanges(files);
    const expected = JSON.parse(await readFile(join(root, 'expected.json'), 'utf8')) as {
      datasets: Record<string, { files: string[]; first_time_iso: string | null; last_time_iso: string | null }>;
    };
    for (const f of files) {
      const h = await readNetcdfHeader(f);
      assert.deepEqual(h.time ? [h.time.firstIso, h.time.lastIso] : null, ref[f], f);
    }
    for (const ds of Object.values(expected.datasets)) {
      const first = await readNetcdfHeader(join(root, ds.files[0]!));
      const last = await readNetcdfHeader(join(root, ds.files[ds.files.length - 1]!));
      assert.equal(first.time?.firstIso ?? null, ds.first_time_iso);
      assert.equal(last.time?.lastIso ?? null, ds.last_time_iso);
    }
  });

  it('agrees with netcdfjs (an independent JS reader of whole CDF-2 buffers)', async () => {
    for (const f of files.filter((x) => !x.includes('/fx/')).slice(0, 6)) {
      const theirs = new NetCDFReader(await readFile(f));
      const ours = await readNetcdfHeader(f);
      assert.deepEqual(ours.variables.map((v) => v.name), theirs.variables.map((v) => v.name));
      assert.deepEqual(ours.dimensions.map((d) => [d.name, d.size]), theirs.dimensions.map((d) => [d.name, d.name === theirs.recordDimension.name ? theirs.recordDimension.length : d.size]));
      for (const a of theirs.globalAttributes) assert.deepEqual(ours.attributes[a.name], typeof a.value === 'string' ? a.value : [a.value].flat());
      const r = await openNetcdf(f);
      try {
        assert.deepEqual([...(await r.readValues('time'))], theirs.getDataVariable('time'));
        assert.deepEqual([...(await r.readValues('lat'))], theirs.getDataVariable('lat'));
      } finally {
        await r.close();
      }
    }
  });
});

const WRITE_FILES = `
import sys, numpy as np, netCDF4
out = sys.argv[1]
def common(d, cal, units, times, big_attr=False):
    d.createDimension('time', None); d.createDimension('lat', 3); d.createDimension('lon', 4); d.createDimension('bnds', 2)
    t = d.createVariable('time', 'f8', ('time',)); t.units = units; t.calendar = cal; t.standard_name = 'time'; t.axis = 'T'
    t[:] = np.array(times)
    la = d.createVariable('lat', 'f8', ('lat',)); la.units = 'degrees_north'; la.standard_name = 'latitude'; la[:] = [-60., 0., 60.]
    lb = d.createVariable('lat_bnds', 'f8', ('lat', 'bnds')); lb[:] = [[-90, -30], [-30, 30], [30, 90]]
    v = d.createVariable('tas', 'f4', ('time', 'lat', 'lon'), fill_value=np.float32(1e20))
    v.units = 'K'; v.standard_name = 'air_temperature'; v.long_name = 'Near-Surface Air Temperature'
    v[:] = np.full((len(times), 3, 4), 280., dtype='f4')
    d.title = 'reader test'; d.Conventions = 'CF-1.7'; d.realization_index = np.int32(1); d.branch_time = 2.5
    d.pair = np.array([1.5, -2.25]); d.tiny = np.int16(-3)
    if big_attr: d.history = 'x' * 100000
for fmt, name, cal, units, times in [
    ('NETCDF4', 'nc4.nc', 'noleap', 'days since 1850-01-01 00:00:00', [15.5, 45., 74.5]),
    ('NETCDF4_CLASSIC', 'nc4c.nc', '360_day', 'days since 2000-01-01', [15., 45., 359.]),
    ('NETCDF3_CLASSIC', 'cdf1.nc', 'standard', 'hours since 1582-10-04 12:00:00', [0., 12., 36.]),
    ('NETCDF3_64BIT_DATA', 'cdf5.nc', 'all_leap', 'minutes since 2001-02-28 00:00', [0., 1440., 2880.]),
    ('NETCDF3_64BIT_OFFSET', 'julian.nc', 'julian', 'days since 1900-02-28', [0., 1., 365.25]),
    ('NETCDF3_64BIT_OFFSET', 'bighead.nc', 'proleptic_gregorian', 'seconds since 1970-01-01T00:00:00Z', [0., 86399., 951782400.]),
]:
    d = netCDF4.Dataset(out + '/' + name, 'w', format=fmt)
    common(d, cal, units, times, big_attr=(name == 'bighead.nc'))
    if fmt == 'NETCDF4':
        g = d.createGroup('extra'); g.createDimension('x', 5); x = g.createVariable('x', 'i8', ('x',)); x.note = 'in a group'
        s = d.createVariable('label', str, ('lat',)); s.long_name = 'strings'
        u = d.createVariable('flags', 'u1', ('lon',))
        d.setncattr_string('tags', ['a', 'b'])
    if fmt == 'NETCDF3_64BIT_DATA':
        d.createVariable('counts', 'i8', ('lon',)); d.createVariable('mask', 'u1', ('lat', 'lon'))
    d.close()
`;

describe('files written by python3-netCDF4 in every format', () => {
  let out: string;
  const names = ['nc4.nc', 'nc4c.nc', 'cdf1.nc', 'cdf5.nc', 'julian.nc', 'bighead.nc'];
  before(async () => {
    out = join(dir, 'py');
    await run('mkdir', ['-p', out]);
    await run(PYTHON, ['-c', WRITE_FILES, out]);
  });

  it('headers equal ncdump -h, including NETCDF4 groups, string/int64/ubyte types and a 100 kB attribute', async () => {
    for (const n of names) await assertMatchesNcdump(join(out, n), await readNetcdfHeader(join(out, n)));
    const nc4 = await readNetcdfHeader(join(out, 'nc4.nc'));
    assert.equal(nc4.groups[0]!.name, 'extra');
    assert.deepEqual(nc4.groups[0]!.variables.map((v) => [v.type, v.name, v.dims]), [['int64', 'x', ['x']]]);
    assert.deepEqual(nc4.groups[0]!.dimensions, [{ name: 'x', size: 5, unlimited: false }]);
    assert.equal((await readNetcdfHeader(join(out, 'bighead.nc'))).attributes['history'], 'x'.repeat(100000));
  });

  it('time ranges equal cftime in the standard (Julian/Gregorian switch), 360_day, all_leap, julian, noleap and proleptic calendars', async () => {
    const paths = names.map((n) => join(out, n));
    const ref = await cftimeRanges(paths);
    for (const p of paths) {
      const h = await readNetcdfHeader(p);
      assert.deepEqual(h.time ? [h.time.firstIso, h.time.lastIso] : null, ref[p], p);
    }
    const cdf1 = await readNetcdfHeader(join(out, 'cdf1.nc'));
    assert.deepEqual([cdf1.time!.firstIso, cdf1.time!.lastIso], ['1582-10-04T12:00:00Z', '1582-10-16T00:00:00Z']);
  });

  it('reads values of NetCDF-4 variables by row (first/last time) without reading the rest', async () => {
    const r = await openNetcdf(join(out, 'nc4.nc'));
    try {
      assert.deepEqual([...(await r.readValues('time', [0, 2]))], [15.5, 74.5]);
      assert.deepEqual([...(await r.readValues('lat_bnds'))], [-90, -30, -30, 30, 30, 90]);
    } finally {
      await r.close();
    }
  });
});

describe('a 19 GB file (sparse)', () => {
  it('is read from its header and its time values only', async () => {
    // A small CDF-5 file whose 8 MB variable is then declared 2.4e9 doubles long, its time
    // records moved to the new end: the file is 19.2 GB long but holds ~8 kB of blocks.
    const small = join(dir, 'small.nc');
    await run(PYTHON, ['-c', `
import netCDF4
d = netCDF4.Dataset('${small}', 'w', format='NETCDF3_64BIT_DATA'); d.set_fill_off()
d.createDimension('n', 1000003); d.createDimension('time', None)
d.createVariable('big', 'f8', ('n',)).units = '1'
t = d.createVariable('time', 'f8', ('time',)); t.units = 'days since 2000-01-01'; t.calendar = 'noleap'
d.close()
d = netCDF4.Dataset('${small}', 'a'); d.variables['time'][0:3] = [0., 1., 2.]; d.close()
`]);
    const buf = await readFile(small);
    const N = 2_400_000_000;
    const head = Buffer.from(buf.subarray(0, 1024));
    /** Replaces the one 64-bit big-endian value `from` (4-byte aligned) in the header by `to`. */
    const patch = (from: number, to: number): void => {
      for (let k = 0; k + 8 <= head.length; k += 4) {
        if (Number(head.readBigUInt64BE(k)) === from) {
          head.writeBigUInt64BE(BigInt(to), k);
          return;
        }
      }
      assert.fail(`no ${from} in the header`);
    };
    // Header layout written by netCDF-C: big's data right after the header, time's records after big's data.
    const timeBegin = buf.length - 24;
    patch(1000003, N); // dimension length
    patch(1000003 * 8, N * 8); // vsize of big
    const newBegin = timeBegin + (N - 1000003) * 8;
    patch(timeBegin, newBegin); // begin of time
    const big = join(dir, 'big.nc');
    const fh = await open(big, 'w');
    try {
      await fh.write(head, 0, head.length, 0);
      await fh.write(buf.subarray(timeBegin, timeBegin + 24), 0, 24, newBegin);
    } finally {
      await fh.close();
    }
    const h = await readNetcdfHeader(big);
    assert.deepEqual(h.dimensions.find((d) => d.name === 'n'), { name: 'n', size: N, unlimited: false });
    assert.deepEqual([h.time!.firstIso, h.time!.lastIso], ['2000-01-01T00:00:00Z', '2000-01-03T00:00:00Z']);
    await assertMatchesNcdump(big, h);
    await rm(big);
  });
});

describe('plain HDF5 (not written by netCDF)', () => {
  it('takes dimensions from DIMENSION_LIST references to dimension scales, phony names otherwise', async () => {
    const h5 = await import('h5wasm/node');
    await h5.ready;
    const p = join(dir, 'plain.h5');
    const f = new h5.File(p, 'w');
    try {
      f.create_dataset({ name: 'x', data: new Float64Array([0, 1, 2, 3]) });
      f.create_dataset({ name: 'y', data: new Float64Array([10, 20, 30]) });
      const d = f.create_dataset({ name: 'field', data: new Float32Array(12), shape: [3, 4] });
      f.create_dataset({ name: 'loose', data: new Int32Array(6), shape: [2, 3] });
      (f.get('x') as InstanceType<typeof h5.Dataset>).make_scale('x');
      (f.get('y') as InstanceType<typeof h5.Dataset>).make_scale('y');
      d.attach_scale(0, '/y');
      d.attach_scale(1, '/x');
      d.create_attribute('units', 'K');
    } finally {
      f.close();
    }
    const h = await readNetcdfHeader(p);
    assert.equal(h.format, 'netCDF-4');
    const byName = Object.fromEntries(h.variables.map((v) => [v.name, v]));
    assert.deepEqual(byName['field']!.dims, ['y', 'x']);
    assert.deepEqual(byName['field']!.attributes, { units: 'K' });
    assert.deepEqual(byName['x']!.dims, ['x']);
    assert.deepEqual(byName['loose']!.dims, ['phony_dim_0', 'phony_dim_1']);
    assert.deepEqual(h.dimensions.map((d) => [d.name, d.size]).sort(), [['x', 4], ['y', 3]]);
  });
});

describe('broken files give DATA_FILE_INVALID with the reason', () => {
  let demoFile: string;
  before(async () => {
    const root = join(dir, 'demo');
    demoFile = join(root, (await listFiles(root)).find((f) => f.endsWith('.nc'))!);
  });

  it('truncated in the header, in the data section, or inside the signature; empty', async () => {
    for (const [name, size] of [['head.nc', 200], ['data.nc', -100], ['sig.nc', 2], ['empty.nc', 0]] as const) {
      const p = join(dir, name);
      await copyFile(demoFile, p);
      const full = (await readFile(p)).length;
      await truncate(p, size < 0 ? full + size : size);
      await expectInvalid(p, 'truncated');
    }
  });

  it('a NetCDF-4 file cut in half is truncated', async () => {
    const p = join(dir, 'half4.nc');
    await copyFile(join(dir, 'py', 'nc4.nc'), p);
    await truncate(p, Math.floor((await readFile(p)).length / 2));
    await expectInvalid(p, 'truncated');
  });

  it('random bytes are not NetCDF; an unknown CDF version is unsupported; a wrong list tag is malformed', async () => {
    const rnd = Buffer.alloc(4096);
    let x = 12345;
    for (let k = 0; k < rnd.length; k++) rnd[k] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    rnd[0] = 0x00;
    await writeFile(join(dir, 'random.nc'), rnd);
    await expectInvalid(join(dir, 'random.nc'), 'not-netcdf');
    await writeFile(join(dir, 'cdf3.nc'), Buffer.concat([Buffer.from('CDF\x03', 'latin1'), rnd.subarray(4)]));
    await expectInvalid(join(dir, 'cdf3.nc'), 'unsupported');
    const bad = await readFile(demoFile);
    bad.writeUInt32BE(0x0b, 8); // dimension list tag replaced by the variable tag
    await writeFile(join(dir, 'tag.nc'), bad);
    await expectInvalid(join(dir, 'tag.nc'), 'malformed');
    const hdf = Buffer.concat([Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 0, 8, 8, 0]), rnd.subarray(16)]);
    await writeFile(join(dir, 'hdfjunk.nc'), hdf);
    await assert.rejects(readNetcdfHeader(join(dir, 'hdfjunk.nc')), (err: unknown) => ['malformed', 'truncated'].includes(ncInvalidReason(err)!));
  });
});
