/**
 * Which parts of the data cache a user's sandbox shows (pure; no I/O).
 *
 * The data directory holds dataset directories (DRS layout, one per dataset version,
 * e.g. `CMIP6/CMIP/SYNLAB/…/gn/v20190601`) and, at its top, metadata (`catalog/`,
 * `esgf/`, `stac/`, `access/`, `expected.json`, `SHA256SUMS`, …). Metadata files list the
 * files of *every* data set, restricted ones too, so by default none of them is shown:
 * only the entries named in `publicEntries` (e.g. a controlled vocabulary) are. The
 * hub's catalog API gives each caller the view they may see.
 */

/** One dataset directory of the data tree. */
export interface DataTreeDataset {
  /** `/`-separated path relative to the data directory, e.g. `CMIP6/CMIP/…/gn/v20190601`. */
  path: string;
  /** Its ESGF instance id with version (what access decisions are about). */
  id: string;
}

/** Input of {@link computeDataView}. */
export interface DataTree {
  /** Dataset directories below the data directory. */
  datasets: readonly DataTreeDataset[];
  /** Names of the entries directly in the data directory (files and directories). */
  topLevel: readonly string[];
  /**
   * Relative paths below the data directory that exist but belong to no known dataset
   * (e.g. files the catalog skipped as unreadable): never shown, and a directory that
   * contains one is never bound whole.
   */
  unknown?: readonly string[];
  /** Top-level entries everybody may see (public metadata). Default none. */
  publicEntries?: readonly string[];
}

/** What {@link computeDataView} decided. */
export interface DataView {
  /**
   * Relative paths to bind read-only (sorted, none below another), or `null` when the
   * whole data directory may be shown (every dataset readable, nothing else hidden).
   */
  paths: string[] | null;
  /** Datasets shown / in the tree. */
  readable: number;
  total: number;
}

interface Node {
  children: Map<string, Node>;
  /** Dataset ids whose directory is exactly this node. */
  ids: string[];
  /** Datasets below (including this node) and how many are readable; unknown entries below. */
  total: number;
  readable: number;
  unknown: boolean;
}

const newNode = (): Node => ({ children: new Map(), ids: [], total: 0, readable: 0, unknown: false });

/** True for a safe relative path: non-empty `/`-separated segments, none `.`, `..` or empty. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.startsWith('/') || p.includes('\0') || p.includes('\\')) return false;
  return p.split('/').every((s) => s.length > 0 && s !== '.' && s !== '..');
}

function insert(root: Node, path: string): Node[] {
  const chain = [root];
  let n = root;
  for (const seg of path.split('/')) {
    let c = n.children.get(seg);
    if (!c) {
      c = newNode();
      n.children.set(seg, c);
    }
    n = c;
    chain.push(n);
  }
  return chain;
}

/**
 * The minimal list of paths (relative to the data directory) to bind so that the sandbox
 * holds exactly the readable datasets plus the public top-level entries: a directory whose
 * every dataset below is readable (and that holds no unknown entry) is bound whole,
 * otherwise its children are considered; a directory with no readable dataset is left
 * out entirely (its name does not appear). Top-level entries that are neither public nor
 * hold datasets are left out. Datasets whose top-level directory is not in `topLevel`
 * (gone since the catalog saw them) are ignored. Paths that are not safe relative paths
 * (see {@link isSafeRelativePath}) are ignored, as datasets counted unreadable.
 *
 * `paths` is `null` when that list would be the whole top level bound whole.
 */
export function computeDataView(tree: DataTree, canRead: (id: string) => boolean): DataView {
  const top = new Set(tree.topLevel);
  const publicEntries = new Set((tree.publicEntries ?? []).filter((e) => top.has(e) && isSafeRelativePath(e) && !e.includes('/')));
  const root = newNode();
  let total = 0;
  for (const d of tree.datasets) {
    total++;
    if (!isSafeRelativePath(d.path)) continue;
    const first = d.path.split('/')[0]!;
    if (!top.has(first)) continue;
    const chain = insert(root, d.path);
    const ok = canRead(d.id);
    chain[chain.length - 1]!.ids.push(d.id);
    for (const n of chain) {
      n.total++;
      if (ok) n.readable++;
    }
  }
  for (const u of tree.unknown ?? []) {
    if (!isSafeRelativePath(u)) continue;
    for (const n of insert(root, u)) n.unknown = true;
  }

  const paths: string[] = [];
  let readable = 0;
  let whole = 0;
  const visit = (n: Node, path: string): void => {
    if (n.readable === 0) return;
    if (n.readable === n.total && !n.unknown) {
      paths.push(path);
      readable += n.readable;
      return;
    }
    // A dataset directory that is itself readable but holds something hidden: show its
    // datasets below only (a DRS dataset directory has no dataset below; nothing shown).
    for (const [name, c] of n.children) visit(c, `${path}/${name}`);
  };
  for (const name of [...top].sort()) {
    if (!isSafeRelativePath(name) || name.includes('/')) continue;
    const n = root.children.get(name);
    if (publicEntries.has(name) && !n) {
      paths.push(name);
      whole++;
      continue;
    }
    if (!n) continue;
    const before = paths.length;
    visit(n, name);
    if (paths.length === before + 1 && paths[before] === name) whole++;
  }
  paths.sort();
  return { paths: whole === top.size ? null : paths, readable, total };
}
