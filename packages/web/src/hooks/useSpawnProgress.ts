import { useEffect, useState } from 'react';
import { applyProgressEvent, INITIAL_PROGRESS, parseProgressEvent, type ProgressView } from '../lib/progress.js';

export interface SpawnProgressState {
  view: ProgressView;
  /**
   * Increases each time the stream was refused or broke before an outcome (e.g. 400
   * "not starting"); callers re-check the server status when it changes.
   */
  streamErrors: number;
}

const RETRY_MS = 2000;

/**
 * Follows a spawn progress event stream while `url` is not null. Starts afresh when `url`
 * or `restartKey` changes; retries a broken stream every 2 s until an outcome arrives or
 * `url` is null.
 */
export function useSpawnProgress(url: string | null, restartKey = 0): SpawnProgressState {
  const [state, setState] = useState<SpawnProgressState>({ view: INITIAL_PROGRESS, streamErrors: 0 });

  useEffect(() => {
    setState({ view: INITIAL_PROGRESS, streamErrors: 0 });
    if (url === null) return;
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let done = false;

    const connect = () => {
      source = new EventSource(url);
      source.onmessage = (e: MessageEvent<string>) => {
        const ev = parseProgressEvent(e.data);
        if (!ev) return;
        setState((s) => ({ ...s, view: applyProgressEvent(s.view, ev) }));
        if (ev.ready || ev.failed) {
          done = true;
          source?.close();
        }
      };
      source.onerror = () => {
        if (done) return;
        // EventSource reconnects by itself after a dropped connection, but gives up
        // (CLOSED) on an HTTP error; count both so the page re-checks the status.
        const closed = source?.readyState === EventSource.CLOSED;
        setState((s) => ({ ...s, streamErrors: s.streamErrors + 1 }));
        if (closed) {
          source?.close();
          retry = setTimeout(connect, RETRY_MS);
        }
      };
    };
    connect();
    return () => {
      done = true;
      clearTimeout(retry);
      source?.close();
    };
  }, [url, restartKey]);

  return state;
}
