import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type ApiError, toApiError } from './api/client.js';
import { fetchSession, HubApi, type Session } from './api/hub.js';
import { ErrorNote } from './components/ErrorNote.js';
import { Layout } from './components/Layout.js';
import { AdminPage } from './pages/admin/AdminPage.js';
import { HomePage } from './pages/HomePage.js';
import { NotFoundPage } from './pages/NotFoundPage.js';
import { NotRunningPage } from './pages/NotRunningPage.js';
import { SpawnPage } from './pages/SpawnPage.js';
import { SpawnPendingPage } from './pages/SpawnPendingPage.js';
import { TokenPage } from './pages/TokenPage.js';
import { CatalogPage } from './pages/catalog/CatalogPage.js';
import { DatasetPage } from './pages/catalog/DatasetPage.js';
import { RequestsPage } from './pages/catalog/RequestsPage.js';
import { DerivedDatasetPage } from './pages/derived/DerivedDatasetPage.js';
import { PublishDerivedPage } from './pages/derived/PublishDerivedPage.js';
import { MySharesPage } from './pages/shares/MySharesPage.js';
import { SharedWithMePage } from './pages/shares/SharedWithMePage.js';
import { loginUrl, matchRoute } from './lib/routes.js';
import { AppContext, type AppContextValue } from './session.js';

/** Loads the session (or goes to the log-in page), then renders the page of the current path. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [path, setPath] = useState(() => window.location.pathname);
  const [search, setSearch] = useState(() => window.location.search);
  const moved = useRef(false);

  useEffect(() => {
    fetchSession().then(
      (s) => {
        if (s) setSession(s);
        else window.location.replace(loginUrl(window.location.pathname + window.location.search));
      },
      (err) => setError(toApiError(err)),
    );
  }, []);

  useEffect(() => {
    const onPop = () => {
      moved.current = true;
      setPath(window.location.pathname);
      setSearch(window.location.search);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  // After moving to another page, put keyboard and screen-reader focus on its heading.
  useEffect(() => {
    if (!moved.current) return;
    const h1 = document.querySelector<HTMLElement>('main h1');
    h1?.setAttribute('tabindex', '-1');
    h1?.focus();
  }, [path]);

  const navigate = useCallback((to: string, opts?: { replace?: boolean }) => {
    if (opts?.replace) window.history.replaceState(null, '', to);
    else window.history.pushState(null, '', to);
    moved.current = true;
    setPath(window.location.pathname);
    setSearch(window.location.search);
    window.scrollTo(0, 0);
  }, []);

  const ctx = useMemo<AppContextValue | null>(() => (session ? { session, api: new HubApi(session), navigate } : null), [session, navigate]);

  if (error) {
    return (
      <main className="main">
        <section className="page page--narrow">
          <h1>The hub cannot be reached</h1>
          <ErrorNote error={error} />
          <button type="button" className="button" onClick={() => window.location.reload()}>
            Reload
          </button>
        </section>
      </main>
    );
  }
  if (!ctx) {
    return (
      <main className="main main--loading" aria-busy="true">
        <p className="muted">Loading…</p>
      </main>
    );
  }
  return (
    <AppContext.Provider value={ctx}>
      <Layout path={path}>
        <Page path={path} search={search} me={ctx.session.user} />
      </Layout>
    </AppContext.Provider>
  );
}

function Page({ path, search, me }: { path: string; search: string; me: string }) {
  const route = matchRoute(path);
  switch (route.page) {
    case 'home':
      return <HomePage />;
    case 'admin':
      return <AdminPage />;
    case 'token':
      return <TokenPage />;
    case 'catalog':
      return <CatalogPage search={search} />;
    case 'catalog-requests':
      return <RequestsPage />;
    case 'catalog-publish':
      return <PublishDerivedPage />;
    case 'catalog-dataset':
      return route.instanceId.startsWith('derived.')
        ? <DerivedDatasetPage key={route.instanceId} instanceId={route.instanceId} />
        : <DatasetPage key={route.instanceId} instanceId={route.instanceId} />;
    case 'shares':
      return <MySharesPage />;
    case 'shares-with-me':
      return <SharedWithMePage />;
    case 'spawn':
      return <SpawnPage key={path} user={route.user ?? me} server={route.server} />;
    case 'spawn-pending':
      return <SpawnPendingPage key={path} user={route.user} server={route.server} />;
    case 'not-running':
      return <NotRunningPage key={path} user={route.user} path={route.path} />;
    case 'not-found':
      return <NotFoundPage />;
  }
}
