import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../http/errors.js';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.eot': 'application/vnd.ms-fontobject',
  '.wasm': 'application/wasm',
};

/** File names carrying a content hash (`main.<20 hex>.js`, `<name>.<20 hex>.woff2`): never change. */
const HASHED = /\.[0-9a-f]{20}\.[a-z0-9]+$/;

/**
 * The absolute path of `rel` inside `root`, or null when `rel` could escape it: empty,
 * absolute, containing `.`/`..` segments, backslashes or NUL, or (after resolving
 * symbolic links) landing outside `root`. Also null when the file does not exist.
 */
export async function resolveInside(root: string, rel: string): Promise<string | null> {
  if (!rel || rel.startsWith('/') || /[\\\0]/.test(rel)) return null;
  const segments = rel.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  const base = path.resolve(root);
  const full = path.resolve(base, ...segments);
  if (!full.startsWith(base + path.sep)) return null;
  try {
    const [realBase, realFull] = await Promise.all([fs.realpath(base), fs.realpath(full)]);
    return realFull.startsWith(realBase + path.sep) ? realFull : null;
  } catch {
    return null;
  }
}

/** Which pre-compressed sibling (`.br`, `.gz`) of a file the client accepts, best first. */
function acceptedEncodings(header: string | string[] | undefined): Array<['br' | 'gzip', string]> {
  const accepted = new Set(
    String(header ?? '')
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, q]) => !q || !/^\s*q=0(\.0*)?\s*$/.test(q))
      .map(([name]) => name!.trim().toLowerCase()),
  );
  const out: Array<['br' | 'gzip', string]> = [];
  if (accepted.has('br')) out.push(['br', '.br']);
  if (accepted.has('gzip')) out.push(['gzip', '.gz']);
  return out;
}

/**
 * Sends the regular file `rel` under `root` (404 as Jupyter JSON when it is missing or
 * outside `root`), as its pre-compressed `.br`/`.gz` sibling when there is one and the
 * client accepts it. Content-hashed names are cached for a year; others are revalidated
 * with an ETag on every use.
 */
export async function sendFile(req: FastifyRequest, reply: FastifyReply, root: string, rel: string): Promise<FastifyReply> {
  const file = await resolveInside(root, rel);
  const stat = file ? await fs.stat(file).catch(() => null) : null;
  if (!file || !stat?.isFile()) throw notFound(`File ${rel}`);
  let body = file;
  let size = stat.size;
  let encoding: string | null = null;
  for (const [name, suffix] of acceptedEncodings(req.headers['accept-encoding'])) {
    const sibling = await fs.lstat(file + suffix).catch(() => null); // lstat: no links
    if (sibling?.isFile()) {
      [body, size, encoding] = [file + suffix, sibling.size, name];
      break;
    }
  }
  const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}${encoding ? `-${encoding}` : ''}"`;
  reply
    .header('content-type', CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream')
    .header('x-content-type-options', 'nosniff')
    .header('vary', 'Accept-Encoding')
    .header('etag', etag)
    .header('cache-control', HASHED.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (req.headers['if-none-match'] === etag) return reply.status(304).send();
  if (encoding) reply.header('content-encoding', encoding);
  reply.header('content-length', size);
  return reply.send(createReadStream(body));
}
