/**
 * The spawn progress event stream (`GET /hub/api/users/<name>/server/progress`,
 * JupyterHub contract §d.5): each `data:` line is JSON
 * `{progress, message, ready?, failed?, url?}`; the stream ends after a ready or failed event.
 */

/** One parsed progress event. `progress` is clamped to 0–100. */
export interface ProgressEvent {
  progress: number;
  message: string;
  ready: boolean;
  failed: boolean;
  /** Where the ready server is, e.g. `/user/alice/` (only on the ready event). */
  url: string | null;
}

/**
 * Parses the `data` of one event. Returns null for keep-alives and anything that is not
 * a JSON object (a stream must not break the page).
 */
export function parseProgressEvent(data: string): ProgressEvent | null {
  if (data.trim() === '') return null;
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  const n = typeof o.progress === 'number' && Number.isFinite(o.progress) ? o.progress : 0;
  return {
    progress: Math.min(100, Math.max(0, Math.round(n))),
    message: typeof o.message === 'string' ? o.message : '',
    ready: o.ready === true,
    failed: o.failed === true,
    url: typeof o.url === 'string' && o.url.startsWith('/') ? o.url : null,
  };
}

/** What a page shows while following a spawn. */
export interface ProgressView {
  progress: number;
  /** Latest message (the bar's caption). */
  message: string;
  /** Every message so far, oldest first, without consecutive duplicates. */
  log: readonly string[];
  outcome: 'pending' | 'ready' | 'failed';
  url: string | null;
}

export const INITIAL_PROGRESS: ProgressView = { progress: 0, message: 'Waiting for the server…', log: [], outcome: 'pending', url: null };

/**
 * Folds one event into the view. Progress never goes backwards (a reconnecting stream
 * starts again at 0); events after the outcome is known are ignored.
 */
export function applyProgressEvent(view: ProgressView, ev: ProgressEvent): ProgressView {
  if (view.outcome !== 'pending') return view;
  const message = ev.message || view.message;
  const log = ev.message && view.log[view.log.length - 1] !== ev.message ? [...view.log, ev.message] : view.log;
  const outcome = ev.ready ? 'ready' : ev.failed ? 'failed' : 'pending';
  return {
    progress: ev.ready ? 100 : Math.max(view.progress, ev.progress),
    message,
    log,
    outcome,
    url: ev.url ?? view.url,
  };
}
