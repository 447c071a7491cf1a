import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { encodeNetcdf, ncAttr, type NcFile } from './netcdf.js';

const run = promisify(execFile);
const NCDUMP = '/usr/bin/ncdump';

async function requireTool(path: string): Promise<void> {
  await access(path, constants.X_OK).catch(() =>
    assert.fail(`${path} is missing: install Debian netcdf-bin (the project setup installs it); the NetCDF writer cannot be checked without it`),
  );
}

const SAMPLE: NcFile = {
  dims: [
    { name: 'time', size: 'unlimited' },
    { name: 'x', size: 3 },
    { name: 'nv', size: 2 },
  ],
  attrs: [
    ['title', 'Grüße aus "EUCP"'],
    ['count', ncAttr.int(1, -2, 3)],
    ['scale', ncAttr.double(0.5)],
  ],
  vars: [
    { name: 'time', dims: ['time'], type: 'double', attrs: [['units', 'days since 2000-01-01']], data: Float64Array.of(0.5, 1.5) },
    { name: 'time_bnds', dims: ['time', 'nv'], type: 'double', attrs: [], data: Float64Array.of(0, 1, 1, 2) },
    { name: 'code', dims: ['x'], type: 'short', attrs: [], data: Int16Array.of(-7, 0, 32000) },
    { name: 'flag', dims: [], type: 'char', attrs: [['meaning', 'scalar char']], data: Uint8Array.of(0x41) },
    {
      name: 'v',
      dims: ['time', 'x'],
      type: 'float',
      attrs: [['_FillValue', ncAttr.float(1e20)]],
      data: Float32Array.of(1.25, 2.5, 1e20, -4, 5.5, 6),
    },
  ],
};

describe('NetCDF CDF-2 writer', () => {
  let dir: string;
  before(async () => {
    await requireTool(NCDUMP);
    dir = await mkdtemp(join(tmpdir(), 'eucp-nc-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a 64-bit-offset file whose values ncdump reads back exactly, records interleaved', async () => {
    const path = join(dir, 'sample.nc');
    await writeFile(path, encodeNetcdf(SAMPLE));
    const kind = await run(NCDUMP, ['-k', path]);
    assert.equal(kind.stdout.trim(), '64-bit offset');
    const { stdout } = await run(NCDUMP, [path]);
    assert.match(stdout, /time = UNLIMITED ; \/\/ \(2 currently\)/);
    assert.match(stdout, /:title = "Grüße aus \\"EUCP\\"" ;/);
    assert.match(stdout, /:count = 1, -2, 3 ;/);
    assert.match(stdout, /time = 0\.5, 1\.5 ;/);
    assert.match(stdout, /time_bnds =\s+0, 1,\s+1, 2 ;/);
    assert.match(stdout, /code = -7, 0, 32000 ;/);
    assert.match(stdout, /flag = "A" ;/);
    // The fill value must come back as missing ("_"), the others exactly.
    assert.match(stdout, /v =\s+1\.25, 2\.5, _,\s+-4, 5\.5, 6 ;/);
  });

  it('gives identical bytes for identical input', () => {
    assert.deepEqual(encodeNetcdf(SAMPLE), encodeNetcdf(SAMPLE));
  });

  it('refuses data whose length does not match the dimensions', () => {
    const bad: NcFile = { ...SAMPLE, vars: [{ name: 'code', dims: ['x'], type: 'short', attrs: [], data: Int16Array.of(1, 2) }] };
    assert.throws(() => encodeNetcdf(bad), /code: data length 2, expected 3/);
  });
});
