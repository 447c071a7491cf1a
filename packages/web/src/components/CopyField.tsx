import { useId, useRef, useState } from 'react';

/** A read-only text field with a Copy button (clipboard API, else select-and-copy). */
export function CopyField({ value, label }: { value: string; label: string }) {
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      // No clipboard API outside secure contexts (plain http on a LAN): select instead.
      input.current?.select();
      setCopied(document.execCommand('copy') ? 'yes' : 'no');
    }
  };

  return (
    <div className="copy-field">
      <label className="visually-hidden" htmlFor={id}>
        {label}
      </label>
      <input id={id} ref={input} className="input input--mono" readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
      <button type="button" className="button" onClick={() => void copy()}>
        <svg className="button__icon" viewBox="0 0 20 20" aria-hidden="true">
          <rect x="6.5" y="6.5" width="10" height="11" rx="1.5" />
          <path d="M13.5 4.5v-1a1 1 0 0 0-1-1h-8a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h1" />
        </svg>
        Copy
      </button>
      <span className="copy-field__status" role="status">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'Select the text and copy it with Ctrl+C.' : ''}
      </span>
    </div>
  );
}
