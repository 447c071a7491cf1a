/**
 * Cost of filesystem-enforced quotas, in one run on one machine:
 *  1. write 10,000 small files, and 1 GiB sequentially, into a quota-limited btrfs
 *     subvolume (the hub's own layout: a user's home under a level-1 quota group with a
 *     hard limit) vs an unlimited subvolume of the same pool vs a plain directory on the
 *     host's filesystem; each timed to data on disk (fsync / syncfs included);
 *  2. the usage query the hub makes (`btrfs filesystem sync` + `btrfs qgroup show`, i.e.
 *     `BtrfsStoragePool.usage()`) at 1,000,000 files, next to `du -s` over the same tree.
 * Needs root (loop device, mount). Prints a table and writes results/<timestamp>.json.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createTestBtrfsPool } from '@eucp/testing/btrfs-pool';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 ** 2;

const { values } = parseArgs({
  options: {
    small: { type: 'string', default: '10000' },
    'small-bytes': { type: 'string', default: '4096' },
    'seq-mib': { type: 'string', default: '1024' },
    reps: { type: 'string', default: '10' },
    files: { type: 'string', default: '1000000' },
    'image-gib': { type: 'string', default: '16' },
    'host-dir': { type: 'string', default: '/var/tmp' },
    smoke: { type: 'boolean', default: false },
    'skip-count': { type: 'boolean', default: false },
  },
});
const smoke = values.smoke;
const SMALL = smoke ? 500 : Number(values.small);
const SMALL_BYTES = Number(values['small-bytes']);
const SEQ_MIB = smoke ? 16 : Number(values['seq-mib']);
const REPS = smoke ? 2 : Math.max(2, Number(values.reps) + (Number(values.reps) % 2));
const FILES = smoke ? 20_000 : Number(values.files);

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const syncfs = async (dir: string): Promise<void> => { await run('/usr/bin/sync', ['-f', dir]); };

/** Writes `n` files of `bytes` each, 1,000 per directory, then syncs the filesystem. */
async function smallFiles(dir: string, n: number, bytes: number): Promise<{ writeMs: number; totalMs: number }> {
  const data = randomBytes(bytes);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (i % 1000 === 0) mkdirSync(path.join(dir, `d${i / 1000}`));
    writeFileSync(path.join(dir, `d${Math.floor(i / 1000)}`, `f${i}`), data);
  }
  const writeMs = ms(t0);
  await syncfs(dir);
  return { writeMs, totalMs: ms(t0) };
}

/** Writes `mib` MiB in 1 MiB writes to one file, then fsyncs it. */
function sequential(dir: string, mib: number): number {
  const chunk = randomBytes(MiB);
  const t0 = process.hrtime.bigint();
  const fd = openSync(path.join(dir, 'seq.bin'), 'w');
  for (let i = 0; i < mib; i++) writeSync(fd, chunk);
  fsyncSync(fd);
  closeSync(fd);
  return ms(t0);
}

async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await syncfs(path.dirname(dir));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (loop device and mount)');
  const started = new Date();
  const pool = await createTestBtrfsPool({ sizeBytes: Number(values['image-gib']) * 1024 ** 3 });
  const hostBase = await mkdtemp(path.join(values['host-dir']!, 'eucp-bench-quota-'));
  const out: Record<string, unknown> = {
    date: started.toISOString(), smoke, small: SMALL, smallBytes: SMALL_BYTES, seqMiB: SEQ_MIB, reps: REPS, files: FILES,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 1024 ** 3 * 10) / 10, kernel: os.release(), node: process.version },
    btrfsProgs: (await run('/usr/bin/btrfs', ['--version'])).stdout.trim(),
    hostFs: (await run('/usr/bin/stat', ['-f', '-c', '%T', hostBase])).stdout.trim(),
  };
  try {
    // The hub's layout: a user's home + derived under one level-1 qgroup; only `limited` has a limit.
    const limited = (await pool.pool.ensureUser('limited')).home;
    await pool.pool.setUserLimit('limited', Math.max(4 * 1024 * MiB, 2 * SEQ_MIB * MiB));
    const unlimited = (await pool.pool.ensureUser('unlimited')).home;
    const targets: Record<string, string> = { limited: path.join(limited, 'w'), unlimited: path.join(unlimited, 'w'), host: path.join(hostBase, 'w') };
    const times: Record<string, { small: number[]; smallWrite: number[]; seq: number[] }> = {};
    for (const k of Object.keys(targets)) times[k] = { small: [], smallWrite: [], seq: [] };
    for (let rep = 0; rep < REPS; rep++) {
      // The two subvolumes run back to back (alternating which goes first), so the ratio of
      // each pair sees the same machine load; the host directory runs after them.
      const ks = rep % 2 ? ['unlimited', 'limited', 'host'] : ['limited', 'unlimited', 'host'];
      for (const k of ks) {
        await emptyDir(targets[k]!);
        const small = await smallFiles(targets[k]!, SMALL, SMALL_BYTES);
        times[k]!.small.push(small.totalMs);
        times[k]!.smallWrite.push(small.writeMs);
        await emptyDir(targets[k]!);
        times[k]!.seq.push(sequential(targets[k]!, SEQ_MIB));
        await emptyDir(targets[k]!);
      }
      process.stderr.write(`rep ${rep + 1}/${REPS}: ${ks.map((k) => `${k} small ${times[k]!.small.at(-1)!.toFixed(0)} ms, seq ${times[k]!.seq.at(-1)!.toFixed(0)} ms`).join('; ')}\n`);
    }
    type Key = 'small' | 'smallWrite' | 'seq';
    const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { small: median(v.small), smallWrite: median(v.smallWrite), seq: median(v.seq) }]));
    // Each pair ran back to back; whichever runs first in a pair tends to be slower (the
    // host's writeback of the previous step), so the ratio is balanced over both orders:
    // the geometric mean of the median ratio with `limited` first and with it second.
    const ratios = (key: Key, limitedFirst: boolean): number[] =>
      times.limited![key].map((l, i) => l / times.unlimited![key][i]!).filter((_, i) => (i % 2 === 0) === limitedFirst);
    const pairRatio = (key: Key): number => Math.sqrt(median(ratios(key, true)) * median(ratios(key, false)));
    const byOrder = (key: Key) => ({ limitedFirst: median(ratios(key, true)), limitedSecond: median(ratios(key, false)), balanced: pairRatio(key) });
    out.write = { times, median: med, ratio: { small: byOrder('small'), smallWrite: byOrder('smallWrite'), seq: byOrder('seq') } };
    const row = (label: string, key: Key): string => {
      const l = med.limited![key]; const u = med.unlimited![key]; const h = med.host![key];
      return `| ${label} | ${u.toFixed(0)} ms | ${l.toFixed(0)} ms | ${h.toFixed(0)} ms | ${pairRatio(key).toFixed(3)} | ${(l / h).toFixed(3)} |`;
    };
    const lines = [
      '| workload (median of reps) | unlimited subvolume | quota-limited subvolume | host dir | limited/unlimited (paired, order-balanced) | limited/host |',
      '|---|---|---|---|---|---|',
      row(`${SMALL.toLocaleString('en')} files × ${SMALL_BYTES} B + syncfs`, 'small'),
      row(`the same, before the syncfs (informative)`, 'smallWrite'),
      row(`${SEQ_MIB} MiB sequential + fsync`, 'seq'),
    ];

    if (!values['skip-count']) {
      const counted = (await pool.pool.ensureUser('counted')).home;
      const t0 = process.hrtime.bigint();
      for (let d = 0; d * 1000 < FILES; d++) {
        const dir = path.join(counted, `d${d}`);
        mkdirSync(dir);
        for (let i = d * 1000; i < Math.min(FILES, (d + 1) * 1000); i++) writeFileSync(path.join(dir, `f${i}`), 'x');
      }
      await syncfs(counted);
      const createMs = ms(t0);
      const usageMs: number[] = [];
      let reported = 0;
      for (let i = 0; i < 5; i++) {
        const t = process.hrtime.bigint();
        reported = (await pool.pool.usage()).users.get('counted')!.usedBytes;
        usageMs.push(ms(t));
      }
      // Reference: what counting by walking the tree costs (caches warm: the files were just written).
      const t1 = process.hrtime.bigint();
      const du = Number((await run('/usr/bin/du', ['-s', '-B1', counted], { maxBuffer: 1 << 20 })).stdout.split('\t')[0]);
      const duMs = ms(t1);
      out.accounting = { files: FILES, createMs, usageMs, usageMedianMs: median(usageMs), reportedBytes: reported, duMs, duBytes: du };
      lines.push('', '| usage of one user at N files | N | hub usage query (sync + qgroup show), median of 5 | `du -s` (warm cache) | figures (qgroup / du) |', '|---|---|---|---|---|',
        `| ${FILES.toLocaleString('en')} files of 1 byte | ${FILES.toLocaleString('en')} | ${median(usageMs).toFixed(1)} ms | ${duMs.toFixed(0)} ms | ${(reported / MiB).toFixed(1)} MiB / ${(du / MiB).toFixed(1)} MiB |`);
    }
    const table = lines.join('\n');
    process.stdout.write(`${table}\n`);
    out.table = table;
    const resultsDir = path.join(here, 'results');
    await mkdir(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `${started.toISOString().replace(/:/g, '-').replace(/\..*/, '')}${smoke ? '-smoke' : ''}.json`);
    await writeFile(file, JSON.stringify(out, null, 2) + '\n');
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  } finally {
    await rm(hostBase, { recursive: true, force: true });
    await pool.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
