/**
 * The catalog as a running hub serves it: the data cache scanned at start (real NetCDF
 * headers, checksums), ESGF search answering the EUCP-SYN oracles, and every answer
 * limited by the access policies of the caller (anonymous, bob, carol, erin).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HubProcess } from '@eucp/testing/hub-process';

interface SearchAnswer { response: { numFound: number; docs: Record<string, unknown>[] }; facet_counts?: { facet_fields: Record<string, unknown[]> } }

describe('the catalog of a running hub', { timeout: 300_000 }, () => {
  let hub: HubProcess;
  const tokens: Record<string, string> = {};
  let oracles: { query: string; numFound: number; facet_fields?: Record<string, unknown[]> }[];

  const search = async (query: string, who?: string): Promise<SearchAnswer> => {
    const res = await fetch(`${hub.url}/esg-search/search?${query}`, { headers: who ? { authorization: `token ${tokens[who]}` } : {} });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as SearchAnswer;
  };

  before(async () => {
    hub = await HubProcess.start({ toml: '[access]\nimportFixtureUsers = true\n' });
    for (const u of ['bob', 'carol', 'erin']) tokens[u] = (await hub.cli(['token', 'issue', u])).trim();
    oracles = (JSON.parse(readFileSync(path.join(hub.stateDir, 'data', 'expected.json'), 'utf8')) as { search: typeof oracles }).search;
    // The first scan runs in the background after start; wait until it has indexed the data.
    const deadline = Date.now() + 60_000;
    while ((await search('type=Dataset&limit=0')).response.numFound === 0) {
      if (Date.now() > deadline) throw new Error('the catalog never indexed the demo data');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => { await hub?.destroy(); });

  it('answers every EUCP-SYN search oracle exactly, from the files it scanned', async () => {
    for (const o of oracles) {
      const a = await search(o.query);
      assert.equal(a.response.numFound, o.numFound, o.query);
      if (o.facet_fields) assert.deepEqual(a.facet_counts?.facet_fields, o.facet_fields, o.query);
    }
  });

  it('lists restricted CORDEX data sets to everyone (their groups are visible) but says who may read them', async () => {
    const q = 'type=Dataset&project=CORDEX&readable=true';
    assert.equal((await search('type=Dataset&project=CORDEX')).response.numFound, 4);
    assert.equal((await search(q)).response.numFound, 0, 'anonymous reads no CORDEX data');
    assert.equal((await search(q, 'bob')).response.numFound, 0, 'bob is in no CORDEX group');
    assert.equal((await search(q, 'carol')).response.numFound, 4, 'carol (CORDEX Research) reads all of it');
    const erin = await search(`${q}&fields=variable`, 'erin');
    assert.deepEqual(erin.response.docs.map((d) => d.variable).flat().sort(), ['tas', 'tas'], 'erin (CORDEX Commercial) reads tas, not pr');
  });

  it('hides the files of data sets the caller may not read when asked for readable ones', async () => {
    const files = 'type=File&project=CORDEX&readable=true';
    assert.equal((await search(files, 'bob')).response.numFound, 0);
    assert.ok((await search(files, 'carol')).response.numFound > 0);
  });

  it('answers the ESGF access check for the caller', async () => {
    const pr = 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.pr.v20200101';
    const check = async (who?: string) => {
      const res = await fetch(`${hub.url}/api/access/check?resource=${encodeURIComponent(pr)}&action=Read`, {
        headers: who ? { authorization: `token ${tokens[who]}` } : {},
      });
      return ((await res.json()) as { decision: string }).decision;
    };
    assert.equal(await check('carol'), 'Permit');
    assert.equal(await check('erin'), 'Deny');
    assert.equal(await check(), 'Challenge');
  });

  it('refuses a malformed search with an ESGF-style 400 naming the parameter', async () => {
    const res = await fetch(`${hub.url}/esg-search/search?limit=abc`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /limit/);
  });
});
