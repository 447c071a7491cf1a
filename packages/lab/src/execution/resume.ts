/**
 * Resuming, in a restarted lab server, the executions an earlier one left unfinished
 * (records from `persist.ts`): hold the IOPub messages of those executions that arrive
 * before they are resumed, read what the stored notebook holds for their cells, rebuild
 * their outputs from it so new output is appended after it, and close the runs that
 * ended while no server listened.
 *
 * What cannot be resumed: IOPub messages published while no lab server was subscribed
 * are lost (ZeroMQ PUB/SUB drops them), and the execute_reply of a resumed execution is
 * routed to the earlier server's sockets, so it never arrives (the run ends on its IOPub
 * `idle`, or on a probe request queued behind it).
 */
import { readdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CellOutputs, SpillChunk } from '@eucp/core';
import type { ContentsManager, NotebookOutput } from '../contents/types.js';
import type { Kernel, KernelManager, KernelMessage } from '../kernels/types.js';
import type { RunRecord } from './persist.js';
import type { Run } from './tracker.js';

/** Messages held per execution before it is resumed (beyond, they are dropped). */
export const MAX_HELD_MESSAGES = 20_000;

/** What {@link Resumption} needs from the execution service. */
export interface ResumeHost {
  kernels: KernelManager;
  contents: ContentsManager;
  log: Logger;
  /** A fresh run for a record (the service's caps and spill locations; first spill id given). */
  newRun(rec: RunRecord): Run;
  /** Stores spill chunks of `run`. */
  spill(run: Run, chunks: SpillChunk[]): void;
  /** Makes `run` live on `kernel` (listening, tracked, recorded, scheduled for writing). */
  adopt(kernel: Kernel, run: Run): void;
  /** Handles a kernel message as if it arrived now. */
  deliver(kernel: Kernel, msg: KernelMessage): void;
  /** The live run of `msgId`, if any. */
  live(msgId: string): Run | undefined;
  /** Ends `run` (its idle was seen, or it ended unseen). */
  finish(run: Run): void;
  /** Ends a record whose kernel is gone (`dead`; the notebook is left alone). */
  lost(rec: RunRecord): void;
  /** A shell request from the server's own session. */
  serverRequest(msgType: string): KernelMessage;
}

/**
 * Resumes an earlier lab server's unfinished executions (see the module comment): holds
 * their messages from construction until {@link resume}, then rebuilds each run from the
 * stored notebook, replays what was held, and queues a `kernel_info_request` behind them
 * on each kernel; since a kernel answers shell requests in order, its IOPub idle means
 * every resumed run of that kernel ended, and those whose end was not seen are closed.
 */
export class Resumption {
  private records: RunRecord[];
  private readonly held: HeldMessages;
  /** Probe msg_id → the runs it closes. */
  private readonly probes = new Map<string, { runs: string[]; timer: NodeJS.Timeout | null }>();

  constructor(
    records: RunRecord[],
    private readonly host: ResumeHost,
  ) {
    this.records = records;
    this.held = new HeldMessages(records);
  }

  /** True when `msg` was taken here (held for a run not yet resumed, or a probe's answer). */
  intercept(kernel: Kernel, msg: KernelMessage): boolean {
    if (this.held.hold(kernel.id, msg)) return true;
    const parent = msg.parent_header.msg_id;
    if (!parent || !this.probes.has(parent)) return false;
    if (msg.channel === 'iopub' && msg.header.msg_type === 'status' && msg.content['execution_state'] === 'idle') {
      this.settle(parent);
    } else {
      const probe = this.probes.get(parent)!;
      if (!probe.timer && msg.channel === 'shell') {
        // The idle on IOPub normally follows at once; do not wait forever if it was missed.
        probe.timer = setTimeout(() => this.settle(parent), 2000);
        probe.timer.unref();
      }
    }
    return true;
  }

  /** See the class comment; call once, after the kernels were re-adopted. Never throws. */
  async resume(): Promise<void> {
    const records = this.records;
    this.records = [];
    const byKernel = new Map<string, string[]>();
    for (const rec of records) {
      try {
        const kernel = this.host.kernels.get(rec.kernelId);
        if (!kernel || kernel.model().execution_state === 'dead') {
          this.held.release(rec.msgId);
          this.host.lost(rec);
          continue;
        }
        await this.revive(kernel, rec);
        byKernel.set(kernel.id, [...(byKernel.get(kernel.id) ?? []), rec.msgId]);
      } catch (err) {
        this.host.log.error({ err, msgId: rec.msgId }, 'cannot resume an execution');
        this.held.release(rec.msgId);
      }
    }
    this.held.clear();
    for (const [kernelId, runs] of byKernel) {
      const kernel = this.host.kernels.get(kernelId);
      if (!kernel) continue;
      const probe = this.host.serverRequest('kernel_info_request');
      this.probes.set(probe.header.msg_id, { runs, timer: null });
      kernel.send(probe);
    }
  }

  close(): void {
    this.held.clear();
    for (const p of this.probes.values()) if (p.timer) clearTimeout(p.timer);
    this.probes.clear();
  }

  private async revive(kernel: Kernel, rec: RunRecord): Promise<void> {
    const stored = await readStoredCell(this.host.contents, rec.path, rec.cellId);
    // Synchronous from here: the held messages are replayed with nothing in between.
    // The cell holds this run's outputs if we stored them, or a browser saved after the
    // request (JupyterLab clears a cell's outputs when it runs it).
    const ours = stored !== null && (rec.stored || stored.modifiedAt > rec.requestedAt);
    const run = this.host.newRun(rec);
    if (ours) this.host.spill(run, replayStoredOutputs(run.outputs, stored.outputs));
    Object.assign(run.timing, rec.timing);
    run.state = rec.state;
    run.executionCount = rec.executionCount ?? (ours ? stored.executionCount : null);
    run.status = rec.status;
    run.stored = rec.stored;
    run.replied = true;
    run.replyLost = !rec.replied;
    this.host.adopt(kernel, run);
    const { msgs, dropped } = this.held.release(run.msgId);
    this.host.log.info(
      { msgId: run.msgId, path: run.path, cellId: run.cellId, kept: ours ? stored.outputs.length : 0, held: msgs.length, dropped },
      'resumed an execution left by the previous lab server',
    );
    for (const m of msgs) this.host.deliver(kernel, m);
  }

  /** Ends the resumed runs a probe was queued behind that are still open (they ended unseen). */
  private settle(probeId: string): void {
    const probe = this.probes.get(probeId);
    if (!probe) return;
    this.probes.delete(probeId);
    if (probe.timer) clearTimeout(probe.timer);
    for (const msgId of probe.runs) {
      const run = this.host.live(msgId);
      if (!run || run.ending) continue;
      this.host.log.info({ msgId }, 'resumed execution ended while no lab server listened; its last outputs are lost');
      run.idle = true;
      this.host.finish(run);
    }
  }
}

/** Holds the messages of executions waiting to be resumed. */
class HeldMessages {
  private readonly held = new Map<string, { kernelId: string; msgs: KernelMessage[]; dropped: number }>();

  constructor(records: RunRecord[]) {
    for (const r of records) this.held.set(r.msgId, { kernelId: r.kernelId, msgs: [], dropped: 0 });
  }

  /** True (and keeps it) when `msg` belongs to an execution waiting to be resumed. */
  hold(kernelId: string, msg: KernelMessage): boolean {
    const parent = msg.parent_header.msg_id;
    const h = parent ? this.held.get(parent) : undefined;
    if (!h || h.kernelId !== kernelId) return false;
    if (h.msgs.length < MAX_HELD_MESSAGES) h.msgs.push(msg);
    else h.dropped++;
    return true;
  }

  /** Stops holding for `msgId`; returns what was held, oldest first, and how many were dropped. */
  release(msgId: string): { msgs: KernelMessage[]; dropped: number } {
    const h = this.held.get(msgId);
    this.held.delete(msgId);
    return h ? { msgs: h.msgs, dropped: h.dropped } : { msgs: [], dropped: 0 };
  }

  /** Stops holding anything. */
  clear(): void {
    this.held.clear();
  }
}

/** What the stored notebook holds for one code cell. */
export interface StoredCell {
  outputs: NotebookOutput[];
  executionCount: number | null;
  /** epoch ms of the file's last modification. */
  modifiedAt: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stored state of code cell `cellId` of notebook `path`; null when the file or cell is gone or unreadable. */
export async function readStoredCell(contents: ContentsManager, path: string, cellId: string): Promise<StoredCell | null> {
  const model = await contents.get(path, { type: 'notebook', content: true }).catch(() => null);
  if (!model || !isRecord(model.content)) return null;
  const cells = model.content['cells'];
  if (!Array.isArray(cells)) return null;
  const cell = cells.find((c): c is Record<string, unknown> => isRecord(c) && c['id'] === cellId && c['cell_type'] === 'code');
  if (!cell) return null;
  const n = cell['execution_count'];
  return {
    outputs: Array.isArray(cell['outputs']) ? (cell['outputs'].filter(isRecord) as NotebookOutput[]) : [],
    executionCount: typeof n === 'number' ? n : null,
    modifiedAt: Date.parse(model.last_modified),
  };
}

/** nbformat's multi-line strings (arrays of lines on disk) as one string; JSON values as they are. */
function joinData(data: unknown): Record<string, unknown> {
  if (!isRecord(data)) return {};
  const out: Record<string, unknown> = {};
  for (const [mime, v] of Object.entries(data)) {
    const json = mime === 'application/json' || mime.endsWith('+json');
    out[mime] = !json && Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join('') : v;
  }
  return out;
}

/**
 * Rebuilds `outputs` (fresh) from stored nbformat outputs by replaying each as the IOPub
 * message that makes it. Display ids are not stored, so later `update_display_data` does
 * not reach displays made before the restart.
 * @returns the spill chunks the replay produced (only if the caps shrank meanwhile).
 */
export function replayStoredOutputs(outputs: CellOutputs, stored: NotebookOutput[]): SpillChunk[] {
  const spill: SpillChunk[] = [];
  for (const o of stored) {
    const raw = o as Record<string, unknown>;
    switch (o.output_type) {
      case 'stream':
        spill.push(...outputs.apply('stream', { name: o.name, text: Array.isArray(o.text) ? o.text.join('') : o.text }).spill);
        break;
      case 'display_data':
      case 'execute_result':
        spill.push(
          ...outputs.apply(o.output_type, {
            data: joinData(raw['data']),
            metadata: isRecord(raw['metadata']) ? raw['metadata'] : {},
            execution_count: raw['execution_count'] ?? null,
          }).spill,
        );
        break;
      case 'error':
        spill.push(...outputs.apply('error', { ename: o.ename, evalue: o.evalue, traceback: o.traceback }).spill);
        break;
      default:
        break;
    }
  }
  return spill;
}

/**
 * The lowest spill id above every blob an earlier server left for an execution in
 * `dir` (`partial-<key>-<id>.txt|json`), so a resumed run never appends to them.
 */
export function firstFreeSpillId(dir: string, keyPrefix: string): number {
  let max = 0;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return 1;
  }
  const prefix = `partial-${keyPrefix}-`;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const id = Number(name.slice(prefix.length).replace(/\.(txt|json)$/, ''));
    if (Number.isInteger(id)) max = Math.max(max, id);
  }
  return max + 1;
}
