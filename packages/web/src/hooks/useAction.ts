import { useCallback, useRef, useState } from 'react';
import { type ApiError, toApiError } from '../api/client.js';

/** Busy flag and last error of one user action (a button or a form). */
export interface Action {
  busy: boolean;
  error: ApiError | null;
  /** Runs `fn`; resolves true when it succeeded, false when it threw (the error is kept). */
  run(fn: () => Promise<unknown>): Promise<boolean>;
  clear(): void;
}

/** State for one action, so its error can be shown next to the control that caused it. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const running = useRef(false);
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    if (running.current) return false;
    running.current = true;
    setBusy(true);
    setError(null);
    try {
      await fn();
      return true;
    } catch (err) {
      setError(toApiError(err));
      return false;
    } finally {
      running.current = false;
      setBusy(false);
    }
  }, []);
  const clear = useCallback(() => setError(null), []);
  return { busy, error, run, clear };
}
