/**
 * `GET /esg-search/wget` on a real hub (createHub, listening on 127.0.0.1:0) over the
 * EUCP-SYN tiny data: what the script holds for whom, ESGF-style 400s, and the script run
 * with bash and Debian's wget in a temp directory — files arrive and pass their SHA-256,
 * an interrupted download resumes, a corrupted file is detected, and files the caller may
 * not read are not downloaded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { UserName } from '@eucp/core';
import { configSchema } from '@eucp/hub/config/schema';
import { createHub, type Hub } from '@eucp/hub/hub';
import { generateDemoData } from '@eucp/hub/demo-data/index';
import { placeholderSpawner, userWithToken } from '@eucp/testing/hub-factory';
import { publicBase } from './data-files.js';
import { wgetFileName } from './wget.js';

interface Expected {
  datasets: Record<string, { project: string; variable_id: string; files: string[] }>;
  files: Record<string, { dataset: string; sha256: string; size: number }>;
}
interface Line { rel: string; url: string; type: string; sum: string }

const MARK = 'EOF--dataset.file.url.chksum_type.chksum';
let dir: string;
let dataDir: string;
let hub: Hub;
let base: string;
let expected: Expected;
const tokens: Record<string, string> = {};

async function script(query: string, headers: Record<string, string> = {}): Promise<{ text: string; res: Response }> {
  const res = await fetch(`${base}/esg-search/wget?${query}`, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  return { text: await res.text(), res };
}
/** The data section: one line per file to download. */
function lines(text: string): Line[] {
  const all = text.split('\n');
  const from = all.indexOf(`done <<'${MARK}'`);
  const to = all.indexOf(MARK);
  assert.ok(from > 0 && to > from, 'data section');
  return all.slice(from + 1, to).map((l) => {
    const [rel, url, type, sum] = l.split('\t') as [string, string, string, string];
    return { rel, url, type, sum };
  });
}
const relsOf = (pred: (d: { project: string; variable_id: string }, id: string) => boolean): string[] =>
  Object.entries(expected.files).filter(([, f]) => pred(expected.datasets[f.dataset]!, f.dataset)).map(([rel]) => rel).sort();
const auth = (user: string) => ({ authorization: `token ${tokens[user]}` });

/** Runs a script with bash in `cwd`; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(file: string, cwd: string, token: string | null): Promise<{ code: number; out: string }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LC_ALL: 'C' };
  if (token !== null) env.EUCP_TOKEN = token;
  return new Promise((resolve) => {
    execFile('bash', [file], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, out: `${stdout}\n${stderr}` });
    });
  });
}
const sha256 = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');
const exists = (p: string) => stat(p).then(() => true, () => false);

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'eucp-wget-'));
  dataDir = path.join(dir, 'data');
  await generateDemoData({ profile: 'tiny', outDir: dataDir });
  expected = JSON.parse(await readFile(path.join(dataDir, 'expected.json'), 'utf8')) as Expected;
  const config = configSchema.parse({
    port: 0, stateDir: dir, dataDir, culler: { enabled: false }, access: { importFixtureUsers: true }, catalog: { rescanIntervalMs: 0 },
  });
  hub = await createHub({ config, log: pino({ level: 'silent' }), spawner: placeholderSpawner });
  base = (await hub.listen()).replace(/\/$/, '');
  await hub.ctx.catalog.scan();
  for (const name of ['alice', 'bob', 'erin']) tokens[name] = (await userWithToken(hub.ctx, name)).token;
});

after(async () => {
  await hub?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /esg-search/wget: the script', () => {
  it('downloads what erin may read (CORDEX tas) with the catalog checksums and names what she may not (pr)', async () => {
    const { text, res } = await script('project=CORDEX', auth('erin'));
    assert.match(String(res.headers.get('content-type')), /^text\/x-shellscript/);
    assert.match(String(res.headers.get('content-disposition')), /^attachment; filename="wget-\d{14}\.sh"$/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const files = lines(text);
    assert.deepEqual(files.map((f) => f.rel), relsOf((d, id) => id.startsWith('cordex.') && d.variable_id === 'tas'));
    for (const f of files) {
      assert.equal(f.url, `${base}/thredds/fileServer/esg_dataroot/${f.rel}`);
      assert.equal(f.type, 'SHA256');
      assert.equal(f.sum, expected.files[f.rel]!.sha256);
    }
    for (const rel of relsOf((d, id) => id.startsWith('cordex.') && d.variable_id === 'pr')) {
      assert.ok(text.includes(`#   ${rel}\n`), rel);
      const ds = expected.files[rel]!.dataset;
      assert.ok(text.includes(`(${ds}) you may not read it; request access at ${base}/hub/catalog/dataset/${encodeURIComponent(ds)}`), ds);
    }
    assert.match(text, /^# Generated: .* for erin$/m);
    assert.ok(!text.includes(tokens.erin!), 'no token in the script');
    assert.match(text, /header = Authorization: token %s/);
    assert.match(text, /EUCP_TOKEN/);
    await writeFile(path.join(dir, 'syntax.sh'), text);
    const syntax = await new Promise<string | null>((resolve) => execFile('bash', ['-n', path.join(dir, 'syntax.sh')], (e, _o, err) => resolve(e ? err : null)));
    assert.equal(syntax, null);
  });

  it('for an anonymous caller: the open files (each file once, master and replica alike), every match by default (limit 1000)', async () => {
    const { text } = await script('');
    const files = lines(text);
    assert.deepEqual(files.map((f) => f.rel).sort(), relsOf((d) => d.project === 'CMIP6'));
    assert.ok(files.length > 10);
    assert.match(text, /for an anonymous caller/);
    assert.match(text, /not open data \(ask for the script logged in\)/);
  });

  it('pages with limit/offset and says where the next script starts', async () => {
    const { text } = await script('project=CMIP6&limit=2');
    assert.equal(lines(text).length, 2);
    assert.match(text, /^# More files match \(\d+ in all\): use offset=2 in the search for the next script\.$/m);
    const next = await script('project=CMIP6&limit=2&offset=2');
    assert.equal(lines(next.text).length, 2);
    assert.notDeepEqual(lines(next.text), lines(text));
    assert.doesNotMatch((await script('project=CMIP6&variable_id=pr&latest=true')).text, /More files match/);
  });

  it('never mentions a file of a data set the caller may not list', async () => {
    const actor = { id: (await hub.ctx.accounts.findUser('alice'))!.id, name: 'alice' as UserName, hubAdmin: true };
    const g = await hub.ctx.access.getGroup('CORDEX Research', actor);
    const upsert = (visible: boolean) => hub.ctx.access.upsertGroup({
      name: g.name, description: g.description, grants: g.grants, visible, automaticApproval: g.automaticApproval, licenceId: g.licenceId, licenceText: g.licenceText,
    });
    await upsert(false);
    try {
      const { text } = await script('project=CORDEX', auth('bob'));
      assert.equal(lines(text).length, 0);
      for (const rel of relsOf((d, id) => id.startsWith('cordex.') && d.variable_id === 'pr')) assert.ok(!text.includes(rel.split('/').pop()!), rel);
      for (const rel of relsOf((d, id) => id.startsWith('cordex.') && d.variable_id === 'tas')) assert.ok(text.includes(rel), rel);
    } finally {
      await upsert(true);
    }
  });

  it('rejects malformed parameters with an ESGF-style 400', async () => {
    for (const [q, parameter] of [['limit=many', 'limit'], ['type=Dataset', 'type'], ['no_such_field=1', 'no_such_field'], ['latest=maybe', 'latest'], ['limit=10001', 'limit']]) {
      const res = await fetch(`${base}/esg-search/wget?${q}`);
      assert.equal(res.status, 400, q);
      const body = await res.json() as { code: string; parameter: string; reason: string };
      assert.equal(body.code, 'SEARCH_INVALID_PARAMETER', q);
      assert.equal(body.parameter, parameter, q);
    }
  });

  it('uses the public URL, else the request\'s Host when well-formed', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/esg-search/wget?project=CMIP6&limit=1', headers: { host: 'data.example.test:8443' } });
    assert.ok(lines(res.body)[0]!.url.startsWith('http://data.example.test:8443/thredds/fileServer/esg_dataroot/CMIP6/'));
    const cfg = hub.ctx.config;
    assert.equal(publicBase(cfg, { protocol: 'http', headers: { host: 'evil\'$(touch x)' } }), 'http://localhost');
    assert.equal(publicBase({ ...cfg, publicUrl: 'https://hub.eucp.test/' }, { protocol: 'http', headers: { host: 'x' } }), 'https://hub.eucp.test');
    assert.equal(wgetFileName(new Date(Date.UTC(2024, 4, 2, 9, 3, 7))), 'wget-20240502090307.sh');
  });
});

describe('GET /esg-search/wget: running the script (bash + wget)', { timeout: 300_000 }, () => {
  it('downloads erin\'s readable files with verified SHA-256, not the others; resumes; detects corruption', async () => {
    const work = await mkdtemp(path.join(dir, 'run-'));
    const { text } = await script('project=CORDEX', auth('erin'));
    const file = path.join(work, wgetFileName(new Date()));
    await writeFile(file, text);
    const tas = relsOf((d, id) => id.startsWith('cordex.') && d.variable_id === 'tas');
    const pr = relsOf((d, id) => id.startsWith('cordex.') && d.variable_id === 'pr');
    assert.ok(tas.length >= 2 && pr.length >= 2);

    const first = await run(file, work, tokens.erin!);
    assert.equal(first.code, 0, first.out);
    for (const rel of tas) {
      assert.equal(await sha256(path.join(work, rel)), expected.files[rel]!.sha256, rel);
      assert.ok(first.out.includes(`SHA-256 verified: ${rel}`), rel);
    }
    for (const rel of pr) assert.equal(await exists(path.join(work, rel)), false, rel);
    assert.match(first.out, new RegExp(`Done: ${tas.length} of ${tas.length} files downloaded and verified, 0 failed`));

    const again = await run(file, work, tokens.erin!);
    assert.equal(again.code, 0, again.out);
    for (const rel of tas) assert.ok(again.out.includes(`Already downloaded and verified: ${rel}`), rel);

    // Interrupted: half a file is resumed with a Range request (the audit shows it).
    const half = Math.floor(expected.files[tas[0]!]!.size / 2);
    await truncate(path.join(work, tas[0]!), half);
    const resumed = await run(file, work, tokens.erin!);
    assert.equal(resumed.code, 0, resumed.out);
    assert.equal(await sha256(path.join(work, tas[0]!)), expected.files[tas[0]!]!.sha256);
    const reads = (await (await fetch(`${base}/hub/api/eucp/access/audit?action=read&subject=erin&limit=5`, { headers: auth('alice') })).json()) as Array<{ details: { file: string; range?: string } }>;
    assert.equal(reads[0]!.details.file, tas[0]);
    assert.equal(reads[0]!.details.range, `${half}-${expected.files[tas[0]!]!.size - 1}`);

    // Corrupted (same size): detected, removed, and fetched again by the next run.
    const p = path.join(work, tas[1]!);
    const bytes = await readFile(p);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(p, bytes);
    const bad = await run(file, work, tokens.erin!);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, new RegExp(`SHA-256 MISMATCH for ${tas[1]!.replace(/[.+]/g, '\\$&')}`));
    assert.equal(await exists(p), false);
    const fixed = await run(file, work, tokens.erin!);
    assert.equal(fixed.code, 0, fixed.out);
    assert.equal(await sha256(p), expected.files[tas[1]!]!.sha256);
    await rm(work, { recursive: true, force: true });
  });

  it('without EUCP_TOKEN, restricted files are refused by the hub and nothing of them is saved; open data needs no token', async () => {
    const work = await mkdtemp(path.join(dir, 'run-'));
    const { text } = await script('project=CORDEX&variable=tas', auth('erin'));
    await writeFile(path.join(work, 'cordex.sh'), text);
    const r = await run(path.join(work, 'cordex.sh'), work, null);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /EUCP_TOKEN is not set/);
    assert.match(r.out, /401/);
    for (const f of lines(text)) {
      const saved = path.join(work, f.rel);
      assert.ok(!(await exists(saved)) || (await stat(saved)).size === 0, f.rel);
    }
    const open = await script('project=CMIP6&variable_id=pr&latest=true');
    await writeFile(path.join(work, 'open.sh'), open.text);
    const o = await run(path.join(work, 'open.sh'), work, null);
    assert.equal(o.code, 0, o.out);
    for (const f of lines(open.text)) assert.equal(await sha256(path.join(work, f.rel)), f.sum, f.rel);
    await rm(work, { recursive: true, force: true });
  });
});
