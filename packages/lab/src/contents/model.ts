/**
 * Building blocks of contents models (jupyter-server-api.md §a.1): timestamps, mimetype
 * guesses, MIME-style base64, and the fields every model has.
 */
import { constants, type BigIntStats } from 'node:fs';
import { access } from 'node:fs/promises';
import type { ContentType, ContentsModel } from './types.js';

/** ISO 8601 UTC with microseconds and `Z`, as jupyter_server writes timestamps. */
export function isoMicros(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const micros = Number((ns / 1000n) % 1_000_000n);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}

const MIMETYPES: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  py: 'text/x-python',
  r: 'text/x-r',
  jl: 'text/x-julia',
  sh: 'application/x-sh',
  c: 'text/x-c',
  h: 'text/x-c',
  f90: 'text/x-fortran',
  f: 'text/x-fortran',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  json: 'application/json',
  geojson: 'application/geo+json',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  tex: 'text/x-tex',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  ico: 'image/vnd.microsoft.icon',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  bz2: 'application/x-bzip2',
  xz: 'application/x-xz',
  tar: 'application/x-tar',
  nc: 'application/x-netcdf',
  nc4: 'application/x-netcdf',
  h5: 'application/x-hdf5',
  hdf5: 'application/x-hdf5',
  wav: 'audio/x-wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  webm: 'video/webm',
};

/** Mimetype guessed from the file name's extension, or null. */
export function guessMimetype(name: string): string | null {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return null;
  return MIMETYPES[name.slice(dot + 1).toLowerCase()] ?? null;
}

/** Base64 with a newline after every 76 characters and at the end (Python's `encodebytes`). */
export function base64Mime(bytes: Uint8Array): string {
  const flat = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let out = '';
  for (let i = 0; i < flat.length; i += 76) out += flat.slice(i, i + 76) + '\n';
  return out;
}

/** Decodes standard base64 (whitespace allowed); null when it is not base64. */
export function decodeBase64(text: string): Buffer | null {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 === 1 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 text of `bytes` (a BOM is kept), or null when they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** True when the current process may write `abs`. */
export async function isWritable(abs: string): Promise<boolean> {
  return access(abs, constants.W_OK).then(
    () => true,
    () => false,
  );
}

/** The fields of every model, with `content`, `format` and `hash` null. */
export async function baseModel(
  apiPath: string,
  type: ContentType,
  real: string,
  st: BigIntStats,
): Promise<ContentsModel> {
  const name = apiPath.slice(apiPath.lastIndexOf('/') + 1);
  const created = st.birthtimeNs > 0n ? st.birthtimeNs : st.ctimeNs;
  return {
    name,
    path: apiPath,
    type,
    writable: await isWritable(real),
    created: isoMicros(created),
    last_modified: isoMicros(st.mtimeNs),
    size: type === 'directory' ? null : Number(st.size),
    mimetype: type === 'file' ? guessMimetype(name) : null,
    content: null,
    format: null,
    hash: null,
    hash_algorithm: null,
  };
}
