import type { ApiError } from '../api/client.js';

/** An API error next to the control that caused it: the message and what to do next. */
export function ErrorNote({ error, onDismiss }: { error: ApiError | null; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="error-note" role="alert">
      <svg className="error-note__icon" viewBox="0 0 20 20" aria-hidden="true">
        <circle cx="10" cy="10" r="9" />
        <path d="M10 5.5v5.5M10 13.6v.4" />
      </svg>
      <div>
        <p className="error-note__message">{error.message}</p>
        {error.action ? <p className="error-note__action">{error.action}</p> : null}
      </div>
      {onDismiss ? (
        <button type="button" className="icon-button" onClick={onDismiss} aria-label="Dismiss this error">
          ×
        </button>
      ) : null}
    </div>
  );
}
