import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { type ApiError, toApiError } from '../../api/client.js';
import { CopyField } from '../../components/CopyField.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Link } from '../../components/Link.js';
import { useAction } from '../../hooks/useAction.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { formatDateTime } from '../../lib/format.js';
import { useApp } from '../../session.js';
import { names, SharesApi, type GrantModel, type MyShareModel } from '../../api/shares.js';

function who(g: GrantModel): string {
  if (g.kind === 'user') return g.user ?? '';
  if (g.kind === 'group') return `group ${g.group ?? ''}`;
  if (g.kind === 'link') return 'anyone with the link';
  return `${g.user ?? ''} (through the link)`;
}

const EMPTY = { area: 'home' as 'home' | 'derived', path: '', name: '', users: '', groups: '', expires: '' };

/** `/hub/shares`: share a file or folder of my home or derived-data area read-only, see who has access, revoke. */
export function MySharesPage() {
  usePageTitle('My shares');
  const { api } = useApp();
  const shares = useMemo(() => new SharesApi(api.client), [api]);
  const [items, setItems] = useState<MyShareModel[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [form, setForm] = useState(EMPTY);
  const [link, setLink] = useState<string | null>(null);
  const action = useAction();
  const load = useCallback(() => shares.mine().then(setItems, (e) => setError(toApiError(e))), [shares]);
  useEffect(() => { void load(); }, [load]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const created = await shares.create({
        path: form.path, area: form.area, ...(form.name && { name: form.name }),
        with: { users: names(form.users), groups: names(form.groups), ...(form.expires && { link: { expires_at: new Date(form.expires).toISOString() } }) },
      });
      setLink(created.link_url ? new URL(created.link_url, window.location.origin).href : null);
      setForm(EMPTY);
      await load();
    });
  };
  const field = (k: Exclude<keyof typeof form, 'area'>) => ({ value: form[k], onChange: (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value }) });

  return (
    <section className="page page--wide">
      <h1>My shares</h1>
      <p className="lead">Let people or groups read a file or folder of your home or of <code>/derived</code>. They see it read-only under <code>/shared/{'<you>'}/{'<name>'}</code> in their server, at once; revoking takes effect at once too.</p>
      <form className="form" onSubmit={submit} aria-label="Share a file or folder">
        <label>Area
          <select value={form.area} onChange={(e) => setForm({ ...form, area: e.target.value as 'home' | 'derived' })}>
            <option value="home">home</option>
            <option value="derived">/derived (derived-data area)</option>
          </select>
        </label>
        <label>Path in {form.area === 'home' ? 'your home' : '/derived'} <input required placeholder="results/2024" {...field('path')} /></label>
        <label>Name shown to them (optional) <input {...field('name')} /></label>
        <label>Users <input placeholder="bob, carol" {...field('users')} /></label>
        <label>Groups <input placeholder="project-a" {...field('groups')} /></label>
        <label>Link valid until (optional) <input type="datetime-local" {...field('expires')} /></label>
        <button type="submit" className="button button--primary" disabled={action.busy}>Share read-only</button>
      </form>
      <ErrorNote error={action.error ?? error} />
      {link ? <div><p>Link (shown once; anyone logged in who opens it can read until it expires):</p><CopyField value={link} label="Share link" /></div> : null}
      {items === null ? <p className="muted">Loading…</p> : items.length === 0 ? <p className="muted">You share nothing yet.</p> : items.map((s) => {
        // The grants of a published derived data set follow its audience (the hub re-applies it): read-only here.
        const managed = s.managed_by;
        return (
          <article key={s.id} className="card" data-share={s.id} data-managed={managed ? managed.kind : undefined}>
            <h2>{s.name}{s.kind === 'folder' ? '/' : ''} <span className="small muted">{s.area === 'home' ? `~/${s.path}` : `/${s.area}/${s.path}`}</span></h2>
            {managed ? (
              <p className="hint" data-testid="managed-note">
                Published as derived data <code>{managed.id}</code> — manage its readers on the <Link href="/hub/catalog/publish">catalog page</Link>.
              </p>
            ) : null}
            {s.grants.length === 0 ? <p className="muted">Nobody has access.</p> : (
              <ul>
                {s.grants.map((g) => (
                  <li key={g.id}>
                    {who(g)}{g.expires_at ? ` — until ${formatDateTime(g.expires_at)}${g.expired ? ' (expired)' : ''}` : ''}{' '}
                    {managed ? null : (
                      <button type="button" className="button button--small button--danger-quiet" disabled={action.busy}
                        onClick={() => void action.run(async () => { await shares.revokeGrant(s.id, g.id); await load(); })} aria-label={`Revoke ${who(g)}`}>Revoke</button>
                    )}
                  </li>
                ))}
              </ul>
            )}
            {managed ? null : (
              <button type="button" className="button button--small button--danger-quiet" disabled={action.busy}
                onClick={() => void action.run(async () => { await shares.revokeShare(s.id); await load(); })}>Stop sharing {s.name}</button>
            )}
          </article>
        );
      })}
    </section>
  );
}
