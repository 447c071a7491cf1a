import { useState, type FormEvent } from 'react';
import type { GroupModel, UserModel } from '../../api/hub.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../hooks/useAction.js';
import { useApp } from '../../session.js';
import { LimitsForm, StorageSummary, useUnitStorage } from './StorageLimits.js';

interface Props {
  groups: GroupModel[] | null;
  users: UserModel[];
  onChanged(): Promise<void>;
}

/** Groups: create, delete, add and remove members. */
export function GroupsSection({ groups, users, onChanged }: Props) {
  const { api } = useApp();
  const [name, setName] = useState('');
  const create = useAction();

  const onCreate = (e: FormEvent) => {
    e.preventDefault();
    void create.run(async () => {
      await api.createGroup(name.trim());
      setName('');
      await onChanged();
    });
  };

  return (
    <section aria-labelledby="groups-heading">
      <h2 id="groups-heading">Groups</h2>
      <form className="card form" onSubmit={onCreate}>
        <div className="form__row">
          <div className="field">
            <label htmlFor="new-group">New group</label>
            <input id="new-group" className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. climate-impacts" required />
          </div>
          <button type="submit" className="button button--primary" disabled={create.busy}>
            {create.busy ? 'Creating…' : 'Create group'}
          </button>
        </div>
        <ErrorNote error={create.error} onDismiss={create.clear} />
      </form>
      {groups === null ? null : groups.length === 0 ? (
        <p className="muted">No groups yet.</p>
      ) : (
        <ul className="group-list">
          {groups.map((g) => (
            <GroupCard key={g.name} group={g} users={users} onChanged={onChanged} />
          ))}
        </ul>
      )}
    </section>
  );
}

function GroupCard({ group, users, onChanged }: { group: GroupModel; users: UserModel[]; onChanged(): Promise<void> }) {
  const { api } = useApp();
  const members = useAction();
  const remove = useAction();
  const candidates = users.map((u) => u.name).filter((n) => !group.users.includes(n));
  const [pick, setPick] = useState('');
  const selected = candidates.includes(pick) ? pick : (candidates[0] ?? '');
  const headingId = `group-${group.name}`;

  const change = (fn: () => Promise<unknown>) =>
    void members.run(async () => {
      remove.clear();
      try {
        await fn();
      } finally {
        await onChanged();
      }
    });

  return (
    <li className="card group" aria-labelledby={headingId}>
      <div className="group__head">
        <div>
          <h3 id={headingId}>{group.name}</h3>
          <span className="muted small group__count">{group.users.length === 1 ? '1 member' : `${group.users.length} members`}</span>
        </div>
        <ConfirmButton
          label="Delete group"
          ariaLabel={`Delete group ${group.name}`}
          question={`Delete group ${group.name}?`}
          confirmLabel="Yes, delete"
          busy={remove.busy}
          onConfirm={() =>
            void remove.run(async () => {
              members.clear();
              await api.deleteGroup(group.name);
              await onChanged();
            })
          }
        />
      </div>
      {group.users.length ? (
        <ul className="chips" aria-label={`Members of ${group.name}`}>
          {group.users.map((u) => (
            <li key={u} className="chip">
              {u}
              <button
                type="button"
                className="chip__remove"
                aria-label={`Remove ${u} from ${group.name}`}
                disabled={members.busy}
                onClick={() => change(() => api.removeGroupMembers(group.name, [u]))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">No members.</p>
      )}
      {candidates.length ? (
        <form
          className="form__row form__row--compact"
          onSubmit={(e) => {
            e.preventDefault();
            if (selected) change(() => api.addGroupMembers(group.name, [selected]));
          }}
        >
          <label className="visually-hidden" htmlFor={`add-member-${group.name}`}>
            User to add to {group.name}
          </label>
          <select id={`add-member-${group.name}`} className="input input--small" value={selected} onChange={(e) => setPick(e.target.value)}>
            {candidates.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <button type="submit" className="button button--small" disabled={members.busy}>
            Add member
          </button>
        </form>
      ) : null}
      <GroupStorage name={group.name} />
      <ErrorNote error={members.error ?? remove.error} onDismiss={() => (members.clear(), remove.clear())} />
    </li>
  );
}

/** The group workspace's usage against its limits, and the form that sets them. */
function GroupStorage({ name }: { name: string }) {
  const storage = useUnitStorage('group', name);
  const [editing, setEditing] = useState(false);
  const unit = storage.unit;
  if (unit === 'none') return null;
  return (
    <div className="group__storage">
      <p className="small">
        <span className="muted">Workspace storage:</span> <StorageSummary unit={unit} />{' '}
        {unit ? (
          <button type="button" className="button button--small button--quiet" aria-expanded={editing} aria-label={`Edit storage limits of group ${name}`} onClick={() => setEditing(!editing)}>
            Edit limits
          </button>
        ) : null}
      </p>
      {editing && unit ? (
        <LimitsForm
          unit={unit}
          onSaved={(u) => {
            storage.set(u);
            setEditing(false);
          }}
          onCancel={() => setEditing(false)}
        />
      ) : null}
      <ErrorNote error={storage.error} onDismiss={storage.clearError} />
    </div>
  );
}
