import { useState } from 'react';
import type { UserModel } from '../../api/hub.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { CopyField } from '../../components/CopyField.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { StateBadge } from '../../components/StateBadge.js';
import { useAction } from '../../hooks/useAction.js';
import { formatRelativeTime } from '../../lib/format.js';
import { allowedActions, stateFromServerModel } from '../../lib/server-state.js';
import { useApp } from '../../session.js';
import { LimitsForm, StorageSummary, useUnitStorage } from './StorageLimits.js';

const COLUMNS = 7;

/** The users table of the admin page, one row per user with its actions. */
export function UsersTable({ users, onChanged }: { users: UserModel[]; onChanged(): Promise<void> }) {
  if (users.length === 0) return <p className="muted">No users yet.</p>;
  const now = Date.now();
  return (
    <div className="table-wrap">
      <table className="table" aria-labelledby="users-heading">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Admin</th>
            <th scope="col">Groups</th>
            <th scope="col">Server</th>
            <th scope="col">Last activity</th>
            <th scope="col">Storage</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <UserRow key={u.name} user={u} now={now} onChanged={onChanged} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function UserRow({ user, now, onChanged }: { user: UserModel; now: number; onChanged(): Promise<void> }) {
  const { session, api } = useApp();
  const server = useAction();
  const admin = useAction();
  const remove = useAction();
  const password = useAction();
  const [newPassword, setNewPassword] = useState<string | null>(null);
  const storage = useUnitStorage('user', user.name);
  const [editLimits, setEditLimits] = useState(false);
  const state = stateFromServerModel(user.servers?.['']);
  const allowed = allowedActions(state);
  const self = user.name === session.user;
  const error = server.error ?? admin.error ?? remove.error ?? password.error ?? storage.error;
  const clear = () => {
    storage.clearError();
    server.clear();
    admin.clear();
    remove.clear();
    password.clear();
  };
  const act = (a: typeof server, fn: () => Promise<unknown>) =>
    void a.run(async () => {
      clear();
      try {
        await fn();
      } finally {
        await onChanged();
      }
    });

  return (
    <>
      <tr>
        <th scope="row" className="cell-strong">
          {user.name}
          {self ? <span className="tag tag--quiet">you</span> : null}
        </th>
        <td>{user.admin ? <span className="tag">admin</span> : <span className="muted">—</span>}</td>
        <td className="cell-wrap">{user.groups && user.groups.length ? user.groups.join(', ') : <span className="muted">—</span>}</td>
        <td>
          <StateBadge state={state} />
        </td>
        <td>{formatRelativeTime(user.last_activity, now)}</td>
        <td className="cell-wrap">
          <StorageSummary unit={storage.unit} />
          {storage.unit && storage.unit !== 'none' ? (
            <button
              type="button"
              className="button button--small button--quiet"
              aria-expanded={editLimits}
              aria-label={`Edit storage limits of ${user.name}`}
              onClick={() => setEditLimits(!editLimits)}
            >
              Edit limits
            </button>
          ) : null}
        </td>
        <td className="cell-actions">
          <div className="actions">
            {allowed.start ? (
              <button type="button" className="button button--small actions__server" disabled={server.busy} aria-label={`Start server of ${user.name}`} onClick={() => act(server, () => api.startServer(user.name))}>
                Start
              </button>
            ) : (
              <button
                type="button"
                className="button button--small actions__server"
                disabled={server.busy || !allowed.stop}
                aria-label={`Stop server of ${user.name}`}
                onClick={() => act(server, () => api.stopServer(user.name))}
              >
                Stop
              </button>
            )}
            <button
              type="button"
              className="button button--small button--quiet actions__admin"
              disabled={admin.busy}
              aria-label={user.admin ? `Revoke admin of ${user.name}` : `Make ${user.name} an admin`}
              onClick={() => act(admin, () => api.setAdmin(user.name, !user.admin))}
            >
              {user.admin ? 'Revoke admin' : 'Make admin'}
            </button>
            <ConfirmButton
              label="New password"
              ariaLabel={`Set a new password for ${user.name}`}
              question={`Replace ${user.name}'s password?`}
              confirmLabel="Yes, replace"
              busy={password.busy}
              onConfirm={() => act(password, async () => setNewPassword(await api.newPassword(user.name)))}
            />
            <ConfirmButton
              label="Delete"
              ariaLabel={`Delete user ${user.name}`}
              question={`Delete ${user.name}?`}
              confirmLabel="Yes, delete"
              disabled={self}
              busy={remove.busy}
              onConfirm={() => act(remove, () => api.deleteUser(user.name))}
            />
          </div>
        </td>
      </tr>
      {editLimits && storage.unit && storage.unit !== 'none' ? (
        <tr>
          <td colSpan={COLUMNS}>
            <LimitsForm
              unit={storage.unit}
              onSaved={(u) => {
                storage.set(u);
                setEditLimits(false);
              }}
              onCancel={() => setEditLimits(false)}
            />
          </td>
        </tr>
      ) : null}
      {newPassword ? (
        <tr>
          <td colSpan={COLUMNS}>
            <div className="credentials__row">
              <span>New password of <strong>{user.name}</strong> (shown once; their sessions were ended):</span>
              <CopyField value={newPassword} label={`New password of ${user.name}`} />
              <button type="button" className="button button--small button--quiet" onClick={() => setNewPassword(null)}>Done</button>
            </div>
          </td>
        </tr>
      ) : null}
      {error ? (
        <tr className="row-error">
          <td colSpan={COLUMNS}>
            <ErrorNote error={error} onDismiss={clear} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
