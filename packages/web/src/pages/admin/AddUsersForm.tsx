import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../hooks/useAction.js';
import { parseNameList } from '../../lib/names.js';
import { useApp } from '../../session.js';

/** Adds one or several users (optionally as administrators). */
export function AddUsersForm({ onAdded }: { onAdded(): Promise<void> }) {
  const { api } = useApp();
  const [text, setText] = useState('');
  const [asAdmin, setAsAdmin] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const add = useAction();

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    void add.run(async () => {
      const { names, invalid } = parseNameList(text);
      if (invalid.length) {
        throw new ApiError(400, `Not a valid user name: ${invalid.join(', ')}.`, 'INVALID_NAME', 'Use 1-32 characters: lower-case letters, digits, "-" and "_", starting with a letter.');
      }
      if (!names.length) throw new ApiError(400, 'Type at least one user name.', 'INVALID_INPUT', null);
      const created = await api.addUsers(names, asAdmin);
      const createdNames = created.map((u) => u.name);
      const skipped = names.filter((n) => !createdNames.includes(n));
      setDone(
        `Added ${createdNames.length === 1 ? 'one user' : `${createdNames.length} users`}${createdNames.length ? ': ' + createdNames.join(', ') : ''}.` +
          (skipped.length ? ` Already there: ${skipped.join(', ')}.` : ''),
      );
      setText('');
      setAsAdmin(false);
      await onAdded();
    });
  };

  return (
    <form className="card form" onSubmit={onSubmit} aria-labelledby="add-users-heading">
      <h2 id="add-users-heading">Add users</h2>
      <div className="field">
        <label htmlFor="add-users-names">User names</label>
        <textarea
          id="add-users-names"
          className="input"
          rows={2}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-describedby="add-users-hint"
          placeholder="alice bob carol"
        />
        <p id="add-users-hint" className="hint">
          One or several names, separated by spaces, commas or new lines.
        </p>
      </div>
      <div className="form__row">
        <label className="checkbox">
          <input type="checkbox" checked={asAdmin} onChange={(e) => setAsAdmin(e.target.checked)} />
          Make them administrators
        </label>
        <button type="submit" className="button button--primary" disabled={add.busy}>
          {add.busy ? 'Adding…' : 'Add users'}
        </button>
      </div>
      <ErrorNote error={add.error} onDismiss={add.clear} />
      <p className="success" role="status">
        {done}
      </p>
    </form>
  );
}
