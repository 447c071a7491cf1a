/** One event of the spawn progress stream (JupyterHub contract §d.5). */
export interface ProgressEvent {
  progress: number;
  message: string;
  html_message?: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

type Listener = (e: ProgressEvent) => void;

/**
 * Progress of the current (or last) spawn of one server: keeps every event so a stream
 * opened late replays them, and notifies live listeners. A terminal event (ready or
 * failed) ends the channel; it is kept so later streams get it immediately.
 */
export class ProgressChannel {
  private readonly events: ProgressEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private lastProgress = 0;

  /** Adds an event; progress never goes backwards. Ignored after a terminal event. */
  emit(e: ProgressEvent): void {
    if (this.finished) return;
    const event = { ...e, progress: Math.max(this.lastProgress, Math.min(100, Math.round(e.progress))) };
    this.lastProgress = event.progress;
    this.events.push(event);
    for (const l of this.listeners) l(event);
    if (this.finished) this.listeners.clear();
  }

  get finished(): boolean {
    const last = this.events[this.events.length - 1];
    return Boolean(last && (last.ready || last.failed));
  }

  get terminal(): ProgressEvent | null {
    return this.finished ? this.events[this.events.length - 1]! : null;
  }

  /** Replays past events to `listener`, then streams new ones; returns an unsubscribe function. */
  subscribe(listener: Listener): () => void {
    for (const e of this.events) listener(e);
    if (this.finished) return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
