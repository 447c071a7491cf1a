import { type FormEvent, useEffect, useState } from 'react';
import { type ApiError, toApiError } from '../../api/client.js';
import type { AccessCheck, EsgSearchResult } from '../../api/catalog.js';
import { AccessBadge } from '../../components/AccessBadge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Link } from '../../components/Link.js';
import { useCatalogApi } from '../../hooks/useCatalogApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { accessStateOf, CATALOG_FACETS, type CatalogQuery, datasetPath, field, PAGE_SIZE, queryFromUrl, searchParams, urlOfQuery } from '../../lib/catalog.js';
import { formatBytes } from '../../lib/format.js';
import { useApp } from '../../session.js';

/** `/hub/catalog`: faceted search of the hub's data with counts, free text, paging and access badges. */
export function CatalogPage({ search }: { search: string }) {
  usePageTitle('Catalog');
  const { navigate } = useApp();
  const catalog = useCatalogApi();
  const query = queryFromUrl(search);
  const key = urlOfQuery(query);
  const [text, setText] = useState(query.text);
  const [result, setResult] = useState<EsgSearchResult | null>(null);
  const [checks, setChecks] = useState<Record<string, AccessCheck | null>>({});
  const [error, setError] = useState<ApiError | null>(null);
  // The search whose answer (or error) is shown; while it differs from `key`, a newer search runs.
  const [answered, setAnswered] = useState<string | null>(null);
  const searching = answered !== key;

  useEffect(() => {
    // Cleared when a newer search starts: the answers of this one are then dropped.
    let live = true;
    setError(null);
    catalog.search(searchParams(queryFromUrl(search))).then(
      async (r) => {
        if (!live) return;
        setResult(r);
        setAnswered(key);
        setChecks({});
        // One check per visible result (a page is small); failures show as "checking…".
        const ids = r.docs.map((d) => field(d, 'instance_id')).filter((id) => !id.startsWith('derived.'));
        const answers = await Promise.all(ids.map((id) => catalog.check(id).catch(() => null)));
        if (live) setChecks(Object.fromEntries(ids.map((id, i) => [id, answers[i] ?? null])));
      },
      (err) => {
        if (!live) return;
        setError(toApiError(err));
        setResult(null);
        setAnswered(key);
      },
    );
    return () => {
      live = false;
    };
  }, [key, catalog]);

  const go = (q: CatalogQuery) => navigate(urlOfQuery(q));
  const toggle = (facet: string, value: string) => {
    const cur = query.selected[facet] ?? [];
    const next = cur.includes(value) ? cur.filter((v) => v !== value) : [...cur, value];
    go({ ...query, page: 0, selected: { ...query.selected, [facet]: next } });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    go({ ...query, text, page: 0 });
  };
  const pages = result ? Math.max(1, Math.ceil(result.numFound / PAGE_SIZE)) : 1;

  return (
    <section className="page page--wide catalog">
      <h1>Catalog</h1>
      <p className="lead">
        Search the climate data cached on this hub. Counts include only what you may see.{' '}
        <Link href="/hub/catalog/publish">Publish derived data</Link>
      </p>
      <form className="catalog__search" role="search" onSubmit={submit}>
        <label className="visually-hidden" htmlFor="catalog-q">
          Search text
        </label>
        <input id="catalog-q" className="input" type="search" placeholder="e.g. CORDEX tas EUR-11" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" className="button button--primary">
          Search
        </button>
      </form>
      <ErrorNote error={error} />
      <div className="catalog__body">
        <aside className="catalog__facets" aria-label="Facets" aria-busy={searching}>
          {CATALOG_FACETS.map(({ key: f, label }) => {
            const values = (result?.facets[f] ?? []).filter(([, n]) => n > 0 || (query.selected[f] ?? []).length > 0);
            if (values.length === 0) return null;
            return (
              <fieldset key={f} className="facet">
                <legend>{label}</legend>
                {values.map(([v, n]) => (
                  <label key={v} className="facet__value">
                    <input type="checkbox" checked={(query.selected[f] ?? []).includes(v)} onChange={() => toggle(f, v)} />
                    <span className="facet__name">{v}</span>
                    <span className="facet__count" data-facet={f} data-value={v}>
                      {n}
                    </span>
                  </label>
                ))}
              </fieldset>
            );
          })}
        </aside>
        <div className="catalog__results" aria-busy={searching}>
          {searching ? (
            <p className="muted" role="status" data-testid="searching">
              Searching…
            </p>
          ) : result ? (
            <p className="muted" role="status" data-testid="num-found">
              {result.numFound} data set{result.numFound === 1 ? '' : 's'}
            </p>
          ) : null}
          <ul className="results" style={searching && result ? { opacity: 0.55 } : undefined}>
            {result?.docs.map((d) => {
              const id = field(d, 'instance_id');
              return (
                <li key={id} className="result card">
                  <div className="result__head">
                    <Link href={datasetPath(id)} className="result__title">
                      {id}
                    </Link>
                    {id.startsWith('derived.') ? (
                      <span className="badge" data-derived="true">derived · {field(d, 'owner')}</span>
                    ) : (
                      <AccessBadge state={id in checks ? accessStateOf(checks[id]) : 'unknown'} />
                    )}
                  </div>
                  {id.startsWith('derived.') && field(d, 'title') ? <p className="small">{field(d, 'title')}</p> : null}
                  <p className="small muted">
                    {[field(d, 'project'), field(d, 'experiment_id') || field(d, 'experiment'), field(d, 'source_id') || field(d, 'rcm_name'),
                      field(d, 'variable_id') || field(d, 'variable'), field(d, 'frequency') || field(d, 'time_frequency'), field(d, 'domain')]
                      .filter(Boolean).join(' · ')}
                    {d['size'] !== undefined ? ` · ${formatBytes(Number(d['size']))}` : ''}
                  </p>
                </li>
              );
            })}
          </ul>
          {result && pages > 1 ? (
            <nav className="pager" aria-label="Pages">
              <button type="button" className="button button--small" disabled={query.page === 0} onClick={() => go({ ...query, page: query.page - 1 })}>
                Previous
              </button>
              <span className="small">
                Page {query.page + 1} of {pages}
              </span>
              <button type="button" className="button button--small" disabled={query.page + 1 >= pages} onClick={() => go({ ...query, page: query.page + 1 })}>
                Next
              </button>
            </nav>
          ) : null}
        </div>
      </div>
    </section>
  );
}
