import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GenerationalEsgfIndexProvider, JsonlEsgfIndexProvider, StaticEsgfIndexProvider, parseJsonl, type EsgDoc } from './esgf-index.js';

const ds = (id: string, variable: string): EsgDoc => ({ id: `${id}|n`, instance_id: id, type: 'Dataset', project: ['CMIP6'], variable_id: [variable], latest: true, replica: false });

describe('ESGF index providers', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eucp-esgf-index-'));
    await mkdir(path.join(dir, 'esgf'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('static: indexes the docs once, in the given order', () => {
    const p = new StaticEsgfIndexProvider([ds('a', 'tas'), ds('b', 'pr')], []);
    const s = p.current();
    assert.equal(s, p.current());
    assert.equal(s.datasets.index.size, 2);
    assert.equal(s.datasets.doc(1)['instance_id'], 'b');
    assert.deepEqual(s.datasets.index.search({ facets: ['variable_id'] }).facetCounts, { variable_id: ['pr', 1, 'tas', 1] });
    assert.equal(s.files.index.size, 0);
  });

  it('generational: rebuilds only when the generation changes', () => {
    let generation = 1;
    let docs = [ds('a', 'tas')];
    let reads = 0;
    const p = new GenerationalEsgfIndexProvider({ generation: () => generation, docs: () => { reads++; return { datasets: docs, files: [] }; } });
    const first = p.current();
    assert.equal(p.current(), first);
    assert.equal(reads, 1);
    docs = [ds('a', 'tas'), ds('c', 'psl')];
    generation = 2;
    const second = p.current();
    assert.notEqual(second, first);
    assert.equal(second.datasets.index.size, 2);
    assert.equal(first.datasets.index.size, 1, 'a snapshot once returned never changes');
  });

  it('jsonl: an empty catalog while the files do not exist', async () => {
    const s = await new JsonlEsgfIndexProvider(path.join(dir, 'nothing-here')).current();
    assert.equal(s.datasets.index.size + s.files.index.size, 0);
  });

  it('jsonl: reads esgf/*.jsonl and re-reads them when they change', async () => {
    const write = async (docs: EsgDoc[], mtime: number): Promise<void> => {
      for (const f of ['datasets.jsonl', 'files.jsonl']) {
        const p = path.join(dir, 'esgf', f);
        await writeFile(p, f === 'datasets.jsonl' ? docs.map((d) => JSON.stringify(d)).join('\n') + '\n' : '');
        await utimes(p, mtime, mtime);
      }
    };
    await write([ds('a', 'tas')], 1_000_000);
    const p = new JsonlEsgfIndexProvider(dir);
    const [s1, s1b] = await Promise.all([p.current(), p.current()]);
    assert.equal(s1, s1b, 'concurrent first calls share one load');
    assert.equal(s1.datasets.index.size, 1);
    assert.equal(await p.current(), s1);
    await write([ds('a', 'tas'), ds('b', 'pr')], 2_000_000);
    assert.equal((await p.current()).datasets.index.size, 2);
  });

  it('parseJsonl names the bad line', () => {
    assert.throws(() => parseJsonl('{"a":1}\n\n{oops\n', 'x.jsonl'), /x\.jsonl:3:/);
  });
});
