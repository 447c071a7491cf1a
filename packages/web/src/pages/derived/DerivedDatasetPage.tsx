import { useEffect, useMemo, useState } from 'react';
import { type ApiError, toApiError } from '../../api/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Link } from '../../components/Link.js';
import { NoSuchDataset } from '../../components/NoSuchDataset.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { datasetPath } from '../../lib/catalog.js';
import { formatBytes } from '../../lib/format.js';
import { useApp } from '../../session.js';
import { DerivedApi, licenceLabel, type DerivedModel } from '../../api/derived.js';

/** `/hub/catalog/dataset/derived.<owner>.<name>.v<version>`: a derived data set, its inputs, licences and where to read it. */
export function DerivedDatasetPage({ instanceId }: { instanceId: string }) {
  usePageTitle(instanceId);
  const { api } = useApp();
  const derived = useMemo(() => new DerivedApi(api.client), [api]);
  const [d, setD] = useState<DerivedModel | null | 'missing'>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    derived.get(instanceId).then((x) => live && setD(x), (e) => {
      const err = toApiError(e);
      if (live) (err.status === 404 ? setD('missing') : setError(err));
    });
    return () => { live = false; };
  }, [derived, instanceId]);

  if (d === 'missing') {
    return <NoSuchDataset instanceId={instanceId} />;
  }
  return (
    <section className="page page--wide dataset">
      <p className="small"><Link href="/hub/catalog">← Catalog</Link></p>
      <h1 className="dataset__title">{d ? d.title : instanceId} <span className="badge" data-derived="true">derived</span></h1>
      <ErrorNote error={error} />
      {!d ? <p className="muted">Loading…</p> : (
        <>
          <p className="small muted">{d.instance_id}</p>
          {d.description ? <p>{d.description}</p> : null}
          <dl className="dataset__facts">
            <dt>Owner</dt>
            <dd>{d.owner}</dd>
            <dt>Variables</dt>
            <dd>{d.variables.map((v) => `${v.name}${v.units ? ` [${v.units}]` : ''}${v.long_name ? ` — ${v.long_name}` : ''}`).join(', ')}</dd>
            <dt>Time range</dt>
            <dd>{d.time_range ? `${d.time_range.start.slice(0, 10)} to ${d.time_range.stop.slice(0, 10)}` : '—'}</dd>
            <dt>Version</dt>
            <dd>
              v{d.version} {d.latest ? <span className="tag tag--quiet">latest</span> : null}{' '}
              {d.versions.filter((v) => v !== d.version).map((v) => (
                <Link key={v} href={datasetPath(`${d.master_id}.v${v}`)}>v{v} </Link>
              ))}
            </dd>
            <dt>Total size</dt>
            <dd>{formatBytes(d.size)}</dd>
            <dt>Inputs</dt>
            <dd>
              {d.inputs.length === 0 ? 'none declared' : (
                <ul>
                  {d.inputs.map((i) => (
                    <li key={i.instance_id}>
                      <Link href={i.url}>{i.instance_id}</Link>
                      {i.restricted ? <span className="small muted"> (restricted: {i.groups.join(' or ') || 'logged-in users'})</span> : null}
                    </li>
                  ))}
                </ul>
              )}
            </dd>
            <dt>Licences</dt>
            <dd>
              {d.licences.length === 0 ? 'none' : (
                <ul data-testid="licences">
                  {d.licences.map((l) => (
                    <li key={`${l.source}-${l.sha256}`}>
                      <details>
                        <summary>{licenceLabel(l)}</summary>
                        <pre className="licence-text">{l.text}</pre>
                      </details>
                    </li>
                  ))}
                </ul>
              )}
            </dd>
          </dl>
          <h2>Read it in your server</h2>
          <p>The files are at <code>{d.sandbox_path}</code> (read-only) in your server.</p>
          <pre className="code" aria-label="Python code that opens the files">{d.code}</pre>
          <h2>Files</h2>
          <div className="table-wrap">
            <table className="table">
              <thead><tr><th>File</th><th>Size</th><th>SHA-256</th></tr></thead>
              <tbody>
                {d.files.map((f) => (
                  <tr key={f.path}>
                    <td className="cell-wrap">{f.path}</td>
                    <td className="nowrap">{formatBytes(f.size)}</td>
                    <td className="small muted cell-wrap">{f.sha256.slice(0, 16)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
