import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * `packages/web/dist`, found relative to this module: `packages/hub/src/web/` under tsx
 * and `packages/hub/dist/web/` after tsc are both three levels below `packages/`.
 */
export function defaultDistDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/dist');
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.txt', '.svg']);

/** MIME type for a file name (by extension); unknown types are `application/octet-stream`. */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Vite's content-hashed output: `assets/<name>-<8+ char hash>.<ext>`. */
const HASHED_ASSET = /^assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$/;

/**
 * `Cache-Control` for a path relative to the dist folder: a year and immutable for
 * content-hashed assets (a new build has new names), revalidate for anything else.
 */
export function cacheControlFor(relPath: string): string {
  return HASHED_ASSET.test(relPath) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * The file under `root` named by the still-encoded URL tail `rawTail` (e.g.
 * `assets/index-abc.js`), or null when the tail is not a plain relative path: empty,
 * undecodable, or with `.`/`..`/empty segments, dot-files, backslashes, NUL or an encoded
 * slash — checked after decoding, so `%2e%2e` is as unwelcome as `..`.
 */
export function safeAssetPath(root: string, rawTail: string): string | null {
  if (rawTail === '') return null;
  const segments: string[] = [];
  for (const raw of rawTail.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '' || seg.startsWith('.') || /[/\\\0]/.test(seg)) return null;
    segments.push(seg);
  }
  const resolved = path.resolve(root, ...segments);
  return resolved.startsWith(root + path.sep) ? resolved : null;
}

/** Gzipped copies of compressible files, keyed by path and version; dist files are few and small. */
const gzipCache = new Map<string, { version: string; body: Buffer }>();

async function gzipped(file: string, version: string): Promise<Buffer> {
  const hit = gzipCache.get(file);
  if (hit && hit.version === version) return hit.body;
  const body = gzipSync(await readFile(file));
  gzipCache.set(file, { version, body });
  return body;
}

const acceptsGzip = (req: FastifyRequest): boolean => /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));

/**
 * Answers `GET /hub/static/<rawTail>` from `distDir`: 404 for anything outside it or not
 * a regular file; `ETag`/`Last-Modified` with 304 on a match; gzip for text when the
 * client accepts it; long cache for hashed assets.
 */
export async function sendAsset(req: FastifyRequest, reply: FastifyReply, distDir: string, rawTail: string): Promise<FastifyReply> {
  const notFound = () => reply.status(404).type('application/json').send({ status: 404, message: 'No such file.', code: 'NOT_FOUND' });
  const file = safeAssetPath(distDir, rawTail);
  if (!file) return notFound();
  let info;
  let real;
  try {
    info = await stat(file);
    // A symbolic link must not lead out of the dist folder.
    real = await realpath(file);
    if (!real.startsWith((await realpath(distDir)) + path.sep)) return notFound();
  } catch {
    return notFound();
  }
  if (!info.isFile()) return notFound();

  const rel = path.relative(distDir, file).split(path.sep).join('/');
  const ext = path.extname(file).toLowerCase();
  const version = `${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}`;
  const gzip = COMPRESSIBLE.has(ext) && info.size > 1024 && acceptsGzip(req);
  const etag = `W/"${version}${gzip ? '-gz' : ''}"`;
  reply
    .header('Content-Type', contentTypeFor(file))
    .header('Cache-Control', cacheControlFor(rel))
    .header('ETag', etag)
    .header('Last-Modified', info.mtime.toUTCString())
    .header('X-Content-Type-Options', 'nosniff')
    .header('Cross-Origin-Resource-Policy', 'same-origin');
  if (COMPRESSIBLE.has(ext)) reply.header('Vary', 'Accept-Encoding');
  if (req.headers['if-none-match'] === etag) return reply.status(304).send();
  if (gzip) {
    const body = await gzipped(real, version);
    return reply.header('Content-Encoding', 'gzip').header('Content-Length', body.length).send(body);
  }
  return reply.header('Content-Length', info.size).send(createReadStream(real));
}
