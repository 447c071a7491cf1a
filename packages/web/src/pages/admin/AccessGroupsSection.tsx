import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { type ApiError, toApiError } from '../../api/client.js';
import {
  addAccessMember, getAccessGroup, listAccessGroups, reloadAccessPolicies, saveAccessGroup,
  type AccessGroupChange, type AdminAccessGroup,
} from '../../api/access-admin.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../hooks/useAction.js';
import { useApp } from '../../session.js';

const COLUMNS = 6;

/**
 * "Access groups (data)": the ESGF groups that grant access to restricted data sets —
 * list, create and change them (licence id and text go together), grant memberships
 * directly, and reload the policy files. Hub administrators only (the admin page).
 */
export function AccessGroupsSection() {
  const { api } = useApp();
  const [groups, setGroups] = useState<AdminAccessGroup[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [creating, setCreating] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      const list = await listAccessGroups(api.client);
      setGroups(list.sort((a, b) => a.name.localeCompare(b.name)));
      setLoadError(null);
    } catch (err) {
      setLoadError(toApiError(err));
    }
  }, [api]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <section aria-labelledby="access-groups-heading">
      <h2 id="access-groups-heading">Access groups (data)</h2>
      <p className="hint">
        ESGF groups whose members may read restricted data sets (as the policy files say). Members accept the group's licence when they ask to join; a changed licence text is a new
        version that later requests must accept.
      </p>
      <ReloadPolicies />
      <ErrorNote error={loadError} />
      <p className="success" role="status" aria-label="Access groups status">
        {done}
      </p>
      {groups === null ? (
        <p className="muted">{loadError ? '' : 'Loading…'}</p>
      ) : groups.length === 0 ? (
        <p className="muted">No access groups yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-labelledby="access-groups-heading">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Visible</th>
                <th scope="col">Automatic approval</th>
                <th scope="col">Licence</th>
                <th scope="col">Group admins</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <AccessGroupRow key={g.name} group={g} onChanged={refresh} onDone={setDone} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating ? (
        <div className="card">
          <AccessGroupForm
            group={null}
            onSaved={async (name) => {
              // The list shows the group before the form closes.
              await refresh();
              setCreating(false);
              setDone(`Created access group ${name}.`);
            }}
            onCancel={() => setCreating(false)}
          />
        </div>
      ) : (
        <p>
          <button type="button" className="button button--primary" onClick={() => (setDone(null), setCreating(true))}>
            New access group
          </button>
        </p>
      )}
    </section>
  );
}

/** The "Reload policies" button and what the hub answered (the number in force, or the broken policy). */
function ReloadPolicies() {
  const { api } = useApp();
  const reload = useAction();
  const [count, setCount] = useState<number | null>(null);
  return (
    <div className="card">
      <div className="form__row form__row--compact">
        <button
          type="button"
          className="button button--small"
          disabled={reload.busy}
          onClick={() =>
            void reload.run(async () => {
              setCount(null);
              setCount((await reloadAccessPolicies(api.client)).policies);
            })
          }
        >
          {reload.busy ? 'Reloading…' : 'Reload policies'}
        </button>
        <span className="hint">Reads the policy files again after you changed them; a broken one is refused and the current policies stay in force.</span>
      </div>
      <p className="success" role="status" aria-label="Policies status">
        {count === null ? null : `Policies reloaded: ${count === 1 ? '1 policy' : `${count} policies`} in force.`}
      </p>
      <ErrorNote error={reload.error} onDismiss={reload.clear} />
    </div>
  );
}

function AccessGroupRow({ group, onChanged, onDone }: { group: AdminAccessGroup; onChanged(): Promise<void>; onDone(msg: string | null): void }) {
  const [open, setOpen] = useState<'edit' | 'member' | null>(null);
  const toggle = (what: 'edit' | 'member') => {
    onDone(null);
    setOpen(open === what ? null : what);
  };
  return (
    <>
      <tr data-access-group={group.name}>
        <th scope="row" className="cell-strong cell-wrap">
          {group.name}
          {group.description ? <div className="muted small">{group.description}</div> : null}
        </th>
        <td>{group.visible ? 'yes' : <span className="tag tag--quiet">hidden</span>}</td>
        <td>{group.automatic_approval ? 'yes' : 'no'}</td>
        <td className="cell-wrap">
          {group.licence ? (
            <>
              {group.licence.id}
              {group.licence.sha256 ? <span className="muted small" title={`sha256 ${group.licence.sha256}`}> (version {group.licence.sha256.slice(0, 8)})</span> : null}
            </>
          ) : (
            <span className="muted">none</span>
          )}
        </td>
        <td className="cell-wrap">{group.admins.length ? group.admins.join(', ') : <span className="muted">—</span>}</td>
        <td className="cell-actions">
          <div className="actions">
            <button type="button" className="button button--small button--quiet" aria-expanded={open === 'edit'} aria-label={`Edit access group ${group.name}`} onClick={() => toggle('edit')}>
              Edit
            </button>
            <button type="button" className="button button--small button--quiet" aria-expanded={open === 'member'} aria-label={`Add a member to ${group.name}`} onClick={() => toggle('member')}>
              Add member
            </button>
          </div>
        </td>
      </tr>
      {open ? (
        <tr>
          <td colSpan={COLUMNS}>
            {open === 'edit' ? (
              <EditAccessGroup
                name={group.name}
                onSaved={async () => {
                  await onChanged();
                  setOpen(null);
                  onDone(`Saved access group ${group.name}.`);
                }}
                onCancel={() => setOpen(null)}
              />
            ) : (
              <AddMemberForm
                group={group.name}
                onAdded={async (user, role) => {
                  await onChanged();
                  setOpen(null);
                  onDone(`${user} is now ${role === 'admin' ? 'an administrator' : 'a member'} of ${group.name}.`);
                }}
                onCancel={() => setOpen(null)}
              />
            )}
          </td>
        </tr>
      ) : null}
    </>
  );
}

/** Loads one group with its licence text, then shows the form. */
function EditAccessGroup({ name, onSaved, onCancel }: { name: string; onSaved(name: string): Promise<void>; onCancel(): void }) {
  const { api } = useApp();
  const [group, setGroup] = useState<AdminAccessGroup | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    getAccessGroup(api.client, name).then(
      (g) => live && setGroup(g),
      (err: unknown) => live && setError(toApiError(err)),
    );
    return () => {
      live = false;
    };
  }, [api, name]);
  if (error) return <ErrorNote error={error} onDismiss={onCancel} />;
  if (!group) return <p className="muted">Loading…</p>;
  return <AccessGroupForm group={group} onSaved={onSaved} onCancel={onCancel} />;
}

/**
 * Creates a group (`group` null) or changes one. Empty licence fields are sent as null, so
 * a licence id without a text (or the reverse) gets the hub's refusal; both empty removes the licence.
 */
function AccessGroupForm({ group, onSaved, onCancel }: { group: AdminAccessGroup | null; onSaved(name: string): Promise<void>; onCancel(): void }) {
  const { api } = useApp();
  const save = useAction();
  const [name, setName] = useState('');
  const [description, setDescription] = useState(group?.description ?? '');
  const [visible, setVisible] = useState(group?.visible ?? true);
  const [automatic, setAutomatic] = useState(group?.automatic_approval ?? false);
  const [licenceId, setLicenceId] = useState(group?.licence?.id ?? '');
  const [licenceText, setLicenceText] = useState(group?.licence?.text ?? '');
  const id = group ? `access-group-${group.name.replace(/\W+/g, '-')}` : 'new-access-group';
  const title = group ? `Edit access group ${group.name}` : 'New access group';

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void save.run(async () => {
      const target = group?.name ?? name.trim();
      const change: AccessGroupChange = {
        description: description.trim(),
        visible,
        automatic_approval: automatic,
        licence_id: licenceId.trim() || null,
        licence_text: licenceText.trim() ? licenceText : null,
      };
      await saveAccessGroup(api.client, target, change);
      await onSaved(target);
    });
  };

  return (
    <form className="form" onSubmit={onSubmit} aria-label={title}>
      <h3>{title}</h3>
      {group ? null : (
        <div className="field">
          <label htmlFor={`${id}-name`}>Group name</label>
          <input id={`${id}-name`} className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. CORDEX Research" required />
        </div>
      )}
      <div className="field">
        <label htmlFor={`${id}-description`}>Description</label>
        <input id={`${id}-description`} className="input" value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className="form__row form__row--compact">
        <label className="checkbox">
          <input type="checkbox" checked={visible} onChange={(e) => setVisible(e.target.checked)} />
          Visible (users can find it and ask to join)
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={automatic} onChange={(e) => setAutomatic(e.target.checked)} />
          Automatic approval
        </label>
      </div>
      <div className="field">
        <label htmlFor={`${id}-licence-id`}>Licence id</label>
        <input id={`${id}-licence-id`} className="input" value={licenceId} onChange={(e) => setLicenceId(e.target.value)} placeholder="e.g. CORDEX-non-commercial" />
      </div>
      <div className="field">
        <label htmlFor={`${id}-licence-text`}>Licence text</label>
        <textarea
          id={`${id}-licence-text`}
          className="input input--mono"
          rows={6}
          value={licenceText}
          onChange={(e) => setLicenceText(e.target.value)}
          aria-describedby={`${id}-licence-hint`}
        />
        <p id={`${id}-licence-hint`} className="hint">
          The licence id and its text go together; leave both empty for no licence.
        </p>
      </div>
      <div className="form__row form__row--compact">
        <button type="submit" className="button button--primary" disabled={save.busy}>
          {save.busy ? 'Saving…' : group ? 'Save changes' : 'Create access group'}
        </button>
        <button type="button" className="button button--quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorNote error={save.error} onDismiss={save.clear} />
    </form>
  );
}

/** Grants `user` an approved membership (role user or admin) at once. */
function AddMemberForm({ group, onAdded, onCancel }: { group: string; onAdded(user: string, role: string): Promise<void>; onCancel(): void }) {
  const { api } = useApp();
  const add = useAction();
  const [user, setUser] = useState('');
  const [role, setRole] = useState<'user' | 'admin'>('user');
  const id = `access-member-${group.replace(/\W+/g, '-')}`;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void add.run(async () => {
      const granted = await addAccessMember(api.client, group, user.trim(), role);
      await onAdded(granted.user, granted.role);
    });
  };

  return (
    <form className="form" onSubmit={onSubmit} aria-label={`Add a member to ${group}`}>
      <div className="form__row form__row--compact">
        <div className="field field--narrow">
          <label htmlFor={`${id}-user`}>User name</label>
          <input id={`${id}-user`} className="input input--small" value={user} onChange={(e) => setUser(e.target.value)} required />
        </div>
        <div className="field field--narrow">
          <label htmlFor={`${id}-role`}>Role</label>
          <select id={`${id}-role`} className="input input--small" value={role} onChange={(e) => setRole(e.target.value === 'admin' ? 'admin' : 'user')}>
            <option value="user">user</option>
            <option value="admin">admin (decides requests)</option>
          </select>
        </div>
        <button type="submit" className="button button--small button--primary" disabled={add.busy}>
          {add.busy ? 'Adding…' : 'Add member'}
        </button>
        <button type="button" className="button button--small button--quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <p className="hint">The membership is approved at once, without a licence acceptance.</p>
      <ErrorNote error={add.error} onDismiss={add.clear} />
    </form>
  );
}
