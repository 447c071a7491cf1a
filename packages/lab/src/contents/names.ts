/**
 * Names jupyter_server picks for new and copied items (jupyter-server-api.md §a.4):
 * `Untitled.ipynb`, `Untitled1.ipynb`; `untitled.txt`, `untitled1.txt`;
 * `Untitled Folder`, `Untitled Folder 1`; copies `run-Copy1.ipynb`, `data-Copy1.tar.gz`.
 */

/**
 * The names `filename`, then `filename` with `insert` + 1, 2, … inserted before the
 * extension: the last dot for `.ipynb`, the first dot otherwise (`data.tar.gz`).
 * Infinite; the caller stops at the first free name.
 */
export function* nameCandidates(filename: string, insert: string): Generator<string> {
  let cut = filename.lastIndexOf('.');
  if (cut < 0 || filename.slice(cut + 1) !== 'ipynb') cut = filename.indexOf('.');
  const base = cut < 0 ? filename : filename.slice(0, cut);
  const suffix = cut < 0 ? '' : filename.slice(cut);
  yield filename;
  for (let i = 1; ; i++) yield `${base}${insert}${i}${suffix}`;
}

/** The first candidate name of a copy of `name` (an earlier `-CopyN` is dropped first). */
export function copyBaseName(name: string): string {
  return name.replace(/-Copy\d*\./g, '.');
}

/** What a new untitled item is called before numbering, and the numbering insert. */
export function untitledName(type: 'notebook' | 'file' | 'directory', ext: string): { name: string; insert: string } {
  if (type === 'directory') return { name: 'Untitled Folder', insert: ' ' };
  if (type === 'notebook') return { name: 'Untitled.ipynb', insert: '' };
  return { name: `untitled${ext}`, insert: '' };
}
