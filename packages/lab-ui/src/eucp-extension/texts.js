// Texts shown by the EUCP extension (pure; no JupyterLab imports): the trust badges of a
// notebook, the result of a verify run, and the query of the events socket.

/**
 * @typedef {{ outOfOrder: boolean, outOfOrderCells: string[],
 *   stale: { cellId: string, reason: string }[], orphaned: string[],
 *   restartedMidDocument: boolean }} NotebookBadges
 *
 * @typedef {{ runId: string, state: 'running' | 'done' | 'failed', reproducible?: boolean,
 *   divergedAt?: { cellIndex: number, cellId: string, reason?: string, expected?: unknown, actual?: unknown },
 *   cellsRun?: number, cellsTotal?: number, error?: string, message?: string }} VerifyRun
 */

const STALE_REASONS = /** @type {Record<string, string>} */ ({
  'source-changed': 'its source changed since it ran',
  'upstream-rerun': 'a cell above it ran again later',
  'kernel-restarted': 'the kernel restarted since it ran',
});

/**
 * What the badges toolbar item shows: `text` is empty when the notebook is clean, else
 * "Out of order", "Stale: N cells" or both joined by " · "; `title` explains, with cell
 * numbers (1-based, in document order).
 * @param {NotebookBadges} badges
 * @param {string[]} cellIds the notebook's cell ids in document order
 * @returns {{ text: string, title: string, stale: Map<string, string>, outOfOrder: Set<string> }}
 */
export function summarizeBadges(badges, cellIds) {
  const numberOf = new Map(cellIds.map((id, i) => [id, i + 1]));
  const present = (/** @type {string} */ id) => numberOf.has(id);
  const stale = new Map((badges.stale ?? []).filter((s) => present(s.cellId)).map((s) => [s.cellId, s.reason]));
  const outOfOrder = new Set((badges.outOfOrderCells ?? []).filter(present));
  const parts = [];
  const lines = [];
  if (badges.outOfOrder) {
    parts.push('Out of order');
    const nums = [...outOfOrder].map((id) => /** @type {number} */ (numberOf.get(id)));
    lines.push(
      nums.length > 0
        ? `Out of order: ${cellList(nums)} ran after a cell below them in this kernel session.`
        : 'Out of order: cells ran out of document order in this kernel session.',
    );
  }
  if (stale.size > 0) {
    parts.push(`Stale: ${stale.size} ${stale.size === 1 ? 'cell' : 'cells'}`);
    const byReason = new Map();
    for (const [id, reason] of stale) {
      const list = byReason.get(reason) ?? [];
      list.push(/** @type {number} */ (numberOf.get(id)));
      byReason.set(reason, list);
    }
    for (const [reason, nums] of byReason) {
      lines.push(`Stale: ${cellList(nums)}: ${STALE_REASONS[reason] ?? reason}.`);
    }
  }
  const orphaned = badges.orphaned?.length ?? 0;
  if (orphaned > 0) {
    lines.push(`${orphaned} ${orphaned === 1 ? 'cell that ran was' : 'cells that ran were'} deleted since; the kernel still holds what they did.`);
  }
  if (badges.restartedMidDocument) lines.push('The kernel restarted and only part of the notebook ran since.');
  return { text: parts.join(' · '), title: lines.join('\n'), stale, outOfOrder };
}

/**
 * "cell 2", "cells 2–3", "cells 1, 3–5".
 * @param {number[]} numbers
 */
export function cellList(numbers) {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  /** @type {string[]} */
  const ranges = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(j === i ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return `${sorted.length === 1 ? 'cell' : 'cells'} ${ranges.join(', ')}`;
}

/**
 * The verdict of a finished verify run. `divergedAt.cellIndex` is taken as the 0-based
 * index in the notebook's cells and shown 1-based.
 * @param {VerifyRun} run
 * @returns {{ kind: 'reproducible' | 'diverged' | 'failed' | 'running', title: string, text: string }}
 */
export function describeVerifyRun(run) {
  if (run.state === 'running') {
    return { kind: 'running', title: 'Verifying', text: `Verifying: ${progress(run)}` };
  }
  if (run.state === 'done' && run.reproducible) {
    const n = run.cellsTotal ?? run.cellsRun ?? 0;
    return {
      kind: 'reproducible',
      title: 'Reproducible',
      text: `Reproducible: all ${n} ${n === 1 ? 'cell gave the same output' : 'cells gave the same outputs'}`,
    };
  }
  if (run.state === 'done' && run.divergedAt) {
    const d = run.divergedAt;
    const where = typeof d.cellIndex === 'number' ? `cell ${d.cellIndex + 1}` : 'a cell';
    const reason = d.reason ? ` (${d.reason})` : '';
    return {
      kind: 'diverged',
      title: 'Diverged',
      text: `Diverged at ${where}${reason}: expected ${shortValue(d.expected)} got ${shortValue(d.actual)}`,
    };
  }
  const why = run.error ?? run.message ?? (run.state === 'done' ? 'the run did not say whether it reproduced' : 'the run failed');
  return { kind: 'failed', title: 'Verify failed', text: `Verify failed: ${why}` };
}

/** @param {VerifyRun} run */
export function progress(run) {
  if (typeof run.cellsTotal === 'number') return `${run.cellsRun ?? 0}/${run.cellsTotal} cells`;
  return 'starting';
}

/** @param {unknown} value @param {number} [max] */
export function shortValue(value, max = 200) {
  let text;
  if (value === undefined) text = 'nothing';
  else if (typeof value === 'string') text = JSON.stringify(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The query string of `api/eucp/notebooks/events` (without `?`).
 * @param {string} path API path of the notebook
 * @param {number | null} after last event seen (null: start with a snapshot)
 * @param {string} [token] appended only when given (ServerConnection's `appendToken`)
 */
export function eventsQuery(path, after, token) {
  const parts = [`path=${encodeURIComponent(path)}`];
  if (after !== null && Number.isFinite(after)) parts.push(`after=${after}`);
  if (token) parts.push(`token=${encodeURIComponent(token)}`);
  return parts.join('&');
}
