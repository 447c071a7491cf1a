import { Link } from './Link.js';

/** The page shown for a data set id the catalog does not have, or that the caller may not see (the same answer for both). */
export function NoSuchDataset({ instanceId }: { instanceId: string }) {
  return (
    <section className="page">
      <h1>No such data set</h1>
      <p>The catalog has no data set {instanceId} that you may see.</p>
      <Link href="/hub/catalog">Back to the catalog</Link>
    </section>
  );
}
