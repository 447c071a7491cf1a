import { useEffect, useRef, useState } from 'react';

interface Props {
  /** Text of the first button, e.g. "Delete". */
  label: string;
  /** The question shown before acting, e.g. "Delete alice and her files?". */
  question: string;
  /** Text of the confirming button, e.g. "Yes, delete". */
  confirmLabel: string;
  /** Accessible name of the first button when `label` alone is ambiguous in a table. */
  ariaLabel?: string;
  disabled?: boolean;
  busy?: boolean;
  onConfirm(): void;
}

/** A destructive button that asks inline before acting (keyboard: Escape cancels). */
export function ConfirmButton({ label, question, confirmLabel, ariaLabel, disabled, busy, onConfirm }: Props) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const firstRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);

  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (wasAsking.current) firstRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button ref={firstRef} type="button" className="button button--small button--danger-quiet actions__delete" disabled={disabled || busy} aria-label={ariaLabel} onClick={() => setAsking(true)}>
        {busy ? 'Working…' : label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question} onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}>
      <span className="confirm__question">{question}</span>
      <button
        ref={confirmRef}
        type="button"
        className="button button--danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="button button--quiet" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
