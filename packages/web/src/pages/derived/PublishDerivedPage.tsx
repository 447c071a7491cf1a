import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Link } from '../../components/Link.js';
import { useAction } from '../../hooks/useAction.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { datasetPath } from '../../lib/catalog.js';
import { useApp } from '../../session.js';
import { DerivedApi, words, type DerivedModel } from '../../api/derived.js';

const EMPTY = { area: 'derived' as 'derived' | 'home', path: '', name: '', title: '', description: '', licenceId: '', licenceText: '', inputs: '', users: '', groups: '', public: false };

/** `/hub/catalog/publish`: publish a folder of derived files as a data set; lists and unpublishes mine. */
export function PublishDerivedPage() {
  usePageTitle('Publish derived data');
  const { api } = useApp();
  const derived = useMemo(() => new DerivedApi(api.client), [api]);
  const [form, setForm] = useState(EMPTY);
  const [done, setDone] = useState<DerivedModel | null>(null);
  const [mine, setMine] = useState<DerivedModel[] | null>(null);
  const action = useAction();
  const removal = useAction();
  const load = useMemo(() => () => derived.mine().then(setMine, () => setMine([])), [derived]);
  useEffect(() => { void load(); }, [load]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const r = await derived.publish({
        area: form.area, path: form.path, ...(form.name && { name: form.name }), title: form.title, description: form.description,
        licence: form.licenceId || form.licenceText ? { id: form.licenceId, text: form.licenceText } : null,
        inputs: words(form.inputs), audience: { users: words(form.users), groups: words(form.groups), public: form.public },
      });
      setDone(r);
      await load();
    });
  };
  const field = (k: 'path' | 'name' | 'title' | 'description' | 'licenceId' | 'licenceText' | 'inputs' | 'users' | 'groups') => ({
    value: form[k], onChange: (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value }),
  });

  return (
    <section className="page page--wide">
      <p className="small"><Link href="/hub/catalog">← Catalog</Link></p>
      <h1>Publish derived data</h1>
      <p className="lead">
        Publish a folder of your NetCDF files as a data set in the catalog. Only the people you choose see it, and of them only those who
        may read every input you declare; it carries your licence and the licences of its inputs. They read it at{' '}
        <code>/shared/{'<you>'}/{'<name>'}</code> in their server.
      </p>
      <form className="form" onSubmit={submit} aria-label="Publish derived data">
        <label>Area
          <select value={form.area} onChange={(e) => setForm({ ...form, area: e.target.value as 'derived' | 'home' })}>
            <option value="derived">/derived (derived-data area)</option>
            <option value="home">home</option>
          </select>
        </label>
        <label>Folder <input required placeholder="tas-anomalies" {...field('path')} /></label>
        <label>Name (optional; in the id and the path) <input placeholder="tas-anomalies" {...field('name')} /></label>
        <label>Title <input required {...field('title')} /></label>
        <label>Description <textarea rows={3} {...field('description')} /></label>
        <label>Licence id (optional) <input placeholder="CC-BY-4.0" {...field('licenceId')} /></label>
        <label>Licence text <textarea rows={2} {...field('licenceText')} /></label>
        <label>Inputs (catalog instance_ids, one per line) <textarea rows={3} placeholder="CMIP6.CMIP.….v20190601" {...field('inputs')} /></label>
        <label>Users <input placeholder="bob, carol" {...field('users')} /></label>
        <label>Groups <input placeholder="project-a" {...field('groups')} /></label>
        <label className="checkbox"><input type="checkbox" checked={form.public} onChange={(e) => setForm({ ...form, public: e.target.checked })} /> Public (everyone; refused when an input is restricted)</label>
        <button type="submit" className="button button--primary" disabled={action.busy}>Publish</button>
      </form>
      <ErrorNote error={action.error} />
      {done ? (
        <div className="card" role="status" data-testid="published">
          <p>Published <Link href={datasetPath(done.instance_id)}>{done.instance_id}</Link>.</p>
          {done.effective_readers ? <p className="small">Readers now: {done.effective_readers.join(', ') || 'nobody but you'}.</p> : null}
          {done.left_out?.length ? <p className="small">Left out (they may not read every input): {done.left_out.join(', ')}.</p> : null}
        </div>
      ) : null}
      <h2>My derived data sets</h2>
      <ErrorNote error={removal.error} />
      {mine === null ? <p className="muted">Loading…</p> : mine.length === 0 ? <p className="muted">You have published nothing yet.</p> : (
        <ul className="results">
          {mine.map((d) => (
            <li key={d.master_id} className="result card">
              <Link href={datasetPath(d.instance_id)}>{d.title}</Link> <span className="small muted">{d.instance_id}</span>{' '}
              <button type="button" className="button button--small" disabled={removal.busy} onClick={() => void removal.run(async () => { await derived.unpublish(d.name); await load(); })}>
                Unpublish
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
