/**
 * The notebook "Open in a notebook" creates for a catalog data set: Python code that opens
 * the data set's files where the sandbox shows them (`/data/…`) with xarray, prints the
 * data set and averages its first variable over space (a time series, plotted). Pure: the
 * hub writes the notebook into the user's server and serves the code to the web UI.
 */
import { NBFORMAT_MINOR, pySplitLines, type Notebook } from './nbformat.js';

/** Where every sandbox sees the data cache (read-only). */
export const SANDBOX_DATA_MOUNT = '/data';

/** What the notebook of a data set is made of. */
export interface DatasetNotebookSpec {
  /** The data set's ESGF `instance_id` (with its version). */
  readonly instanceId: string;
  /** The variable to average (the data set's first `variable_id`); null/'' = the first data variable xarray finds. */
  readonly variable?: string | null;
  /** Absolute paths of its files in the sandbox (`/data/…`), at least one. */
  readonly paths: readonly string[];
}

/**
 * A Python string literal for `s` (double quotes). Backslashes, quotes, control and
 * line-separator characters are escaped, so no input can end the literal or the line.
 */
export function pythonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f || c === 0x85) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c === 0x2028 || c === 0x2029 || (c >= 0xd800 && c <= 0xdfff)) out += `\\u${c.toString(16)}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `s` on one line: every line break or control character becomes a space (for comments and titles). */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, ' ').trim();
}

/**
 * The Python code that opens the files with xarray (one file: `open_dataset`; several:
 * `open_mfdataset` combined by their coordinates, lazily with dask), prints the data set,
 * and averages the variable over every dimension but time — weighted by cell area on
 * latitude (or rotated-pole `rlat`) grids: exactly from the latitude bounds when the file
 * has them, else by the cosine of latitude — then plots that time series (on the
 * standard calendar, since matplotlib cannot place model-calendar dates without
 * nc-time-axis, which Debian lacks; prints the value when there is no time axis). Runs with Debian's python3-xarray/netCDF4/dask/
 * matplotlib. Throws `RangeError` without paths.
 */
export function datasetCode(spec: DatasetNotebookSpec): string {
  if (spec.paths.length === 0) throw new RangeError('A data set notebook needs at least one file.');
  const lines = [`# ${oneLine(spec.instanceId)}`, 'import numpy as np', 'import xarray as xr', ''];
  if (spec.paths.length === 1) {
    lines.push(`ds = xr.open_dataset(${pythonString(spec.paths[0]!)})`);
  } else {
    lines.push('paths = [', ...spec.paths.map((p) => `    ${pythonString(p)},`), ']');
    lines.push('ds = xr.open_mfdataset(paths, combine="by_coords")');
  }
  lines.push('print(ds)', '');
  lines.push(spec.variable ? `da = ds[${pythonString(spec.variable)}]` : 'da = ds[list(ds.data_vars)[0]]');
  lines.push(
    '# Average over space, weighted by grid-cell area (cells shrink towards the poles).',
    'space = [d for d in da.dims if d != "time"]',
    'lat = "rlat" if "rlat" in da.dims else "lat"  # rotated-pole grids (CORDEX) are regular in rlat',
    'if lat in da.dims:',
    '    edges = ds[lat].attrs.get("bounds")',
    '    if edges in ds.variables:  # exact area: difference of the sines of the cell edges',
    '        b = np.deg2rad(ds[edges])',
    '        weights = abs(np.sin(b.isel({b.dims[-1]: 1})) - np.sin(b.isel({b.dims[-1]: 0})))',
    '    else:',
    '        weights = np.cos(np.deg2rad(ds[lat]))',
    '    mean = da.weighted(weights).mean(space)',
    'else:',
    '    mean = da.mean(space)',
    'print(f"{da.name}: mean over {\', \'.join(space)} [{da.attrs.get(\'units\', \'\')}]")',
    'if "time" in mean.dims:',
    '    if isinstance(mean.indexes["time"], xr.CFTimeIndex):  # model calendars (noleap, 360_day): plot on real dates',
    '        mean = mean.convert_calendar("standard", align_on="date", use_cftime=False)',
    '    mean.plot()',
    'else:',
    '    print(float(mean))',
  );
  return lines.join('\n');
}

/** An nbformat 4.5 notebook (Python 3 kernel): a markdown title cell and the {@link datasetCode} cell. */
export function datasetNotebook(spec: DatasetNotebookSpec): Notebook {
  const title = [
    `# ${oneLine(spec.instanceId)}`,
    '',
    `Opens the data set's ${spec.paths.length === 1 ? 'file' : `${spec.paths.length} files`} from \`${SANDBOX_DATA_MOUNT}\` (read-only) with xarray. Run the cell below (Shift+Enter).`,
  ].join('\n');
  return {
    nbformat: 4,
    nbformat_minor: NBFORMAT_MINOR,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' },
      language_info: { name: 'python' },
    },
    cells: [
      { cell_type: 'markdown', id: 'title', metadata: {}, source: pySplitLines(title) },
      { cell_type: 'code', id: 'open-dataset', metadata: {}, execution_count: null, outputs: [], source: pySplitLines(datasetCode(spec)) },
    ],
  };
}

/**
 * A file name for a data set's notebook: its instance id with every run of characters
 * other than letters, digits, `.`, `_`, `-` replaced by `_`, at most 120 characters (the
 * end, which holds the variable and version), never starting with `.` or `-`, plus `.ipynb`.
 */
export function datasetNotebookName(instanceId: string): string {
  const base = instanceId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-120).replace(/^[.-]+/, '');
  return `${base || 'dataset'}.ipynb`;
}

/** The `n`-th alternative of a file name (`n` ≥ 1): `a.ipynb` → `a-1.ipynb`; `n` = 0 gives the name itself. */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-${n}${name.slice(dot)}` : `${name}-${n}`;
}
