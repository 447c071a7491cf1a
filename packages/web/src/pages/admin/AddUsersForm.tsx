import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client.js';
import { CopyField } from '../../components/CopyField.js';
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
  const [credentials, setCredentials] = useState<Array<{ name: string; password: string }>>([]);
  const add = useAction();

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    setCredentials([]);
    void add.run(async () => {
      const { names, invalid } = parseNameList(text);
      if (invalid.length) {
        throw new ApiError(400, `Not a valid user name: ${invalid.join(', ')}.`, 'INVALID_NAME', 'Use 1-32 characters: lower-case letters, digits, "-" and "_", starting with a letter.');
      }
      if (!names.length) throw new ApiError(400, 'Type at least one user name.', 'INVALID_INPUT', null);
      const created = await api.addUsers(names, asAdmin);
      const createdNames = created.map((u) => u.name);
      // Accounts are created without a password; give each one a first password, shown once.
      const fresh: Array<{ name: string; password: string }> = [];
      for (const name of createdNames) fresh.push({ name, password: await api.newPassword(name) });
      setCredentials(fresh);
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
      {credentials.length ? (
        <div className="credentials">
          <p className="hint">Give each person their password; it is shown only now (set a new one from the users table if it is lost).</p>
          {credentials.map((c) => (
            <div key={c.name} className="credentials__row">
              <span className="cell-strong">{c.name}</span>
              <CopyField value={c.password} label={`Password of ${c.name}`} />
            </div>
          ))}
        </div>
      ) : null}
    </form>
  );
}
