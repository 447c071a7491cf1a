/**
 * Catalog search at scale: our facet index vs pandas over the intake-esm CSV, in one run.
 * See README.md. Usage (through run.sh): bench.ts [--records N] [--reps R] [--our-reps R]
 * [--queries Q] [--seed S] [--quiet-wait SECONDS] [--keep] [--smoke]
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { compilePolicies, FacetIndexBuilder, parsePolicies, type FacetIndex } from '@eucp/core';
import { AccessService } from '@eucp/hub/access/index';
import type { AuthContext } from '@eucp/hub/auth/types';
import { configSchema } from '@eucp/hub/config/schema';
import { openDatabase } from '@eucp/hub/db/index';
import { createLogger } from '@eucp/hub/log/index';
import { accessVisibilityFilter } from '@eucp/hub/catalog/visibility';
import { ESGF_INDEX_SPEC, type EsgDoc } from '@eucp/hub/catalog/esgf-index';
import { parseEsgfSearch } from '@eucp/hub/catalog/esgf-query';
import { esgfResponse } from '@eucp/hub/catalog/esgf-response';
import { INTAKE_COLUMNS } from '@eucp/hub/catalog/intake';
import { BENCH_FACETS, benchRecord, sampleExperiment, sampleVariable, stream, type BenchRecord } from './gen.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const arg = (name: string, dflt: number): number => {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : dflt;
};
const smoke = process.argv.includes('--smoke');
const N = arg('records', smoke ? 20_000 : 1_000_000);
const REPS = arg('reps', smoke ? 2 : 5);
const OUR_REPS = arg('our-reps', smoke ? 2 : 20);
const QUIET_WAIT_S = arg('quiet-wait', 0);
const NQ = arg('queries', 50);
const SEED = arg('seed', 20240501);
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const log = (msg: string): void => void process.stderr.write(`[catalog-search] ${msg}\n`);

/** Policies for the restricted caller: DCPP and HighResMIP need a group, the rest is open. */
const BENCH_POLICIES = `<policies>
  <policy resource="^CMIP6\\.(DCPP|HighResMIP)\\." attribute_type="Restricted" attribute_value="user" action="Read"/>
  <policy resource="^CMIP6\\.(?!DCPP\\.|HighResMIP\\.)" attribute_type="ANY" attribute_value="" action="Read"/>
</policies>`;
const popcount = (w: number): number => {
  let n = 0;
  for (let x = w >>> 0; x; x &= x - 1) n++;
  return n;
};

/** A query in both forms: the ESGF URL parameters and the pandas mask spec. */
interface BenchQuery { esgf: string; eq: Record<string, string[]>; ne: Record<string, string[]>; flags: Record<string, boolean>; facets: string[] }

/** ~50 realistic queries: 2–4 constraints taken from real records (so they find data) + 3–5 facets with counts. */
function makeQueries(): BenchQuery[] {
  const u = stream(SEED ^ 0x5eed, 0);
  const kinds = ['latest', 'replica', 'experiment_id', 'variable_id', 'table_id', 'source_id', 'activity_id', 'member_id', 'institution_id', 'grid_label', 'frequency', 'realm', 'nominal_resolution', 'negation'];
  const weights = [5, 3, 5, 5, 4, 3, 2, 2, 2, 1, 2, 1, 1, 2];
  const pick = (): string => {
    let x = u() * weights.reduce((a, b) => a + b, 0);
    for (let k = 0; k < kinds.length; k++) if ((x -= weights[k]!) < 0) return kinds[k]!;
    return kinds[0]!;
  };
  const out: BenchQuery[] = [];
  while (out.length < NQ) {
    const r: BenchRecord = benchRecord(SEED, Math.floor(u() * N));
    const q: BenchQuery = { esgf: '', eq: {}, ne: {}, flags: {}, facets: [] };
    const chosen = new Set<string>();
    const n = 2 + Math.floor(u() * 3);
    while (chosen.size < n) chosen.add(pick());
    for (const c of chosen) {
      if (c === 'latest') q.flags['latest'] = true;
      else if (c === 'replica') q.flags['replica'] = false;
      else if (c === 'negation') {
        const [f, v] = u() < 0.5 ? ['experiment_id', 'piControl'] : u() < 0.5 ? ['grid_label', 'gm'] : ['member_id', 'r1i1p1f1'];
        if (!(f in q.eq)) q.ne[f] = [v];
      } else {
        const vals = new Set([String(r[c as keyof BenchRecord])]);
        if (c === 'variable_id' && u() < 0.35) for (let k = 0; k < 1 + Math.floor(u() * 2); k++) vals.add(sampleVariable(r.table_id, u()));
        if (c === 'experiment_id' && u() < 0.3) vals.add(sampleExperiment(r.activity_id, u()));
        q.eq[c] = [...vals];
        delete q.ne[c];
      }
    }
    const pool = BENCH_FACETS.filter((f) => !(f in q.eq));
    const nf = 3 + Math.floor(u() * 3);
    while (q.facets.length < nf) {
      const f = pool[Math.floor(u() * pool.length)]!;
      if (!q.facets.includes(f)) q.facets.push(f);
    }
    const p = new URLSearchParams({ type: 'Dataset' });
    for (const [f, want] of Object.entries(q.flags)) p.append(f, String(want));
    for (const [f, vals] of Object.entries(q.eq)) p.append(f, vals.join(','));
    for (const [f, vals] of Object.entries(q.ne)) for (const v of vals) p.append(`${f}!`, v);
    p.append('facets', q.facets.join(','));
    p.append('limit', '10');
    p.append('format', 'application/solr+json');
    q.esgf = p.toString();
    out.push(q);
  }
  return out;
}

const csvField = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const CSV_COLUMNS = [...INTAKE_COLUMNS, 'nominal_resolution', 'replica'] as const;
function csvLine(r: BenchRecord): string {
  const py = (b: boolean): string => (b ? 'True' : 'False');
  const row: Record<(typeof CSV_COLUMNS)[number], string> = {
    project: r.project, activity_id: r.activity_id, institution_id: r.institution_id, source_id: r.source_id, experiment_id: r.experiment_id,
    member_id: r.member_id, sub_experiment_id: r.member_id.includes('-') ? r.member_id.split('-')[0]! : 'none', table_id: r.table_id,
    frequency: r.frequency, realm: r.realm, variable_id: r.variable_id, grid_label: r.grid_label, version: `v${r.version}`, time_range: '',
    path: `${r.instance_id.replace(/\./g, '/')}/`, sha256: '', size: '0', latest: py(r.latest), retracted: 'False', data_node: r.data_node,
    domain: '', driving_model: '', rcm_version: '', nominal_resolution: r.nominal_resolution, replica: py(r.replica),
  };
  return CSV_COLUMNS.map((c) => csvField(row[c])).join(',');
}

/** The ESGF doc of ordinal i, rebuilt from the index's columns (the bench keeps no doc store). */
function docOf(index: FacetIndex, i: number): EsgDoc {
  const v = (f: string): string[] => index.valuesOf(f, i);
  const facets = Object.fromEntries(BENCH_FACETS.map((f) => [f, v(f)]));
  const master = ['project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'member_id', 'table_id', 'variable_id', 'grid_label'].map((f) => v(f)[0]).join('.');
  const version = v('version')[0]!;
  return {
    id: `${master}.v${version}|${v('data_node')[0]}`, instance_id: `${master}.v${version}`, master_id: master, title: master, type: 'Dataset',
    version, latest: v('latest')[0] === 'true', replica: v('replica')[0] === 'true', retracted: false, ...facets, data_node: v('data_node')[0],
  };
}

/** Waits (up to `QUIET_WAIT_S`) until the 1-minute load average is below 1; returns the seconds waited and the load then. */
async function quietWait(phase: string): Promise<{ waited_s: number; loadavg: number[] }> {
  const t = Date.now();
  while (QUIET_WAIT_S > 0 && loadavg()[0]! >= 1 && Date.now() - t < QUIET_WAIT_S * 1000) {
    log(`${phase}: waiting for a quieter machine (load ${r2(loadavg()[0]!)})…`);
    await new Promise((res) => setTimeout(res, 10_000));
  }
  return { waited_s: Math.round((Date.now() - t) / 1000), loadavg: loadavg().map(r2) };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const median = (xs: number[]): number => pct(xs, 50);
const r2 = (x: number): number => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const started = new Date();
  const work = mkdtempSync(path.join(tmpdir(), 'eucp-catalog-bench-'));
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: r2(totalmem() / 2 ** 30), node: process.version, loadavgStart: loadavg().map(r2) };
  log(`${N} records, ${NQ} queries × ${OUR_REPS} (ours) / ${REPS} (pandas) reps; work dir ${work}; load average ${machine.loadavgStart.join(' ')}`);
  try {
    // 1. Generate, write the CSV and build the index in one pass.
    gc();
    const mem0 = process.memoryUsage();
    const csvPath = path.join(work, 'catalog.csv');
    const csv = createWriteStream(csvPath);
    csv.write(CSV_COLUMNS.join(',') + '\n');
    // The builder (and its temporary dictionaries) goes out of scope before the heap is measured.
    const t0 = performance.now();
    let t1 = t0;
    const index = await (async () => {
      const builder = new FacetIndexBuilder(ESGF_INDEX_SPEC);
      let chunk: string[] = [];
      for (let i = 0; i < N; i++) {
        const r = benchRecord(SEED, i);
        builder.add(r as unknown as Record<string, unknown>);
        chunk.push(csvLine(r));
        if (chunk.length === 10_000) {
          if (!csv.write(chunk.join('\n') + '\n')) await once(csv, 'drain');
          chunk = [];
        }
      }
      if (chunk.length) csv.write(chunk.join('\n') + '\n');
      csv.end();
      await once(csv, 'finish');
      t1 = performance.now();
      return builder.build();
    })();
    const t2 = performance.now();
    gc();
    const mem1 = process.memoryUsage();
    const memory = index.memory();
    const heapDelta = mem1.heapUsed + mem1.arrayBuffers - (mem0.heapUsed + mem0.arrayBuffers);
    const idFields = ['id', 'instance_id', 'master_id', 'title'];
    const facetBytes = Object.entries(memory.fields).filter(([f]) => !idFields.includes(f)).reduce((n, [, b]) => n + b, 0);
    log(`generated + CSV ${r2((t1 - t0) / 1000)} s, index built in ${r2((t2 - t1) / 1000)} s; heap +${Math.round(heapDelta / 2 ** 20)} MiB (${Math.round(heapDelta / N)} B/record)`);

    // 2. Our queries: the route's work without HTTP (parse → index → ESGF JSON), and the index alone.
    const queries = makeQueries();
    const quietOurs = await quietWait('ours');
    const run = (q: BenchQuery) => {
      const s = parseEsgfSearch(new URLSearchParams(q.esgf), Date.now());
      const t = performance.now();
      const res = index.search({ where: s.where, facets: s.facets, offset: s.offset, limit: s.limit });
      const body = JSON.stringify(esgfResponse(s, res, (i) => docOf(index, i), Math.round(performance.now() - t)));
      return { res, bytes: body.length };
    };
    const ours = queries.map((q) => run(q).res);
    const oursMs: number[][] = queries.map(() => []);
    const coreMs: number[][] = queries.map(() => []);
    for (let rep = 0; rep < OUR_REPS; rep++) {
      queries.forEach((q, k) => {
        const t = performance.now();
        run(q);
        oursMs[k]!.push(performance.now() - t);
      });
      queries.forEach((q, k) => {
        const s = parseEsgfSearch(new URLSearchParams(q.esgf), Date.now());
        const t = performance.now();
        index.search({ where: s.where, facets: s.facets, limit: s.limit });
        coreMs[k]!.push(performance.now() - t);
      });
    }
    const all = oursMs.flat();
    log(`ours: p50 ${r2(median(all))} ms, p99 ${r2(pct(all, 99))} ms`);

    // 2b. The same requests for a caller the access policies restrict, as the route serves them:
    // the hub's visibility filter (catalog/visibility.ts) decides every distinct instance_id once
    // per kind of caller and catalog generation (cold), then answers from its cache.
    const db = await openDatabase(path.join(work, 'hub.sqlite'));
    const access = new AccessService({
      db, config: configSchema.parse({ stateDir: work }), log: createLogger('silent'),
      policies: compilePolicies(parsePolicies(BENCH_POLICIES, 'bench-policies.xml'), { unmatched: 'Deny' }),
    });
    await access.upsertGroup({ name: 'Restricted', visible: true, automaticApproval: false, licenceId: null, licenceText: null });
    const corpus = { index, doc: (i: number) => docOf(index, i) };
    const caller = { user: { id: 1, name: 'bench' } } as unknown as AuthContext;
    const coldMaskMs: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const fresh = accessVisibilityFilter(access);
      const t = performance.now();
      await fresh({ caller, type: 'Dataset', corpus, purpose: 'list' });
      coldMaskMs.push(performance.now() - t);
    }
    const filter = accessVisibilityFilter(access);
    const visible = (await filter({ caller, type: 'Dataset', corpus, purpose: 'list' }))!;
    const maskedMs: number[] = [];
    for (let rep = 0; rep < OUR_REPS; rep++) {
      for (const q of queries) {
        const t = performance.now();
        const mask = await filter({ caller, type: 'Dataset', corpus, purpose: 'list' });
        const sq = parseEsgfSearch(new URLSearchParams(q.esgf), Date.now());
        const res = index.search({ where: sq.where, facets: sq.facets, offset: sq.offset, limit: sq.limit, mask });
        JSON.stringify(esgfResponse(sq, res, (i) => docOf(index, i), 0));
        maskedMs.push(performance.now() - t);
      }
    }
    await db.destroy();
    const visibleCount = visible.reduce((n, w) => n + popcount(w), 0);
    log(`restricted caller (${visibleCount} of ${N} visible): mask cold ${r2(median(coldMaskMs))} ms; requests p50 ${r2(median(maskedMs))} ms, p99 ${r2(pct(maskedMs, 99))} ms`);

    // 3. pandas over the CSV, alone on the machine (our index stays in memory but idle).
    const qPath = path.join(work, 'queries.json');
    writeFileSync(qPath, JSON.stringify(queries));
    const pOut = path.join(work, 'pandas.json');
    const quietPandas = await quietWait('pandas');
    log('pandas: loading the CSV and running the same queries…');
    await promisify(execFile)('/usr/bin/python3', [path.join(here, 'pandas_bench.py'), '--csv', csvPath, '--queries', qPath, '--reps', String(REPS), '--out', pOut], { maxBuffer: 1 << 26 });
    const pandas = JSON.parse(readFileSync(pOut, 'utf8')) as {
      pandas_version: string; rows: number; load_s: number; df_memory_bytes: number; rss_delta_bytes: number; category_convert_s: number; category_memory_bytes: number;
      object: { times_ms: number[][]; results: { numFound: number; facets: Record<string, Record<string, number>> }[] };
      category: { times_ms: number[][]; results: { numFound: number; facets: Record<string, Record<string, number>> }[] };
    };

    // 4. Same answers? Then the figures.
    let mismatches = 0;
    queries.forEach((q, k) => {
      for (const variant of [pandas.object, pandas.category]) {
        const p = variant.results[k]!;
        const o = ours[k]!;
        const flat = (f: string): Record<string, number> => {
          const a = o.facetCounts[f] ?? [];
          const m: Record<string, number> = {};
          for (let j = 0; j < a.length; j += 2) m[String(a[j])] = Number(a[j + 1]);
          return m;
        };
        const same = p.numFound === o.numFound && q.facets.every((f) => JSON.stringify(Object.entries(flat(f)).sort()) === JSON.stringify(Object.entries(p.facets[f] ?? {}).sort()));
        if (!same) {
          mismatches++;
          log(`MISMATCH query ${k}: ${q.esgf} ours ${o.numFound} pandas ${p.numFound}`);
        }
      }
    });
    const pAll = pandas.object.times_ms.flat();
    const cAll = pandas.category.times_ms.flat();
    const perQueryRatio = queries.map((_, k) => median(oursMs[k]!) / median(pandas.object.times_ms[k]!));
    const perQueryRatioCat = queries.map((_, k) => median(oursMs[k]!) / median(pandas.category.times_ms[k]!));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const summary = {
      records: N, queries: NQ, reps_ours: OUR_REPS, reps_pandas: REPS, seed: SEED, mismatches,
      ours: {
        p50_ms: r2(median(all)), p99_ms: r2(pct(all, 99)), max_ms: r2(Math.max(...all)), mean_ms: r2(mean(all)),
        index_only_p50_ms: r2(median(coreMs.flat())), index_only_p99_ms: r2(pct(coreMs.flat(), 99)),
        generate_and_csv_s: r2((t1 - t0) / 1000), build_s: r2((t2 - t1) / 1000),
        heap_delta_bytes_per_record: Math.round(heapDelta / N),
        index_estimate_bytes_per_record: Math.round(memory.totalBytes / N),
        index_typed_arrays_bytes_per_record: r2(memory.typedArrayBytes / N),
        facet_fields_bytes_per_record: r2(facetBytes / N),
        id_fields_bytes_per_record_excluding_strings: r2(idFields.reduce((n, f) => n + (memory.fields[f] ?? 0), 0) / N),
      },
      restricted_caller: {
        visible_records: visibleCount, mask_cold_ms: r2(median(coldMaskMs)),
        p50_ms: r2(median(maskedMs)), p99_ms: r2(pct(maskedMs, 99)),
      },
      pandas: {
        version: pandas.pandas_version, load_s: r2(pandas.load_s), df_memory_bytes_per_record: Math.round(pandas.df_memory_bytes / N), rss_delta_bytes_per_record: Math.round(pandas.rss_delta_bytes / N),
        p50_ms: r2(median(pAll)), p99_ms: r2(pct(pAll, 99)), mean_ms: r2(mean(pAll)),
        category: { convert_s: r2(pandas.category_convert_s), memory_bytes_per_record: Math.round(pandas.category_memory_bytes / N), p50_ms: r2(median(cAll)), p99_ms: r2(pct(cAll, 99)), mean_ms: r2(mean(cAll)) },
      },
      ratio: {
        p50: r2(median(all) / median(pAll)), p99: r2(pct(all, 99) / pct(pAll, 99)), mean: r2(mean(all) / mean(pAll)),
        per_query_median: r2(median(perQueryRatio)), per_query_worst: r2(Math.max(...perQueryRatio)),
        vs_category_per_query_median: r2(median(perQueryRatioCat)), vs_category_per_query_worst: r2(Math.max(...perQueryRatioCat)),
      },
      targets: { p99_under_100ms: pct(all, 99) < 100, restricted_p99_under_100ms: pct(maskedMs, 99) < 100, ratio_at_most_0_2: Math.max(...perQueryRatio) <= 0.2 },
      machine: { ...machine, quietOurs, quietPandas, loadavgEnd: loadavg().map(r2) },
    };
    const detail = queries.map((q, k) => ({
      esgf: q.esgf, numFound: ours[k]!.numFound, ours_median_ms: r2(median(oursMs[k]!)), index_median_ms: r2(median(coreMs[k]!)),
      pandas_median_ms: r2(median(pandas.object.times_ms[k]!)), pandas_category_median_ms: r2(median(pandas.category.times_ms[k]!)),
    }));
    const resultsDir = path.join(here, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `${started.toISOString().replace(/[:.]/g, '-').slice(0, 19)}${smoke ? '-smoke' : ''}.json`);
    writeFileSync(file, JSON.stringify({ started: started.toISOString(), summary, queries: detail }, null, 2) + '\n');
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    log(`results: ${path.relative(process.cwd(), file)}`);
    if (mismatches) process.exitCode = 1;
  } finally {
    if (process.argv.includes('--keep')) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
