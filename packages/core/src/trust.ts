/**
 * Trust in a notebook's outputs (notebook-designs.md D4), as pure functions:
 * - {@link computeBadges} derives the badges (out-of-order, stale, orphaned, restarted
 *   mid-document) from the journal of executions and the document's current cells;
 * - {@link compareOutputs} compares the outputs of a replay with the stored ones, the way
 *   nbval does: sanitised, numbers under a tolerance, binary outputs by presence.
 * No I/O and no hashing here: callers pass source hashes as strings.
 */

/** One execution as the journal recorded it (a structural subset of the lab's entry). */
export interface TrustRun {
  cellId: string;
  /** Hash of the source as executed (any stable hash; compared for equality only). */
  sourceHash: string;
  kernelId: string;
  /** Increases by one with every restart of that kernel. */
  restartIndex: number;
  status: 'ok' | 'error' | 'aborted' | 'dead' | 'running';
}

/** One cell of the document as it is now, in document order. */
export interface TrustCell {
  id: string;
  cell_type: string;
  /** Hash of the current source, computed like {@link TrustRun.sourceHash}. */
  sourceHash: string;
  /** True for a code cell whose source is only whitespace (front-ends never run those). */
  blank?: boolean;
  /**
   * Whether the cell shows outputs or an execution count. Unknown (undefined) counts as
   * true; false (outputs cleared) keeps a cell that ran before a restart from being stale.
   */
  hasOutputs?: boolean;
}

export type StaleReason = 'source-changed' | 'upstream-rerun' | 'kernel-restarted';

/** The trust badges of a notebook (same shape as the lab server's `NotebookBadges`). */
export interface TrustBadges {
  outOfOrder: boolean;
  /** Cells (document order) whose latest run came after the latest run of a cell below them. */
  outOfOrderCells: string[];
  /** One entry per stale cell, in document order, with its most specific reason. */
  stale: { cellId: string; reason: StaleReason }[];
  /** Cells that ran since the latest restart but are no longer code cells of the document. */
  orphaned: string[];
  /** The kernel was restarted after this notebook ran in it, and only part of the document ran since. */
  restartedMidDocument: boolean;
}

/** Badges of a notebook with nothing to say. */
export const NO_BADGES: Readonly<TrustBadges> = Object.freeze({
  outOfOrder: false,
  outOfOrderCells: [],
  stale: [],
  orphaned: [],
  restartedMidDocument: false,
});

/**
 * Computes the trust badges of a notebook.
 *
 * `runs` are the journal entries of the notebook, oldest first; only those of the kernel
 * of the newest entry count (the notebook's current kernel session), and `aborted` runs
 * never executed so they are ignored. The kernel's *epoch* is its restart index:
 * `opts.restartIndex` (the kernel's current one, known to the caller even when nothing
 * ran since the restart), else the highest among the runs.
 *
 * Rules, all language-agnostic and conservative:
 * - out-of-order: looking at the latest run of each cell in the current epoch, a cell whose
 *   latest run came after the latest run of a cell below it;
 * - stale `source-changed`: the current source hash differs from the one the cell last ran
 *   with; `kernel-restarted`: the cell last ran before the latest restart (and still shows
 *   outputs); `upstream-rerun`: a cell above it ran later in the current epoch. One reason
 *   per cell, in that order of precedence;
 * - orphaned: ran in the current epoch, no longer a code cell of the document;
 * - restarted mid-document: there were runs before the latest restart, some ran since,
 *   and not every non-blank code cell ran since.
 */
export function computeBadges(
  runs: readonly TrustRun[],
  cells: readonly TrustCell[],
  opts: { restartIndex?: number } = {},
): TrustBadges {
  const last = runs[runs.length - 1];
  if (!last) return { ...NO_BADGES, outOfOrderCells: [], stale: [], orphaned: [] };
  const mine = runs.filter((r) => r.kernelId === last.kernelId && r.status !== 'aborted');
  const epoch = Math.max(opts.restartIndex ?? 0, ...mine.map((r) => r.restartIndex));

  // Latest run per cell: in any epoch, and in the current one (seq = position in `mine`).
  const lastAny = new Map<string, { seq: number; hash: string; restartIndex: number }>();
  const lastNow = new Map<string, number>();
  const ranNow: string[] = [];
  mine.forEach((r, seq) => {
    lastAny.set(r.cellId, { seq, hash: r.sourceHash, restartIndex: r.restartIndex });
    if (r.restartIndex === epoch) {
      if (!lastNow.has(r.cellId)) ranNow.push(r.cellId);
      lastNow.set(r.cellId, seq);
    }
  });

  const code = cells.filter((c) => c.cell_type === 'code');
  const codeIds = new Set(code.map((c) => c.id));
  const orphaned = ranNow.filter((id) => !codeIds.has(id));

  // Cells that ran in the current epoch, in document order, with their latest run.
  const ran = code.filter((c) => lastNow.has(c.id)).map((c) => ({ id: c.id, seq: lastNow.get(c.id)! }));
  const outOfOrderCells: string[] = [];
  const upstream = new Set<string>();
  let maxAbove = -1;
  ran.forEach((c) => {
    if (maxAbove > c.seq) upstream.add(c.id);
    maxAbove = Math.max(maxAbove, c.seq);
  });
  let minBelow = Infinity;
  for (let i = ran.length - 1; i >= 0; i--) {
    const c = ran[i]!;
    if (minBelow < c.seq) outOfOrderCells.unshift(c.id);
    minBelow = Math.min(minBelow, c.seq);
  }

  const stale: TrustBadges['stale'] = [];
  for (const c of code) {
    const a = lastAny.get(c.id);
    if (!a) continue;
    const before = a.restartIndex < epoch;
    if (before && c.hasOutputs === false) continue;
    if (a.hash !== c.sourceHash) stale.push({ cellId: c.id, reason: 'source-changed' });
    else if (before) stale.push({ cellId: c.id, reason: 'kernel-restarted' });
    else if (upstream.has(c.id)) stale.push({ cellId: c.id, reason: 'upstream-rerun' });
  }

  const restarted = mine.some((r) => r.restartIndex < epoch);
  const allRan = code.every((c) => c.blank || lastNow.has(c.id));
  return {
    outOfOrder: outOfOrderCells.length > 0,
    outOfOrderCells,
    stale,
    orphaned,
    restartedMidDocument: restarted && ranNow.length > 0 && !allRan,
  };
}

// ---------------------------------------------------------------------------------------
// Output comparison (verify-by-replay)
// ---------------------------------------------------------------------------------------

/** An nbformat 4 output, structurally (extra fields such as `metadata` are ignored). */
export interface TrustOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

/** The outputs of one code cell; `cellIndex` (its position in the document) defaults to the list position. */
export interface ComparedCell {
  cellId: string;
  cellIndex?: number;
  outputs: readonly TrustOutput[];
}

export interface OutputCompareOptions {
  /** Relative tolerance for numbers in text, as numpy's `isclose`: default 1e-6. */
  rtol?: number;
  /** Absolute tolerance for numbers in text: default 1e-12. */
  atol?: number;
  /** Leave stderr streams out of the comparison (warnings, progress bars). Default false. */
  ignoreStderr?: boolean;
}

export type DivergenceReason = 'not-run' | 'error' | 'output-count' | 'output-type' | 'mime-types' | 'text' | 'number';

/** Where a replay first differed from the stored outputs. */
export interface Divergence {
  cellIndex: number;
  cellId: string;
  /** The stored output that differs (sanitised, shortened), '' when there is none. */
  expected: string;
  /** The replayed output that differs (sanitised, shortened), '' when there is none. */
  actual: string;
  reason: DivergenceReason;
  /** One sentence for people, e.g. `number 41 differs from stored 42`. */
  message: string;
}

export interface OutputComparison {
  reproducible: boolean;
  divergedAt?: Divergence;
}

/**
 * The sanitisers applied to all compared text, in order (documented list, nbval-style):
 * memory addresses, ipykernel's per-process cell file names, UUIDs, ISO 8601 date-times,
 * durations (a number followed by ns, µs, us, ms, s, sec, seconds, min or h) and
 * `%timeit`'s adaptive loop count.
 */
export const OUTPUT_SANITISERS: ReadonlyArray<{ name: string; pattern: RegExp; replacement: string }> = [
  { name: 'memory address', pattern: /0x[0-9a-fA-F]{6,}/g, replacement: '0xADDR' },
  { name: 'ipykernel cell file', pattern: /ipykernel_\d+[\\/]\d+\.py/g, replacement: 'ipykernel_PID/CELL.py' },
  { name: 'ipython input', pattern: /<ipython-input-\d+-[0-9a-f]+>/g, replacement: '<ipython-input>' },
  { name: 'uuid', pattern: /\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/g, replacement: 'UUID' },
  {
    name: 'date-time',
    pattern: /\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g,
    replacement: 'DATETIME',
  },
  {
    name: 'duration',
    pattern: /(?<![\p{L}\p{N}_.])\d+(?:\.\d+)? ?(?:ns|µs|μs|us|ms|sec|seconds?|min|s|h)(?![\p{L}\p{N}_])/gu,
    replacement: 'DURATION',
  },
  { name: 'timeit loops', pattern: /[\d,]+ loops? each/g, replacement: 'N loops each' },
];

/** Applies {@link OUTPUT_SANITISERS} to `text`. */
export function sanitiseOutputText(text: string): string {
  return OUTPUT_SANITISERS.reduce((t, s) => t.replace(s.pattern, s.replacement), text);
}

type Norm =
  | { kind: 'stream'; name: string; text: string }
  | { kind: 'data'; type: string; mimes: string[]; plain: string | null }
  | { kind: 'error'; ename: string; evalue: string };

const joinText = (t: unknown): string => (Array.isArray(t) ? t.join('') : typeof t === 'string' ? t : '');

/**
 * Normalises a cell's outputs: drops execution counts, metadata and transient ids;
 * merges each run of consecutive stream outputs into one stdout then one stderr (chunking
 * and interleaving of the two streams vary between runs); sanitises text.
 */
function normalise(outputs: readonly TrustOutput[], ignoreStderr: boolean): Norm[] {
  const out: Norm[] = [];
  let streams: Map<string, string> | null = null;
  const flush = (): void => {
    if (!streams) return;
    for (const name of ['stdout', 'stderr', ...[...streams.keys()].filter((n) => n !== 'stdout' && n !== 'stderr')]) {
      const text = streams.get(name);
      if (text !== undefined && text !== '') out.push({ kind: 'stream', name, text: sanitiseOutputText(text) });
    }
    streams = null;
  };
  for (const o of outputs) {
    if (o.output_type === 'stream') {
      const name = o.name ?? 'stdout';
      if (ignoreStderr && name === 'stderr') continue;
      streams ??= new Map();
      streams.set(name, (streams.get(name) ?? '') + joinText(o.text));
      continue;
    }
    flush();
    if (o.output_type === 'error') {
      out.push({ kind: 'error', ename: o.ename ?? '', evalue: sanitiseOutputText(o.evalue ?? '') });
    } else {
      const data = o.data ?? {};
      const plain = 'text/plain' in data ? sanitiseOutputText(joinText(data['text/plain'])) : null;
      out.push({ kind: 'data', type: o.output_type, mimes: Object.keys(data).sort(), plain });
    }
  }
  flush();
  return out;
}

const MAX_SHOWN = 1000;
const shorten = (s: string): string => (s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…` : s);

function show(n: Norm | undefined): string {
  if (!n) return '';
  if (n.kind === 'stream') return shorten(n.text);
  if (n.kind === 'error') return shorten(`${n.ename}: ${n.evalue}`);
  return shorten(n.plain ?? `[${n.mimes.join(', ')}]`);
}

const TOKEN = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[\p{L}_][\p{L}\p{N}_]*|\S/gu;
const NUMBER = /^[-+]?\.?\d/;

/**
 * Compares two texts token by token, ignoring the amount of whitespace (numpy pads
 * columns differently when digits change); numbers match when
 * `|actual - expected| <= atol + rtol * |expected|`. Returns the first difference.
 */
function compareText(
  expected: string,
  actual: string,
  rtol: number,
  atol: number,
): { reason: 'text' | 'number'; message: string } | null {
  const e = expected.match(TOKEN) ?? [];
  const a = actual.match(TOKEN) ?? [];
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    const x = e[i];
    const y = a[i];
    if (x === y) continue;
    if (x !== undefined && y !== undefined && NUMBER.test(x) && NUMBER.test(y)) {
      const ex = Number(x);
      const ac = Number(y);
      if (Math.abs(ac - ex) <= atol + rtol * Math.abs(ex)) continue;
      return { reason: 'number', message: `number ${y} differs from stored ${x}` };
    }
    if (x === undefined) return { reason: 'text', message: `extra text from "${y}" on` };
    if (y === undefined) return { reason: 'text', message: `text ends where stored text has "${x}"` };
    return { reason: 'text', message: `"${y}" differs from stored "${x}"` };
  }
  return null;
}

type CellDiff = Omit<Divergence, 'cellIndex' | 'cellId'>;

function compareCell(exp: Norm[], act: Norm[], rtol: number, atol: number): CellDiff | null {
  const eErr = exp.find((n) => n.kind === 'error');
  const aErr = act.find((n) => n.kind === 'error');
  if (aErr?.kind === 'error' && (eErr?.kind !== 'error' || eErr.ename !== aErr.ename)) {
    return { reason: 'error', expected: show(eErr ?? exp[0]), actual: show(aErr), message: `raised ${aErr.ename}` };
  }
  if (eErr?.kind === 'error' && !aErr) {
    return { reason: 'error', expected: show(eErr), actual: show(act[0]), message: `stored output raised ${eErr.ename}, the replay did not` };
  }
  for (let i = 0; i < Math.max(exp.length, act.length); i++) {
    const e = exp[i];
    const a = act[i];
    if (!e || !a) {
      return {
        reason: 'output-count',
        expected: show(e),
        actual: show(a),
        message: `${act.length} output(s) where ${exp.length} were stored`,
      };
    }
    const kindOf = (n: Norm): string => (n.kind === 'stream' ? `stream ${n.name}` : n.kind === 'data' ? n.type : 'error');
    if (kindOf(e) !== kindOf(a)) {
      return { reason: 'output-type', expected: show(e), actual: show(a), message: `${kindOf(a)} where ${kindOf(e)} was stored` };
    }
    if (e.kind === 'data' && a.kind === 'data' && e.mimes.join() !== a.mimes.join()) {
      return {
        reason: 'mime-types',
        expected: `[${e.mimes.join(', ')}]`,
        actual: `[${a.mimes.join(', ')}]`,
        message: `output types ${a.mimes.join(', ')} where ${e.mimes.join(', ')} were stored`,
      };
    }
    const et = e.kind === 'stream' ? e.text : e.kind === 'data' ? e.plain : null;
    const at = a.kind === 'stream' ? a.text : a.kind === 'data' ? a.plain : null;
    if (et !== null && at !== null) {
      const d = compareText(et, at, rtol, atol);
      if (d) return { ...d, expected: show(e), actual: show(a) };
    }
  }
  return null;
}

/**
 * Compares the outputs of a replay (`actual`) with the stored ones (`expected`), cell by
 * cell in the order of `expected`, matching cells by id, nbval-style: execution counts,
 * metadata and transient ids are ignored; text is sanitised ({@link OUTPUT_SANITISERS});
 * `text/plain` and stream text are compared token-wise with numbers under tolerance;
 * other MIME types (images, HTML…) only by presence; errors by `ename`. A cell missing
 * from `actual` (the replay stopped before it) diverges only if it has stored outputs.
 * Returns the first divergence.
 */
export function compareOutputs(
  expected: readonly ComparedCell[],
  actual: readonly ComparedCell[],
  opts: OutputCompareOptions = {},
): OutputComparison {
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 1e-12;
  const ignoreStderr = opts.ignoreStderr ?? false;
  const byId = new Map(actual.map((c) => [c.cellId, c]));
  for (const [i, cell] of expected.entries()) {
    const exp = normalise(cell.outputs, ignoreStderr);
    const got = byId.get(cell.cellId);
    const where = { cellIndex: cell.cellIndex ?? i, cellId: cell.cellId };
    if (!got) {
      if (exp.length === 0) continue;
      return {
        reproducible: false,
        divergedAt: { ...where, reason: 'not-run', expected: show(exp[0]), actual: '', message: 'the replay stopped before this cell' },
      };
    }
    const diff = compareCell(exp, normalise(got.outputs, ignoreStderr), rtol, atol);
    if (diff) return { reproducible: false, divergedAt: { ...where, ...diff } };
  }
  return { reproducible: true };
}
