import type { ProgressView } from '../lib/progress.js';

/** The spawn progress bar, its latest message and the list of earlier messages. */
export function ProgressPanel({ view, label }: { view: ProgressView; label: string }) {
  return (
    <div className="progress">
      <div
        className="progress__track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={view.progress}
        aria-valuetext={`${view.progress}%: ${view.message}`}
      >
        {/* Width via the style property (CSSOM), which the CSP allows; style attributes it would not. */}
        <div className={`progress__bar${view.outcome === 'failed' ? ' progress__bar--failed' : ''}`} style={{ width: `${view.progress}%` }} />
      </div>
      <p className="progress__message" aria-live="polite">
        <span className="progress__percent">{view.progress}%</span> {view.message}
      </p>
      {view.log.length > 1 ? (
        <details className="progress__log">
          <summary>Event log ({view.log.length})</summary>
          <ol>
            {view.log.map((m, i) => (
              <li key={i}>{m}</li>
            ))}
          </ol>
        </details>
      ) : null}
    </div>
  );
}
