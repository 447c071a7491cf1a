import { useCallback, useEffect, useState } from 'react';
import { type ApiError, toApiError } from '../../api/client.js';
import type { AccessCheck, EsgDoc } from '../../api/catalog.js';
import { AccessBadge } from '../../components/AccessBadge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Link } from '../../components/Link.js';
import { NoSuchDataset } from '../../components/NoSuchDataset.js';
import { useCatalogApi } from '../../hooks/useCatalogApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { accessStateOf, datasetPath, field, fieldAll, versionStatus } from '../../lib/catalog.js';
import { formatBytes } from '../../lib/format.js';
import { OpenInNotebook } from './OpenInNotebook.js';
import { RequestAccess } from './RequestAccess.js';

interface Loaded {
  doc: EsgDoc;
  files: EsgDoc[];
  versions: EsgDoc[];
}

/** `/hub/catalog/dataset/<instance_id>`: what a data set holds, its versions, files, licence and access. */
export function DatasetPage({ instanceId }: { instanceId: string }) {
  usePageTitle(instanceId);
  const catalog = useCatalogApi();
  const [data, setData] = useState<Loaded | null | 'missing'>(null);
  const [check, setCheck] = useState<AccessCheck | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [asking, setAsking] = useState(false);
  const [granted, setGranted] = useState(false);

  const refreshCheck = useCallback(() => catalog.check(instanceId).then(setCheck, (e) => setError(toApiError(e))), [catalog, instanceId]);

  useEffect(() => {
    let live = true;
    (async () => {
      const found = await catalog.search(new URLSearchParams({ type: 'Dataset', instance_id: instanceId, limit: '1' }));
      const doc = found.docs[0];
      if (!doc) return live && setData('missing');
      const [files, versions] = await Promise.all([
        catalog.search(new URLSearchParams({ type: 'File', dataset_id: field(doc, 'id'), limit: '500' })),
        catalog.search(new URLSearchParams({ type: 'Dataset', master_id: field(doc, 'master_id'), replica: 'false', limit: '50' })),
      ]);
      if (live) setData({ doc, files: files.docs, versions: versions.docs });
    })().catch((e) => live && setError(toApiError(e)));
    void refreshCheck();
    return () => {
      live = false;
    };
  }, [catalog, instanceId, refreshCheck]);

  if (data === 'missing') {
    return <NoSuchDataset instanceId={instanceId} />;
  }
  const doc = data?.doc;
  const state = accessStateOf(check);
  const totalSize = data ? data.files.reduce((s, f) => s + (Number(f['size']) || 0), 0) : 0;
  const variables = fieldAll(doc, 'variable_id').length ? fieldAll(doc, 'variable_id') : fieldAll(doc, 'variable');
  const units = fieldAll(doc, 'variable_units');
  const longNames = fieldAll(doc, 'variable_long_name');
  const citation = fieldAll(doc, 'citation_url')[0] ?? '';
  const pid = fieldAll(doc, 'pid')[0] ?? '';
  const erratum = field(doc, 'retraction_reason') || field(doc, 'errata_title') || field(doc, 'erratum');

  return (
    <section className="page page--wide dataset">
      <p className="small">
        <Link href="/hub/catalog">← Catalog</Link>
      </p>
      <h1 className="dataset__title">{instanceId}</h1>
      <ErrorNote error={error} />
      <div className="dataset__access">
        <AccessBadge state={check ? state : 'unknown'} />
        {granted ? <p className="success small" role="status">Access granted — restart your server to use it.</p> : null}
        {state === 'pending' ? <p className="small muted">Your request awaits a group administrator's approval.</p> : null}
        {state === 'request' && !asking ? (
          <button type="button" className="button button--primary" onClick={() => setAsking(true)}>
            Request access
          </button>
        ) : null}
      </div>
      {asking && check && state === 'request' ? (
        <RequestAccess
          groups={check.grantable_by}
          onDone={(ok) => {
            setAsking(false);
            setGranted(ok);
            void refreshCheck();
          }}
        />
      ) : null}
      {!doc ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          {doc['retracted'] === true ? (
            <div className="error-note" role="note">
              <p className="error-note__message">This version is retracted{erratum ? `: ${erratum}` : ''}. Use the latest version instead.</p>
            </div>
          ) : null}
          <dl className="dataset__facts">
            <dt>Title</dt>
            <dd>{field(doc, 'title')}</dd>
            <dt>Variables</dt>
            <dd>
              {variables.map((v, i) => (
                <span key={v} className="nowrap">
                  {v}
                  {units[i] ? ` [${units[i]}]` : ''}
                  {longNames[i] ? ` — ${longNames[i]}` : ''}
                  {i < variables.length - 1 ? ', ' : ''}
                </span>
              ))}
            </dd>
            <dt>Time range</dt>
            <dd>{field(doc, 'datetime_start') ? `${field(doc, 'datetime_start').slice(0, 10)} to ${field(doc, 'datetime_stop').slice(0, 10)}` : '—'}</dd>
            <dt>Grid</dt>
            <dd>{[field(doc, 'grid'), field(doc, 'nominal_resolution'), field(doc, 'grid_label')].filter(Boolean).join(' · ') || '—'}</dd>
            <dt>Version</dt>
            <dd>
              v{field(doc, 'version')} <span className="tag tag--quiet">{versionStatus(doc)}</span>
            </dd>
            <dt>Total size</dt>
            <dd>{formatBytes(totalSize || Number(doc['size']) || 0)}</dd>
            <dt>Licence</dt>
            <dd>{check?.grantable_by.map((g) => g.licence_id).filter(Boolean).join(', ') || field(doc, 'license') || 'open (no licence to accept)'}</dd>
            <dt>Citation</dt>
            <dd>
              {citation ? (
                <a href={citation} rel="noopener noreferrer">
                  {citation}
                </a>
              ) : '—'}
              {pid ? <span className="small muted"> ({pid})</span> : null}
            </dd>
          </dl>
          <h2>Files</h2>
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>File</th>
                  <th>Size</th>
                  <th>Checksum</th>
                </tr>
              </thead>
              <tbody>
                {data.files.map((f) => (
                  <tr key={field(f, 'id')}>
                    <td className="cell-wrap">{field(f, 'title')}</td>
                    <td className="nowrap">{formatBytes(Number(f['size']) || 0)}</td>
                    <td className="small muted cell-wrap">{field(f, 'checksum').slice(0, 16)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Version history</h2>
          <ul className="versions">
            {[...data.versions].sort((a, b) => field(b, 'version').localeCompare(field(a, 'version'))).map((v) => {
              const id = field(v, 'instance_id');
              return (
                <li key={field(v, 'id')}>
                  {id === instanceId ? <strong>v{field(v, 'version')}</strong> : <Link href={datasetPath(id)}>v{field(v, 'version')}</Link>}{' '}
                  <span className={`tag tag--quiet version--${versionStatus(v)}`}>{versionStatus(v)}</span>
                </li>
              );
            })}
          </ul>
          <h2>Open in a notebook</h2>
          <OpenInNotebook instanceId={instanceId} access={state} />
        </>
      )}
    </section>
  );
}
