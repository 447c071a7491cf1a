import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crossCheck, parseDrsPath, rcmName, type Cmip6Drs, type CordexDrs } from './drs.js';
import { loadErrata, retractedIds } from './errata.js';

describe('DRS paths', () => {
  it('CMIP6 with a sub-experiment member, below a prefix directory', () => {
    const d = parseDrsPath('esg_dataroot/CMIP6/DCPP/SYNLAB/SYN-ESM1-0-LR/dcppA-hindcast/s2010-r1i1p1f1/Amon/tas/gn/v20190601/tas_Amon_SYN-ESM1-0-LR_dcppA-hindcast_s2010-r1i1p1f1_gn_201011-201210.nc') as Cmip6Drs;
    assert.equal(d.project, 'CMIP6');
    assert.equal(d.instance_id, 'CMIP6.DCPP.SYNLAB.SYN-ESM1-0-LR.dcppA-hindcast.s2010-r1i1p1f1.Amon.tas.gn.v20190601');
    assert.deepEqual([d.sub_experiment_id, d.variant_label, d.time_range, d.dir.split('/')[0]], ['s2010', 'r1i1p1f1', '201011-201210', 'esg_dataroot']);
    assert.deepEqual(d.nameMismatches, []);
  });

  it('CORDEX: rcm_model in the directory, rcm_name in the ids (prefix stripped, or mapped)', () => {
    const p = 'cordex/output/EUR-44/SYNRCM/SYNLAB-SYN-ESM1-0-LR/rcp85/r1i1p1/SYNRCM-RCM1/v1/mon/pr/v20200101/pr_EUR-44_SYNLAB-SYN-ESM1-0-LR_rcp85_r1i1p1_SYNRCM-RCM1_v1_mon_200601-200712.nc';
    const d = parseDrsPath(p) as CordexDrs;
    assert.equal(d.master_id, 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.rcp85.r1i1p1.RCM1.v1.mon.pr');
    assert.equal((parseDrsPath(p, { 'SYNRCM-RCM1': 'RCM-ONE' }) as CordexDrs).rcm_name, 'RCM-ONE');
    assert.equal(rcmName('KNMI-RACMO22E', 'KNMI'), 'RACMO22E');
  });

  it('rejects paths outside the layouts and bad versions; reports file names that disagree', () => {
    assert.match((parseDrsPath('esgf/datasets.nc') as { error: string }).error, /layout/);
    assert.match((parseDrsPath('CMIP6/CMIP/A/B/historical/r1i1p1f1/Amon/tas/gn/latest/x.nc') as { error: string }).error, /version/);
    assert.match((parseDrsPath('CMIP6/CMIP/A/B/historical/r1i1p1/Amon/tas/gn/v20200101/x.nc') as { error: string }).error, /member_id/);
    const d = parseDrsPath('CMIP6/CMIP/A/B/historical/r1i1p1f1/Amon/tas/gn/v20200101/pr_Amon_B_historical_r1i1p1f1_gn_200501-200612.nc') as Cmip6Drs;
    assert.deepEqual(d.nameMismatches, ['file name says variable_id=pr, the directory tas']);
  });

  it('cross-checks global attributes, the variable and the time range', () => {
    const d = parseDrsPath('CMIP6/ScenarioMIP/A/B/ssp585/r1i1p1f1/Amon/tas/gn/v20200101/tas_Amon_B_ssp585_r1i1p1f1_gn_201501-201612.nc') as Cmip6Drs;
    const attrs = { mip_era: 'CMIP6', activity_id: 'ScenarioMIP AerChemMIP', institution_id: 'A', source_id: 'B', experiment_id: 'ssp585', sub_experiment_id: 'none', variant_label: 'r1i1p1f1', table_id: 'Amon', variable_id: 'tas', grid_label: 'gr' };
    assert.deepEqual(crossCheck(d, attrs, ['time', 'tas'], { firstIso: '2015-01-16T12:00:00Z', lastIso: '2016-11-16T00:00:00Z' }), [
      'global attribute grid_label="gr", the path says gn',
      'file name time range ends 201612, the last time is 2016-11-16T00:00:00Z',
    ]);
    assert.deepEqual(crossCheck(d, {}, [], null).slice(-2), ['the file has no variable tas', 'file name has time range 201501-201612 but no decodable time axis']);
  });
});

describe('errata', () => {
  it('reads the EUCP-SYN form; a missing optional file is skipped, a broken one reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eucp-errata-'));
    try {
      await writeFile(join(dir, 'e.json'), JSON.stringify([{ id: 'E1', datasets: ['x.v1'], title: 't', status: 'retracted', extra: 1 }, { id: 'E2', datasets: ['y.v1'], title: 'u' }]));
      await writeFile(join(dir, 'bad.json'), '[{"id": 3}]');
      const r = await loadErrata([{ path: join(dir, 'e.json'), optional: false }, { path: join(dir, 'none.json'), optional: true }, { path: join(dir, 'bad.json'), optional: false }]);
      assert.deepEqual(r.errata.map((e) => e.id), ['E1', 'E2']);
      assert.deepEqual([...retractedIds(r.errata)], ['x.v1']);
      assert.equal(r.problems.length, 1);
      assert.match(r.problems[0]!.reason, /not an array of/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
