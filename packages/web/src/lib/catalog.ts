/**
 * Pure helpers of the catalog pages: facet lists, search parameters, access badges, the
 * sandbox paths of a data set's files, and the xarray code / notebook that opens them.
 */
import type { AccessCheck, EsgDoc } from '../api/catalog.js';

/** The facets shown on the search page, in order, with their labels. */
export const CATALOG_FACETS: ReadonlyArray<{ key: string; label: string }> = [
  { key: 'project', label: 'Project' },
  { key: 'activity_id', label: 'Activity' },
  { key: 'experiment_id', label: 'Experiment' },
  { key: 'source_id', label: 'Source (model)' },
  { key: 'variable_id', label: 'Variable' },
  { key: 'frequency', label: 'Frequency' },
  { key: 'domain', label: 'Domain' },
];

/** Results per page. Small, since every visible result costs one access check. */
export const PAGE_SIZE = 10;

/** Where the sandboxes see the data cache. */
export const SANDBOX_DATA_ROOT = '/data/';

/** What the search page asks: free text, selected facet values, page (0-based). */
export interface CatalogQuery {
  text: string;
  selected: Record<string, string[]>;
  page: number;
}

/** The search page's state from its URL query (`?q=…&project=CORDEX&page=2`). */
export function queryFromUrl(search: string): CatalogQuery {
  const p = new URLSearchParams(search);
  const selected: Record<string, string[]> = {};
  for (const { key } of CATALOG_FACETS) {
    const vs = p.getAll(key).filter((v) => v !== '');
    if (vs.length) selected[key] = vs;
  }
  const page = Math.max(0, (Number.parseInt(p.get('page') ?? '1', 10) || 1) - 1);
  return { text: p.get('q') ?? '', selected, page };
}

/** The page URL of a query (the inverse of {@link queryFromUrl}). */
export function urlOfQuery(q: CatalogQuery): string {
  const p = new URLSearchParams();
  if (q.text.trim()) p.set('q', q.text.trim());
  for (const { key } of CATALOG_FACETS) for (const v of q.selected[key] ?? []) p.append(key, v);
  if (q.page > 0) p.set('page', String(q.page + 1));
  const s = p.toString();
  return s ? `/hub/catalog?${s}` : '/hub/catalog';
}

/** The ESGF search parameters of a query: latest Dataset records, facets with counts, one page. */
export function searchParams(q: CatalogQuery): URLSearchParams {
  const p = new URLSearchParams({
    type: 'Dataset', latest: 'true', replica: 'false', limit: String(PAGE_SIZE), offset: String(q.page * PAGE_SIZE),
    facets: CATALOG_FACETS.map((f) => f.key).join(','),
  });
  if (q.text.trim()) p.set('query', q.text.trim());
  // Repeated values of one facet are OR-ed by the ESGF API; different facets are AND-ed.
  for (const [k, vs] of Object.entries(q.selected)) for (const v of vs) p.append(k, v);
  return p;
}

/** The badge of one data set for the caller. */
export type AccessState = 'readable' | 'pending' | 'request' | 'unknown';

/** From an access check: readable when permitted; pending when a membership that would grant it awaits approval. */
export function accessStateOf(check: AccessCheck | null | undefined): AccessState {
  if (!check) return 'unknown';
  if (check.decision === 'Permit') return 'readable';
  if (check.grantable_by.some((g) => g.membership === 'pending')) return 'pending';
  return 'request';
}

/** The first value of a (possibly multi-valued) field, as text; '' when absent. */
export function field(doc: EsgDoc | undefined, key: string): string {
  const v = doc?.[key];
  if (v === undefined || v === null) return '';
  return String(Array.isArray(v) ? (v[0] ?? '') : v);
}

/** All values of a field, as text. */
export function fieldAll(doc: EsgDoc | undefined, key: string): string[] {
  const v = doc?.[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** A file's path below the data root, from its HTTPServer URL (`…/fileServer/<root>/<path>`); null without one. */
export function relativePathOf(file: EsgDoc): string | null {
  for (const u of fieldAll(file, 'url')) {
    const [url, , service] = u.split('|');
    if (service !== 'HTTPServer' || !url) continue;
    const m = /\/fileServer\/[^/]+\/(.+)$/.exec(url);
    if (m) {
      try {
        return decodeURIComponent(m[1]!);
      } catch {
        return m[1]!;
      }
    }
  }
  return null;
}

/** The paths in the sandbox (`/data/…`) of a data set's files, in name order (replicas skipped). */
export function sandboxPaths(files: readonly EsgDoc[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f['replica'] === true) continue;
    const rel = relativePathOf(f);
    if (rel) out.push(SANDBOX_DATA_ROOT + rel);
  }
  return [...new Set(out)].sort();
}

/** Python code that opens the files with xarray (one file: open_dataset; several: open_mfdataset). */
export function xarrayCode(instanceId: string, variable: string, paths: readonly string[]): string {
  const lines = [`# ${instanceId}`, 'import xarray as xr', ''];
  if (paths.length === 1) {
    lines.push(`ds = xr.open_dataset(${pyString(paths[0]!)})`);
  } else {
    lines.push('paths = [', ...paths.map((p) => `    ${pyString(p)},`), ']');
    lines.push('ds = xr.open_mfdataset(paths, combine="by_coords")');
  }
  lines.push('print(ds)');
  if (variable && /^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) lines.push(`ds[${pyString(variable)}]`);
  return lines.join('\n');
}

/** A Python string literal (double-quoted, escaped). */
export function pyString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** An nbformat 4 notebook with one markdown cell and one code cell. */
export function notebookOf(title: string, code: string): Record<string, unknown> {
  const source = (text: string) => text.split('\n').map((l, i, all) => (i < all.length - 1 ? `${l}\n` : l));
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, language_info: { name: 'python' } },
    cells: [
      { cell_type: 'markdown', id: 'title', metadata: {}, source: source(`# ${title}`) },
      { cell_type: 'code', id: 'open', metadata: {}, execution_count: null, outputs: [], source: source(code) },
    ],
  };
}

/** A file name for a data set's notebook: `tas_EUR-11_….ipynb` from its id, safe characters only. */
export function notebookName(instanceId: string): string {
  const base = instanceId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-120);
  return `${base}.ipynb`;
}

/** The page of a data set. */
export function datasetPath(instanceId: string): string {
  return `/hub/catalog/dataset/${encodeURIComponent(instanceId)}`;
}

/** Version status of a Dataset doc: retracted beats latest. */
export function versionStatus(doc: EsgDoc): 'retracted' | 'latest' | 'superseded' {
  if (doc['retracted'] === true) return 'retracted';
  return doc['latest'] === true ? 'latest' : 'superseded';
}
