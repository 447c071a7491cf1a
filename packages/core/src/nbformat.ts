/**
 * nbformat 4 (4.0–4.5) notebooks: schema, parsing with precise error messages, the
 * 4.x → 4.5 upgrade, and serialisation byte-compatible with Python's `nbformat.write`
 * (jupyter-server-api.md §f). Pure: no I/O.
 *
 * Two forms of a notebook exist. The *disk form* stores multiline strings as lists of
 * lines; the *read form* (what {@link parseNotebook} returns and the contents API sends)
 * joins them into single strings. {@link serializeNotebook} turns either form into the
 * disk form.
 */
import { z } from 'zod';

const multiline = z.union([z.string(), z.array(z.string())], { error: 'must be a string or a list of strings' });
const jsonObject = z.record(z.string(), z.unknown(), { error: 'must be an object' });

/** `application/json` and `application/*+json` hold arbitrary JSON; other mimetypes hold text. */
export function isJsonMimetype(mime: string): boolean {
  return mime === 'application/json' || (mime.startsWith('application/') && mime.endsWith('+json'));
}

const mimebundle = jsonObject.superRefine((bundle, ctx) => {
  for (const [mime, value] of Object.entries(bundle)) {
    if (isJsonMimetype(mime)) continue;
    if (typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) continue;
    ctx.addIssue({ code: 'custom', path: [mime], message: 'must be a string or a list of strings' });
  }
});
const executionCount = z.number({ error: 'must be an integer ≥ 0 or null' }).int().min(0).nullable();
const strings = z.array(z.string(), { error: 'must be a list of strings' });

const outputSchema = z.discriminatedUnion('output_type', [
  z.looseObject({ output_type: z.literal('stream'), name: z.string({ error: 'must be a string' }), text: multiline }),
  z.looseObject({ output_type: z.literal('display_data'), data: mimebundle, metadata: jsonObject }),
  z.looseObject({ output_type: z.literal('execute_result'), execution_count: executionCount, data: mimebundle, metadata: jsonObject }),
  z.looseObject({ output_type: z.literal('error'), ename: z.string(), evalue: z.string(), traceback: strings }),
]);

const cellId = z.string({ error: 'must be a string' }).optional();
const attachments = z.record(z.string(), mimebundle, { error: 'must be an object' }).optional();
const cellSchema = z.discriminatedUnion('cell_type', [
  z.looseObject({
    id: cellId,
    cell_type: z.literal('code'),
    metadata: jsonObject,
    source: multiline,
    outputs: z.array(outputSchema, { error: 'must be a list' }),
    execution_count: executionCount,
  }),
  z.looseObject({ id: cellId, cell_type: z.literal('markdown'), metadata: jsonObject, source: multiline, attachments }),
  z.looseObject({ id: cellId, cell_type: z.literal('raw'), metadata: jsonObject, source: multiline, attachments }),
]);

/** Zod schema of an nbformat 4 notebook (either form). Unknown keys are kept, never dropped. */
export const notebookSchema = z.looseObject({
  nbformat: z.literal(4),
  nbformat_minor: z.number({ error: 'must be an integer ≥ 0' }).int().min(0),
  metadata: z.looseObject({
    kernelspec: z.looseObject({ name: z.string(), display_name: z.string() }).optional(),
    language_info: z.looseObject({ name: z.string() }).optional(),
  }),
  cells: z.array(cellSchema, { error: 'must be a list' }),
});

export type Notebook = z.infer<typeof notebookSchema>;
export type NotebookCell = z.infer<typeof cellSchema>;
export type NotebookOutput = z.infer<typeof outputSchema>;

/** The notebook is not readable as nbformat 4; `message` names the problem and where. */
export class NotebookFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookFormatError';
  }
}

/** The minor version this module writes. */
export const NBFORMAT_MINOR = 5;
const CELL_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/** A new cell id as nbformat makes them: 8 random hex characters, not in `taken`. */
export function newCellId(taken: ReadonlySet<string> = new Set()): string {
  for (;;) {
    const id = globalThis.crypto.randomUUID().replace(/-/g, '').slice(0, 8);
    if (!taken.has(id)) return id;
  }
}

/** The empty notebook nbformat creates: `{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`. */
export function newNotebook(): Notebook {
  return { cells: [], metadata: {}, nbformat: 4, nbformat_minor: NBFORMAT_MINOR };
}

/**
 * Parses the text of a `.ipynb` file into the read form (multiline strings joined,
 * transient keys removed), upgraded to 4.5: 4.0–4.4 notebooks get fresh cell ids like
 * nbformat's upgrade, and missing, malformed or duplicate ids are replaced.
 * @throws NotebookFormatError naming the problem: `line 3, column 5: …` for bad JSON,
 *   the nbformat 3 conversion command, or `cell 4: missing 'source'` (cells and outputs
 *   are numbered from 1).
 */
export function parseNotebook(text: string): Notebook {
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    const at = locateJsonError(text);
    throw new NotebookFormatError(`not valid JSON: line ${at.line}, column ${at.column}: ${at.message}`);
  }
  return validateNotebook(value);
}

/**
 * Validates an already parsed notebook (a PUT body, or a notebook after a server-side
 * mutation) and returns a normalised copy in the read form (see {@link parseNotebook}).
 * The input is not modified.
 * @throws NotebookFormatError as {@link parseNotebook}.
 */
export function validateNotebook(value: unknown): Notebook {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NotebookFormatError(`not a notebook: the top level is ${describeType(value)}, not an object`);
  }
  const top = value as Record<string, unknown>;
  if (!('nbformat' in top)) throw new NotebookFormatError(`missing 'nbformat' (not a Jupyter notebook?)`);
  const major = top.nbformat;
  if (typeof major !== 'number' || !Number.isInteger(major)) {
    throw new NotebookFormatError(`'nbformat' must be an integer, found ${describeType(major)}`);
  }
  if (major < 4) {
    throw new NotebookFormatError(
      `nbformat ${major} notebooks are not supported: convert with \`jupyter nbconvert --to notebook --nbformat 4\``,
    );
  }
  if (major > 4) throw new NotebookFormatError(`nbformat ${major} notebooks are not supported (only nbformat 4)`);
  const parsed = notebookSchema.safeParse(value);
  if (!parsed.success) throw new NotebookFormatError(describeIssue(parsed.error.issues[0], value));
  const nb = parsed.data;
  const upgrade = nb.nbformat_minor < NBFORMAT_MINOR;
  const taken = new Set<string>();
  for (const cell of nb.cells) {
    const id = cell.id;
    if (upgrade || typeof id !== 'string' || !CELL_ID.test(id) || taken.has(id)) cell.id = newCellId(taken);
    taken.add(cell.id as string);
  }
  if (upgrade) nb.nbformat_minor = NBFORMAT_MINOR;
  stripTransient(nb);
  mapMultiline(nb, 'join');
  return nb;
}

/**
 * The file content nbformat would write for `nb` (either form): multiline strings split
 * into lines (`source`, stream `text`, `text/*`, `application/javascript` and
 * `image/svg+xml` values), transient keys removed, keys sorted by code point, one-space
 * indent, numbers formatted as Python does, trailing newline. Does not modify `nb`.
 * @throws NotebookFormatError if `nb` holds something JSON cannot represent (a BigInt,
 *   NaN, a cycle…).
 */
export function serializeNotebook(nb: Notebook): string {
  const copy = structuredCloneJson(nb) as Notebook;
  stripTransient(copy);
  mapMultiline(copy, 'split');
  const out: string[] = [];
  writeJson(copy, '', out);
  out.push('\n');
  return out.join('');
}

function stripTransient(nb: Notebook): void {
  delete nb.metadata.orig_nbformat;
  delete nb.metadata.orig_nbformat_minor;
  delete nb.metadata.signature;
  for (const cell of nb.cells) delete cell.metadata.trusted;
}

type Direction = 'join' | 'split';
const SPLIT_MIMES = new Set(['application/javascript', 'image/svg+xml']);

/**
 * Joins (read) or splits (write) every field nbformat stores as lines: `source`, stream
 * `text`, and mimebundle values (on write only `text/*`, JavaScript and SVG are split).
 */
function mapMultiline(nb: Notebook, dir: Direction): void {
  const fn = (v: string | string[]): string | string[] =>
    dir === 'join' ? (Array.isArray(v) ? v.join('') : v) : typeof v === 'string' ? pySplitLines(v) : v;
  const bundle = (data: Record<string, unknown> | undefined): void => {
    for (const [mime, v] of Object.entries(data ?? {})) {
      if (isJsonMimetype(mime)) continue;
      if (dir === 'split' && !(mime.startsWith('text/') || SPLIT_MIMES.has(mime))) continue;
      if (typeof v === 'string' || Array.isArray(v)) data![mime] = fn(v as string | string[]);
    }
  };
  for (const cell of nb.cells) {
    cell.source = fn(cell.source);
    if (cell.cell_type !== 'code') {
      for (const att of Object.values(cell.attachments ?? {})) bundle(att);
      continue;
    }
    for (const out of cell.outputs) {
      if (out.output_type === 'display_data' || out.output_type === 'execute_result') bundle(out.data);
      else if (out.output_type === 'stream') out.text = fn(out.text);
    }
  }
}

/** Python's `str.splitlines(keepends=True)`: the same line boundaries, so files diff like Jupyter's. */
export function pySplitLines(s: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const isBreak = c === 10 || c === 13 || c === 11 || c === 12 || (c >= 0x1c && c <= 0x1e) || c === 0x85 || c === 0x2028 || c === 0x2029;
    if (!isBreak) continue;
    if (c === 13 && s.charCodeAt(i + 1) === 10) i++;
    lines.push(s.slice(start, i + 1));
    start = i + 1;
  }
  if (start < s.length) lines.push(s.slice(start));
  return lines;
}

/** Deep copy through JSON semantics, refusing what JSON cannot hold. */
function structuredCloneJson(value: unknown, seen = new Set<object>(), where = 'notebook'): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new NotebookFormatError(`${where}: ${value} cannot be stored in JSON`);
    return value;
  }
  if (typeof value !== 'object') throw new NotebookFormatError(`${where}: a ${typeof value} cannot be stored in JSON`);
  if (seen.has(value)) throw new NotebookFormatError(`${where}: circular reference`);
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v, i) => structuredCloneJson(v === undefined ? null : v, seen, `${where}[${i}]`));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      out[k] = structuredCloneJson(v, seen, `${where}.${k}`);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** Python's `sorted()` order of str keys: by code point, not UTF-16 unit. */
function compareKeys(a: string, b: string): number {
  if (!/[\ud800-\udfff]/.test(a + b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Python's `repr(float)` for non-integers (exponent below 1e-4), JS digits otherwise. */
function formatNumber(n: number): string {
  if (Number.isInteger(n) || Math.abs(n) >= 1e-4) return String(n);
  const [mantissa, exp] = n.toExponential().split('e') as [string, string];
  const sign = exp.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exp.replace(/^[-+]/, '').padStart(2, '0')}`;
}

/** `json.dumps(v, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)`. */
function writeJson(v: unknown, indent: string, out: string[]): void {
  if (v === null) out.push('null');
  else if (typeof v === 'string') out.push(JSON.stringify(v));
  else if (typeof v === 'number') out.push(formatNumber(v));
  else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
  else if (Array.isArray(v)) {
    if (v.length === 0) return void out.push('[]');
    const inner = indent + ' ';
    out.push('[');
    v.forEach((item, i) => {
      out.push(i ? ',\n' : '\n', inner);
      writeJson(item, inner, out);
    });
    out.push('\n', indent, ']');
  } else {
    const keys = Object.keys(v as object).sort(compareKeys);
    if (keys.length === 0) return void out.push('{}');
    const inner = indent + ' ';
    out.push('{');
    keys.forEach((k, i) => {
      out.push(i ? ',\n' : '\n', inner, JSON.stringify(k), ': ');
      writeJson((v as Record<string, unknown>)[k], inner, out);
    });
    out.push('\n', indent, '}');
  }
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

interface Issue {
  path: PropertyKey[];
  message: string;
  code: string;
}

/** `cell 4, output 2: missing 'text'` from the first zod issue and the input it judged. */
function describeIssue(issue: Issue | undefined, input: unknown): string {
  if (!issue) return 'invalid notebook';
  const path = issue.path;
  let where = '';
  let rest = path;
  if (path[0] === 'cells' && typeof path[1] === 'number') {
    where = `cell ${path[1] + 1}`;
    rest = path.slice(2);
    if (rest[0] === 'outputs' && typeof rest[1] === 'number') {
      where += `, output ${rest[1] + 1}`;
      rest = rest.slice(2);
    }
  }
  const parentPath = path.slice(0, -1);
  const parent = parentPath.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), input);
  const key = path[path.length - 1];
  const value = parent && typeof parent === 'object' && key !== undefined ? (parent as Record<PropertyKey, unknown>)[key] : undefined;
  const field = rest.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${String(k)}` : String(k))).join('');
  const prefix = where ? `${where}: ` : '';
  if (value === undefined && key !== undefined && typeof key !== 'number') return `${prefix}missing '${field}'`;
  if (issue.code === 'invalid_union' && (key === 'cell_type' || key === 'output_type')) {
    const expected = key === 'cell_type' ? 'code, markdown or raw' : 'stream, display_data, execute_result or error';
    return `${prefix}unknown ${key} ${JSON.stringify(value)} (expected ${expected})`;
  }
  if (field === 'nbformat_minor' || field === 'nbformat') return `${prefix}'${field}' ${issue.message}`;
  const message = issue.message.startsWith('Invalid input: expected ')
    ? `must be ${issue.message.slice('Invalid input: expected '.length).replace(/, received .*/, '')}`
    : issue.message;
  return `${prefix}'${field}' ${message}`;
}

/**
 * Where JSON text stops being valid: 1-based line and column and what was wrong. Only
 * meaningful for text `JSON.parse` rejected (V8's messages do not always give a position).
 */
export function locateJsonError(text: string): { line: number; column: number; message: string } {
  let i = 0;
  const fail = (message: string): never => {
    throw Object.assign(new Error(message), { at: i });
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const shown = (): string => (i >= text.length ? 'end of file' : `${JSON.stringify(text[i])}`);
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${shown()} (expected a value)`);
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) fail('control character (such as a raw line break) inside a string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('invalid escape sequence in string');
      } else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`unexpected ${shown()} (expected a property name in double quotes)`);
        string();
        ws();
        if (text[i] !== ':') fail(`unexpected ${shown()} (expected ':')`);
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail(`unexpected ${shown()} (expected ',' or '}')`);
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail(`unexpected ${shown()} (expected ',' or ']')`);
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m || m[0] === '' || m[0] === '-') fail(`unexpected ${shown()} (expected a value)`);
      i += m![0].length;
    }
  };
  let message = 'invalid JSON';
  try {
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    value();
    ws();
    if (i < text.length) fail(`unexpected ${shown()} after the end of the JSON document`);
  } catch (e) {
    message = (e as Error).message;
  }
  const before = text.slice(0, i);
  const line = before.split('\n').length;
  return { line, column: i - before.lastIndexOf('\n'), message };
}
