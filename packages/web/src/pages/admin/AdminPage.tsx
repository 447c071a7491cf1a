import { useCallback, useEffect, useState } from 'react';
import { type ApiError, toApiError } from '../../api/client.js';
import type { GroupModel, UserModel } from '../../api/hub.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { isTransient, stateFromServerModel } from '../../lib/server-state.js';
import { useApp } from '../../session.js';
import { AddUsersForm } from './AddUsersForm.js';
import { AccessGroupsSection } from './AccessGroupsSection.js';
import { GroupsSection } from './GroupsSection.js';
import { UsersTable } from './UsersTable.js';

const PENDING_POLL_MS = 2000;

/** `/hub/admin`: users, their servers, and groups. Administrators only. */
export function AdminPage() {
  usePageTitle('Administration');
  const { session, api } = useApp();
  const [users, setUsers] = useState<UserModel[] | null>(null);
  const [groups, setGroups] = useState<GroupModel[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);

  const refresh = useCallback(async () => {
    try {
      const [u, g] = await Promise.all([api.listUsers(), api.listGroups()]);
      setUsers(u.sort((a, b) => a.name.localeCompare(b.name)));
      setGroups(g.sort((a, b) => a.name.localeCompare(b.name)));
      setLoadError(null);
    } catch (err) {
      setLoadError(toApiError(err));
    }
  }, [api]);

  useEffect(() => {
    if (session.admin) void refresh();
  }, [refresh, session.admin]);

  // While some server is starting or stopping, keep the table current.
  const anyPending = (users ?? []).some((u) => isTransient(stateFromServerModel(u.servers?.[''])));
  useEffect(() => {
    if (!anyPending) return;
    const t = setInterval(() => void refresh(), PENDING_POLL_MS);
    return () => clearInterval(t);
  }, [anyPending, refresh]);

  if (!session.admin) {
    return (
      <section className="page page--narrow">
        <h1>Not authorised</h1>
        <div className="card">
          <p>This page is for administrators of the hub. You are logged in as {session.user}, who is not an administrator.</p>
          <p>
            <a href="/hub/home">Go to your home page</a>
          </p>
        </div>
      </section>
    );
  }

  return (
    <section className="page page--wide">
      <h1>Administration</h1>
      <ErrorNote error={loadError} />
      <h2 id="users-heading">Users</h2>
      {users === null ? <p className="muted">{loadError ? '' : 'Loading…'}</p> : <UsersTable users={users} onChanged={refresh} />}
      <AddUsersForm onAdded={refresh} />
      <GroupsSection groups={groups} users={users ?? []} onChanged={refresh} />
      <AccessGroupsSection />
    </section>
  );
}
