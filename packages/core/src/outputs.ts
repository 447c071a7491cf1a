/**
 * Output reduction for server-owned execution (notebook-designs.md D1): turns the IOPub
 * messages of one execution into the nbformat outputs a notebook stores, the way
 * JupyterLab's output area does (streams merged, carriage returns and backspaces
 * collapsed, `clear_output(wait)` deferred, `update_display_data` by `display_id`), and
 * caps what is stored so a chatty cell keeps the notebook loadable. Pure: the full text
 * of capped outputs is handed to the caller as {@link SpillChunk}s to store elsewhere.
 */

import { countNewlines, feed, prefixEnd, suffixStart, utf8Length, type LineState } from './output-text.js';

export { collapseCarriageReturns, utf8Length } from './output-text.js';

/** One nbformat 4 output as stored in a notebook (jupyter-server-api.md f.3). */
export type CapturedOutput =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'display_data'; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: 'execute_result'; execution_count: number | null; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

/** Caps on what one cell stores (bytes are UTF-8 bytes). */
export interface OutputLimits {
  /** Stream text kept per cell (head + tail); the middle is replaced by a marker line. */
  maxStreamBytes: number;
  /** Largest `data` bundle of one display_data/execute_result kept inline. */
  maxBundleBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxStreamBytes: 1024 * 1024, maxBundleBytes: 5_000_000 };

/** A change to a cell's outputs: `set` replaces `outputs[index]` or appends at the end. */
export type OutputChange = { kind: 'set'; index: number; output: CapturedOutput } | { kind: 'clear' };

/**
 * Text the caller must append, in order, to the spill blob `spillId` (a capped stream's
 * full collapsed text, or a capped bundle's JSON in one chunk).
 */
export interface SpillChunk {
  spillId: number;
  kind: 'text' | 'json';
  text: string;
}

/** What one message did: the changes to announce and the text to spill. */
export interface OutputUpdate {
  changes: OutputChange[];
  spill: SpillChunk[];
}

export interface CellOutputsOptions {
  limits?: Partial<OutputLimits>;
  /** Where a spill blob can be found, shown in the marker until {@link CellOutputs.relocateSpill}. */
  spillLocation?: (spillId: number, kind: 'text' | 'json') => string;
  /** First spill id used by this cell (ids must be unique per caller). */
  firstSpillId?: number;
}

interface StreamSlot {
  kind: 'stream';
  name: 'stdout' | 'stderr';
  /** Byte budget of this output (what is left of the cell's stream budget, at least 1/8). */
  budget: number;
  /** All final text while not capped; the kept beginning once capped. */
  head: string;
  headBytes: number;
  capped: boolean;
  omittedLines: number;
  omittedBytes: number;
  tail: string;
  tailBytes: number;
  cur: LineState;
  spillId: number | null;
}

interface BundleSlot {
  kind: 'other';
  output: CapturedOutput;
  displayId: string | null;
  /** Set when the bundle was too large and replaced by a marker. */
  spill: { id: number; bytes: number; types: string[] } | null;
}

type Slot = StreamSlot | BundleSlot;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.map(String).join('') : v == null ? '' : String(v));

/** `transient.display_id` of a display message, if any. */
export function displayIdOf(content: Record<string, unknown>): string | null {
  const t = content['transient'];
  const id = isRecord(t) ? t['display_id'] : undefined;
  return typeof id === 'string' && id !== '' ? id : null;
}

/**
 * The outputs of one execution of one cell, built from its IOPub messages. Every method
 * returns what changed (`changes`, in order, to announce as events) and what must be
 * appended to spill blobs (`spill`) for output that was cut from the stored copy.
 */
export class CellOutputs {
  private slots: Slot[] = [];
  private clearPending = false;
  private nextSpill: number;
  private readonly limits: OutputLimits;
  private readonly spillNames = new Map<number, string>();
  private readonly started: number[] = [];
  private readonly spillLocation: (spillId: number, kind: 'text' | 'json') => string;

  constructor(opts: CellOutputsOptions = {}) {
    this.limits = { ...DEFAULT_OUTPUT_LIMITS, ...opts.limits };
    this.nextSpill = opts.firstSpillId ?? 1;
    this.spillLocation = opts.spillLocation ?? ((id) => `spill #${id}`);
  }

  /** The outputs as they would be stored now (fresh objects; safe to keep). */
  outputs(): CapturedOutput[] {
    return this.slots.map((s) => this.render(s));
  }

  /** `display_id`s of the current outputs. */
  displayIds(): Set<string> {
    const ids = new Set<string>();
    for (const s of this.slots) if (s.kind === 'other' && s.displayId) ids.add(s.displayId);
    return ids;
  }

  /** Spill blobs this cell has started, in creation order (cleared outputs included). */
  spillIds(): number[] {
    return [...this.started];
  }

  /**
   * Applies one IOPub message of this execution (`stream`, `display_data`,
   * `execute_result`, `error`, `clear_output`, `update_display_data`); other types change
   * nothing. Malformed content is coerced, never thrown on.
   */
  apply(msgType: string, content: Record<string, unknown>): OutputUpdate {
    const up: OutputUpdate = { changes: [], spill: [] };
    switch (msgType) {
      case 'stream':
        this.takePendingClear(up);
        this.addStream(content['name'] === 'stderr' ? 'stderr' : 'stdout', str(content['text']), up);
        break;
      case 'display_data':
      case 'execute_result':
      case 'error': {
        this.takePendingClear(up);
        const output = toOutput(msgType, content);
        const slot: BundleSlot = { kind: 'other', output, displayId: msgType === 'error' ? null : displayIdOf(content), spill: null };
        this.capBundle(slot, up);
        this.slots.push(slot);
        up.changes.push({ kind: 'set', index: this.slots.length - 1, output: this.render(slot) });
        break;
      }
      case 'clear_output':
        if (content['wait'] === true) this.clearPending = true;
        else this.clearNow(up);
        break;
      case 'update_display_data': {
        const id = displayIdOf(content);
        if (id) up.changes.push(...this.updateDisplay(id, content).changes);
        break;
      }
      default:
        break;
    }
    return up;
  }

  /**
   * Replaces every output showing `displayId` with the new `data`/`metadata` (keeping
   * its output type). Used for `update_display_data` from any execution of the notebook.
   */
  updateDisplay(displayId: string, content: Record<string, unknown>): OutputUpdate {
    const up: OutputUpdate = { changes: [], spill: [] };
    this.slots.forEach((s, index) => {
      if (s.kind !== 'other' || s.displayId !== displayId) return;
      const data = isRecord(content['data']) ? content['data'] : {};
      const metadata = isRecord(content['metadata']) ? content['metadata'] : {};
      const o = s.output;
      s.output =
        o.output_type === 'execute_result'
          ? { output_type: 'execute_result', execution_count: o.execution_count, data, metadata }
          : { output_type: 'display_data', data, metadata };
      s.spill = null;
      this.capBundle(s, up);
      up.changes.push({ kind: 'set', index, output: this.render(s) });
    });
    return up;
  }

  /**
   * The execution ended: hands over the unfinished last line of capped streams so the
   * spill blobs are complete. Further messages are still accepted.
   */
  finish(): OutputUpdate {
    const up: OutputUpdate = { changes: [], spill: [] };
    for (const s of this.slots) this.spillLine(s, up);
    return up;
  }

  /** Points the markers of spill blob `spillId` at its final `location`. */
  relocateSpill(spillId: number, location: string): OutputChange[] {
    this.spillNames.set(spillId, location);
    const changes: OutputChange[] = [];
    this.slots.forEach((s, index) => {
      const id = s.kind === 'stream' ? (s.capped ? s.spillId : null) : s.spill?.id;
      if (id === spillId) changes.push({ kind: 'set', index, output: this.render(s) });
    });
    return changes;
  }

  private location(id: number, kind: 'text' | 'json'): string {
    return this.spillNames.get(id) ?? this.spillLocation(id, kind);
  }

  private takePendingClear(up: OutputUpdate): void {
    if (!this.clearPending) return;
    this.clearPending = false;
    this.clearNow(up);
  }

  private clearNow(up: OutputUpdate): void {
    for (const s of this.slots) this.spillLine(s, up);
    this.slots = [];
    up.changes.push({ kind: 'clear' });
  }

  private spillLine(s: Slot, up: OutputUpdate): void {
    if (s.kind !== 'stream' || !s.capped || s.spillId === null || !s.cur.line) return;
    // The unfinished line becomes final (end of execution, or the output is cleared).
    up.spill.push({ spillId: s.spillId, kind: 'text', text: s.cur.line });
    s.tail += s.cur.line;
    s.tailBytes += utf8Length(s.cur.line);
    s.cur = { line: '', col: 0 };
  }

  private addStream(name: 'stdout' | 'stderr', text: string, up: OutputUpdate): void {
    let last = this.slots[this.slots.length - 1];
    if (!last || last.kind !== 'stream' || last.name !== name) {
      const used = this.slots.reduce((n, s) => n + (s.kind === 'stream' ? s.headBytes + s.tailBytes : 0), 0);
      const max = this.limits.maxStreamBytes;
      last = {
        kind: 'stream',
        name,
        budget: Math.max(max - used, Math.floor(max / 8)),
        head: '',
        headBytes: 0,
        capped: false,
        omittedLines: 0,
        omittedBytes: 0,
        tail: '',
        tailBytes: 0,
        cur: { line: '', col: 0 },
        spillId: null,
      };
      this.slots.push(last);
    }
    const s = last;
    const committed = feed(s.cur, text, Math.max(1024, Math.floor(s.budget / 16)));
    if (committed) this.commit(s, committed, up);
    up.changes.push({ kind: 'set', index: this.slots.length - 1, output: this.render(s) });
  }

  private commit(s: StreamSlot, text: string, up: OutputUpdate): void {
    const bytes = utf8Length(text);
    if (!s.capped) {
      s.head += text;
      s.headBytes += bytes;
      if (s.headBytes <= s.budget) return;
      // Over budget: everything so far goes to the spill blob; keep the head and a tail.
      s.capped = true;
      s.spillId = this.nextSpill++;
      this.started.push(s.spillId);
      up.spill.push({ spillId: s.spillId, kind: 'text', text: s.head });
      const all = s.head;
      let cut = prefixEnd(all, Math.floor(s.budget * 0.4));
      const nl = all.lastIndexOf('\n', cut - 1);
      if (nl >= 0) cut = nl + 1;
      s.head = all.slice(0, cut);
      s.headBytes = utf8Length(s.head);
      s.tail = all.slice(cut);
      s.tailBytes = utf8Length(s.tail);
      this.trimTail(s, true);
      return;
    }
    up.spill.push({ spillId: s.spillId!, kind: 'text', text });
    s.tail += text;
    s.tailBytes += bytes;
    this.trimTail(s, false);
  }

  /** Keeps the tail between 35% and 50% of the budget, starting at a line start when possible. */
  private trimTail(s: StreamSlot, force: boolean): void {
    if (!force && s.tailBytes <= Math.floor(s.budget * 0.5)) return;
    const keep = Math.floor(s.budget * 0.35);
    if (s.tailBytes <= keep) return;
    let start = suffixStart(s.tail, keep);
    const nl = s.tail.indexOf('\n', Math.max(0, start - 1));
    if (nl !== -1 && nl + 1 < s.tail.length) start = nl + 1;
    const dropped = s.tail.slice(0, start);
    const droppedBytes = utf8Length(dropped);
    s.omittedBytes += droppedBytes;
    s.omittedLines += countNewlines(dropped);
    s.tail = s.tail.slice(start);
    s.tailBytes -= droppedBytes;
  }

  private capBundle(slot: BundleSlot, up: OutputUpdate): void {
    const o = slot.output;
    if (o.output_type !== 'display_data' && o.output_type !== 'execute_result') return;
    const json = JSON.stringify(o);
    const bytes = utf8Length(json);
    if (bytes <= this.limits.maxBundleBytes) return;
    const id = this.nextSpill++;
    this.started.push(id);
    slot.spill = { id, bytes, types: Object.keys(o.data) };
    up.spill.push({ spillId: id, kind: 'json', text: json });
  }

  private render(s: Slot): CapturedOutput {
    if (s.kind === 'stream') {
      if (!s.capped) return { output_type: 'stream', name: s.name, text: s.head + s.cur.line };
      const marker =
        `… ${s.omittedLines} lines (${s.omittedBytes} bytes) of output omitted by EUCP lab; ` +
        `the full output is in ${this.location(s.spillId!, 'text')}\n`;
      const head = s.head === '' || s.head.endsWith('\n') ? s.head : `${s.head}\n`;
      return { output_type: 'stream', name: s.name, text: head + marker + s.tail + s.cur.line };
    }
    if (s.spill) {
      const o = s.output as Extract<CapturedOutput, { data: unknown }>;
      const text =
        `… a ${s.spill.types.join(', ')} output of ${s.spill.bytes} bytes was omitted by EUCP lab; ` +
        `the full output is in ${this.location(s.spill.id, 'json')}`;
      const data = { 'text/plain': text };
      return o.output_type === 'execute_result'
        ? { output_type: 'execute_result', execution_count: o.execution_count, data, metadata: {} }
        : { output_type: 'display_data', data, metadata: {} };
    }
    return structuredCloneOutput(s.output);
  }
}

function structuredCloneOutput(o: CapturedOutput): CapturedOutput {
  switch (o.output_type) {
    case 'error':
      return { ...o, traceback: [...o.traceback] };
    case 'stream':
      return { ...o };
    default:
      return { ...o, data: { ...o.data }, metadata: { ...o.metadata } };
  }
}

function toOutput(msgType: 'display_data' | 'execute_result' | 'error', c: Record<string, unknown>): CapturedOutput {
  if (msgType === 'error') {
    const tb = Array.isArray(c['traceback']) ? c['traceback'].map(str) : [];
    return { output_type: 'error', ename: str(c['ename']), evalue: str(c['evalue']), traceback: tb };
  }
  const data = isRecord(c['data']) ? c['data'] : {};
  const metadata = isRecord(c['metadata']) ? c['metadata'] : {};
  if (msgType === 'execute_result') {
    const n = c['execution_count'];
    return { output_type: 'execute_result', execution_count: typeof n === 'number' ? n : null, data, metadata };
  }
  return { output_type: 'display_data', data, metadata };
}
