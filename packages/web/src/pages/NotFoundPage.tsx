import { Link } from '../components/Link.js';
import { usePageTitle } from '../hooks/usePageTitle.js';

/** Any path under the SPA that is not one of its pages. */
export function NotFoundPage() {
  usePageTitle('Page not found');
  return (
    <section className="page page--narrow">
      <h1>Page not found</h1>
      <div className="card">
        <p>There is no page at this address.</p>
        <p>
          <Link href="/hub/home">Go to your home page</Link>
        </p>
      </div>
    </section>
  );
}
