import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '@eucp/core';
import { listFiles } from '@eucp/testing/files';
import { generateDemoData, type GenerateOptions } from './index.js';


interface Expected {
  files: Record<string, { sha256: string; size: number; dataset: string }>;
  datasets: Record<string, { files: string[] }>;
}

describe('generateDemoData (tiny profile)', () => {
  let base: string;
  let a: string;
  let b: string;
  let filesA: string[];

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'eucp-syn-gen-'));
    a = join(base, 'a');
    b = join(base, 'nested', 'b');
    const ra = await generateDemoData({ profile: 'tiny', outDir: a });
    await generateDemoData({ profile: 'tiny', outDir: b });
    filesA = await listFiles(a);
    assert.equal(ra.files, filesA.length, 'the result counts every file written');
  });
  after(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('is deterministic: two runs into different directories give byte-identical trees', async () => {
    assert.deepEqual(await listFiles(b), filesA);
    for (const f of filesA) {
      const [x, y] = await Promise.all([readFile(join(a, f)), readFile(join(b, f))]);
      assert.ok(x.equals(y), `${f} differs between the two runs`);
    }
  });

  it('regenerating into the same directory replaces files with identical bytes and leaves no temp files', async () => {
    const before = await readFile(join(a, 'SHA256SUMS'), 'utf8');
    await generateDemoData({ profile: 'tiny', outDir: a });
    assert.equal(await readFile(join(a, 'SHA256SUMS'), 'utf8'), before);
    assert.deepEqual(await listFiles(a), filesA);
    assert.deepEqual(filesA.filter((f) => /(^|\/)\.eucp-syn-|\.tmp$/.test(f)), []);
  });

  it('records the true size and SHA-256 of every data file in expected.json and SHA256SUMS', async () => {
    const expected = JSON.parse(await readFile(join(a, 'expected.json'), 'utf8')) as Expected;
    const ncFiles = filesA.filter((f) => f.endsWith('.nc'));
    assert.deepEqual(Object.keys(expected.files).sort(), ncFiles);
    for (const f of ncFiles) {
      const bytes = await readFile(join(a, f));
      assert.equal(expected.files[f]!.size, bytes.length, f);
      assert.equal(expected.files[f]!.sha256, createHash('sha256').update(bytes).digest('hex'), f);
    }
    const sums = (await readFile(join(a, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    assert.equal(sums.length, filesA.length - 1, 'SHA256SUMS covers every other file');
    for (const line of sums) {
      const [sum, path] = line.split('  ') as [string, string];
      assert.equal(createHash('sha256').update(await readFile(join(a, path))).digest('hex'), sum, path);
    }
  });

  it('lays out CMIP6 files by the CMIP6 DRS: directory facets, file name and time-range precision agree', () => {
    const cmip6 = filesA.filter((f) => f.startsWith('CMIP6/'));
    assert.equal(cmip6.length, 21, '20 data sets, #2 split into 2 files');
    const dirRe =
      /^CMIP6\/(CMIP|ScenarioMIP|DCPP)\/([A-Za-z0-9-]+)\/([A-Za-z0-9-]+)\/([A-Za-z0-9-]+)\/((?:s\d{4}-)?r\d+i\d+p\d+f\d+)\/(Amon|day|fx)\/([A-Za-z0-9]+)\/(g[nrm]\d?[zag]?)\/v(\d{8})\/([^/]+)$/;
    for (const f of cmip6) {
      const m = dirRe.exec(f);
      assert.ok(m, `${f} does not follow <mip_era>/<activity>/<institution>/<source>/<experiment>/<member>/<table>/<variable>/<grid>/<version>/`);
      const [, activity, , source, experiment, member, table, variable, grid, , name] = m as unknown as string[];
      assert.equal(activity, experiment === 'historical' ? 'CMIP' : experiment === 'ssp585' ? 'ScenarioMIP' : 'DCPP', f);
      const range = table === 'Amon' ? '_\\d{6}-\\d{6}' : table === 'day' ? '_\\d{8}-\\d{8}' : '';
      const nameRe = new RegExp(`^${variable}_${table}_${source}_${experiment}_${member}_${grid}${range}\\.nc$`);
      assert.match(name!, nameRe, `${f}: file name does not match its directory`);
    }
    assert.ok(
      cmip6.some((f) => f.startsWith('CMIP6/DCPP/SYNLAB/SYN-ESM1-0-LR/dcppA-hindcast/s2010-r1i1p1f1/Amon/tas/gn/v20190601/tas_Amon_SYN-ESM1-0-LR_dcppA-hindcast_s2010-r1i1p1f1_gn_')),
      'the sub-experiment member carries the s2010- prefix in directory and file name',
    );
  });

  it('lays out CORDEX files by the CORDEX DRS, with rcm_model (not rcm_name) in the path', () => {
    const cordex = filesA.filter((f) => f.startsWith('cordex/'));
    assert.equal(cordex.length, 4);
    const re =
      /^cordex\/output\/(EUR-44)\/(SYNRCM)\/(SYNLAB-SYN-ESM1-0-LR)\/(historical|rcp85)\/(r\d+i\d+p\d+)\/(SYNRCM-RCM1)\/(v1)\/(mon)\/(tas|pr)\/v20200101\/([^/]+)$/;
    for (const f of cordex) {
      const m = re.exec(f);
      assert.ok(m, `${f} does not follow the CORDEX directory template`);
      const [, domain, , driving, exp, ens, rcm, rcmv, freq, variable, name] = m as unknown as string[];
      assert.match(name!, new RegExp(`^${variable}_${domain}_${driving}_${exp}_${ens}_${rcm}_${rcmv}_${freq}_\\d{6}-\\d{6}\\.nc$`), f);
    }
    assert.ok(
      cordex.includes(
        'cordex/output/EUR-44/SYNRCM/SYNLAB-SYN-ESM1-0-LR/historical/r1i1p1/SYNRCM-RCM1/v1/mon/tas/v20200101/tas_EUR-44_SYNLAB-SYN-ESM1-0-LR_historical_r1i1p1_SYNRCM-RCM1_v1_mon_200401-200512.nc',
      ),
      'the example file of spec section 3.3 exists',
    );
  });

  it('writes the catalog, search, STAC, access, errata and oracle files beside the data', () => {
    for (const f of [
      'catalog/eucp-syn.json', 'catalog/eucp-syn.csv.gz', 'esgf/datasets.jsonl', 'esgf/files.jsonl', 'stac/collection-cmip6.json',
      'access/groups.json', 'access/policies.xml', 'access/policies.json', 'access/users.json',
      'access/licences/cordex-nc-research-v1.md', 'access/licences/cordex-unrestricted-v1.md',
      'errata.json', 'eucp-syn-cv.json', 'expected.json', 'SHA256SUMS',
    ]) {
      assert.ok(filesA.includes(f), `${f} is missing`);
    }
    assert.equal(filesA.filter((f) => f.startsWith('stac/items/')).length, 20, 'one STAC item per CMIP6 data set version');
  });
});

describe('generateDemoData rejects bad options and writes nothing', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'eucp-syn-bad-'));
  });
  after(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  const isInvalid = (pattern: RegExp) => (err: unknown) => {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_INPUT');
    assert.match(err.message, pattern);
    return true;
  };

  it('unknown profile', async () => {
    const outDir = join(base, 'never-created');
    await assert.rejects(generateDemoData({ profile: 'huge', outDir } as unknown as GenerateOptions), isInvalid(/profile "huge".*"tiny" or "default"/));
    await assert.rejects(stat(outDir), { code: 'ENOENT' });
  });

  it('outDir that is a file', async () => {
    const file = join(base, 'a-file.txt');
    await writeFile(file, 'keep me');
    await assert.rejects(generateDemoData({ profile: 'tiny', outDir: file }), isInvalid(/a-file\.txt exists and is not a directory/));
    await assert.rejects(generateDemoData({ profile: 'tiny', outDir: join(file, 'sub') }), isInvalid(/is below .*a-file\.txt, which is not a directory/));
    assert.equal(await readFile(file, 'utf8'), 'keep me');
    assert.deepEqual(await readdir(base), ['a-file.txt']);
  });

  it('empty outDir', async () => {
    await assert.rejects(generateDemoData({ profile: 'tiny', outDir: '' }), isInvalid(/outDir must be a non-empty path/));
  });
});
