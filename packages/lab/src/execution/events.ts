/**
 * The numbered event stream of server-owned execution: assigns `seq`, keeps a bounded
 * ring of recent events per notebook (so a view can resume "after N"), and coalesces
 * bursts of `set` events for the same output (a firehose cell announces its output at
 * most every `coalesceMs`, never out of order with the other events of its execution).
 */
import type { Logger } from 'pino';
import type { ExecutionEvent } from './types.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before it is numbered. */
export type EventDraft = DistributiveOmit<ExecutionEvent, 'seq'>;
type SetDraft = Extract<EventDraft, { kind: 'set' }>;

export interface EventLogOptions {
  log: Logger;
  /** Delay before a burst of `set` events for one output is announced. Default 50. */
  coalesceMs?: number;
  /** Events kept per notebook. Default 5000. */
  ringEvents?: number;
  /** Approximate bytes of events kept per notebook. Default 16 MiB. */
  ringBytes?: number;
}

interface Ring {
  events: { ev: ExecutionEvent; size: number }[];
  bytes: number;
  /** Highest seq dropped from this ring (0 = none). */
  droppedUpTo: number;
}

function sizeOf(ev: ExecutionEvent): number {
  if (ev.kind === 'set') {
    const o = ev.output;
    return 200 + (o.output_type === 'stream' ? (typeof o.text === 'string' ? o.text.length : JSON.stringify(o.text).length) : JSON.stringify(o).length);
  }
  return ev.kind === 'request' ? 300 + ev.code.length : 200;
}

/** See the module comment. */
export class EventLog {
  /**
   * Starts at the start time in microseconds, so a restarted lab server numbers above
   * everything the previous one sent and a view resuming with an old `after` gets a
   * snapshot instead of a silent gap.
   */
  private readonly start = Date.now() * 1000;
  private seq = this.start;
  private readonly listeners = new Set<(ev: ExecutionEvent) => void>();
  private readonly rings = new Map<string, Ring>();
  /** Coalesced `set` events by execution msg_id, then output index. */
  private readonly pending = new Map<string, Map<number, SetDraft>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly coalesceMs: number;
  private readonly ringEvents: number;
  private readonly ringBytes: number;

  constructor(private readonly opts: EventLogOptions) {
    this.coalesceMs = opts.coalesceMs ?? 50;
    this.ringEvents = opts.ringEvents ?? 5000;
    this.ringBytes = opts.ringBytes ?? 16 * 1024 * 1024;
  }

  /** Seq of the latest event (the start value before the first). */
  lastSeq(): number {
    return this.seq;
  }

  on(listener: (ev: ExecutionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Numbers and announces an event (after the pending `set`s of its execution), and keeps
   * it in the rings of `paths` (default: the event's own path).
   */
  emit(draft: EventDraft, paths?: string[]): ExecutionEvent {
    if ('msgId' in draft) {
      if (draft.kind === 'clear') this.pending.delete(draft.msgId);
      else this.flushRun(draft.msgId);
    }
    return this.publish(draft, paths);
  }

  /** A `set` event, announced after a short delay together with later sets of the same output. */
  set(draft: SetDraft): void {
    let runSets = this.pending.get(draft.msgId);
    if (!runSets) this.pending.set(draft.msgId, (runSets = new Map()));
    runSets.set(draft.index, draft);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flushAll();
    }, this.coalesceMs);
  }

  /** Announces the pending `set`s of one execution now. */
  flushRun(msgId: string): void {
    const runSets = this.pending.get(msgId);
    if (!runSets) return;
    this.pending.delete(msgId);
    for (const index of [...runSets.keys()].sort((a, b) => a - b)) this.publish(runSets.get(index)!);
  }

  /** Announces every pending `set` now. */
  flushAll(): void {
    for (const msgId of [...this.pending.keys()]) this.flushRun(msgId);
    if (this.timer && this.pending.size === 0) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /**
   * Events of `path` with seq > `after`, oldest first; null when the ring no longer holds
   * all of them, or `after` is from another numbering (a previous lab server's, or the future).
   */
  since(path: string, after: number): ExecutionEvent[] | null {
    this.flushAll();
    if (after > this.seq || after < this.start || !Number.isInteger(after)) return null;
    const ring = this.rings.get(path);
    if (!ring) return [];
    if (ring.droppedUpTo > after) return null;
    return ring.events.filter((e) => e.ev.seq > after).map((e) => e.ev);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
    this.listeners.clear();
  }

  private publish(draft: EventDraft, paths?: string[]): ExecutionEvent {
    const ev = { ...draft, seq: ++this.seq } as ExecutionEvent;
    const size = sizeOf(ev);
    for (const path of paths ?? ('path' in ev ? [ev.path] : [])) {
      let ring = this.rings.get(path);
      if (!ring) this.rings.set(path, (ring = { events: [], bytes: 0, droppedUpTo: 0 }));
      ring.events.push({ ev, size });
      ring.bytes += size;
      let drop = 0;
      while (ring.events.length - drop > 1 && (ring.events.length - drop > this.ringEvents || ring.bytes > this.ringBytes)) {
        const old = ring.events[drop++]!;
        ring.bytes -= old.size;
        ring.droppedUpTo = old.ev.seq;
      }
      if (drop) ring.events.splice(0, drop);
    }
    for (const listener of this.listeners) {
      try {
        listener(ev);
      } catch (err) {
        this.opts.log.error({ err }, 'execution event listener threw');
      }
    }
    return ev;
  }
}
