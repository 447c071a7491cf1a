/**
 * `GET`/`HEAD /thredds/fileServer/esg_dataroot/<rel>`: the hub serves the data-cache files
 * its catalog indexed, at the HTTPServer URL of their File docs, under the same access
 * decision as search, the sandbox and `GET /api/access/check` (`ctx.access`; a file is
 * decided by its data set's instance_id):
 *
 * - not in the index, not safely openable (see data-files.ts), or a data set the caller may
 *   not even list ⇒ the same 404 (the same body and headers), so nothing hidden is revealed;
 * - listable but not readable ⇒ 401 `DATA_LOGIN_REQUIRED` for anonymous callers, 403
 *   `DATA_ACCESS_DENIED` for logged-in ones naming the groups that would grant it and the
 *   catalog page where access is requested (`groups`, `request_url`);
 * - readable ⇒ 200, or 206 for one `Range` (416 outside the file), with ETag/Last-Modified
 *   (304 on If-None-Match/If-Modified-Since, If-Range honoured) and `Accept-Ranges: bytes`.
 *   The file is streamed from an open descriptor; every GET that sends bytes is written to
 *   the access audit (action `read`, via `http`) before the bytes are sent.
 *
 * Credentials: the hub session cookie or an API token (`Authorization: token|bearer …`),
 * acting as its user when it holds `read:users` on them (see `dataReader`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '@eucp/core';
import type { HubContext } from '../context.js';
import { errorBody } from '../http/errors.js';
import { DATA_FILE_PREFIX, dataReader, datasetPageUrl, parseDataPath, publicBase, type DataFileEntry, type DataFileIndex, type OpenedDataFile } from './data-files.js';

/** A byte range to send, inclusive bounds. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The single range of a `Range` header for a file of `size` bytes: a range, `'unsatisfiable'`
 * (416), or null to ignore the header and send the whole file (absent, malformed, another
 * unit, or several ranges — RFC 9110 lets a server ignore those).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last) || last < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(last, size - 1) };
}

const notFoundBody = JSON.stringify(errorBody(new AppError('NOT_FOUND', 'No such data file.')));

function contentTypeOf(rel: string): string {
  return rel.endsWith('.nc') ? 'application/netcdf' : 'application/octet-stream';
}

/** Sends an error with the hub's JSON error body. */
function sendError(reply: FastifyReply, err: AppError): FastifyReply {
  return reply.status(err.status).type('application/json; charset=utf-8').header('Cache-Control', 'no-store').send(JSON.stringify(errorBody(err)));
}

/** True when `If-None-Match`/`If-Modified-Since` say the client's copy is current. */
function notModified(req: FastifyRequest, file: OpenedDataFile): boolean {
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string') return inm.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === file.etag);
  const ims = req.headers['if-modified-since'];
  if (typeof ims !== 'string') return false;
  const t = Date.parse(ims);
  return Number.isFinite(t) && Math.floor(file.mtimeMs / 1000) * 1000 <= t;
}

/** False when `If-Range` names another version of the file (then the whole file is sent). */
function ifRangeHolds(req: FastifyRequest, file: OpenedDataFile, lastModified: string): boolean {
  const v = req.headers['if-range'];
  if (typeof v !== 'string') return true;
  return v.trim() === file.etag || v.trim() === lastModified;
}

/**
 * Registers the file endpoint over `files` (the catalog's files and their safe opening).
 * Needs `ctx.access` and the auth plugin (registerIdentityRoutes) before it.
 */
export async function registerDataFileRoutes(app: FastifyInstance, ctx: HubContext, files: DataFileIndex): Promise<void> {
  const log = ctx.log.child({ component: 'data-files' });
  const notFound = (reply: FastifyReply): FastifyReply =>
    reply.status(404).type('application/json; charset=utf-8').header('Cache-Control', 'no-store').send(notFoundBody);

  /** Why a listable data set may not be read, as 401 or 403 with the way to access. */
  const refusal = async (req: FastifyRequest, entry: DataFileEntry, limited: boolean): Promise<AppError> => {
    const requestUrl = datasetPageUrl(publicBase(ctx.config, req), entry.datasetId);
    const auth = req.auth;
    if (!auth) {
      return new AppError('DATA_LOGIN_REQUIRED', `${entry.datasetId} is not open data: log in, or send an API token ("Authorization: token <token>"). Its catalog page: ${requestUrl}`,
        { dataset: entry.datasetId, request_url: requestUrl });
    }
    const user = { id: auth.user.id, name: auth.user.name };
    if (limited && (await ctx.access.reader(user)).canRead(entry.datasetId)) {
      return new AppError('DATA_ACCESS_DENIED', `This credential may not read data as ${auth.user.name}: use your browser session or a token with the inherit scope (read:users on yourself).`,
        { dataset: entry.datasetId, groups: [], request_url: requestUrl });
    }
    const check = await ctx.access.check(user, entry.datasetId);
    const groups = check.grantableBy.map((g) => ({ group: g.group, role: g.role, automatic_approval: g.automaticApproval, licence_id: g.licenceId, membership: g.membership }));
    const pending = check.grantableBy.filter((g) => g.membership === 'pending').map((g) => `"${g.group}"`);
    const names = [...new Set(check.grantableBy.map((g) => `"${g.group}"`))];
    const how = names.length === 0
      ? 'No access group you can join grants it; ask the hub administrators.'
      : `Membership of ${names.join(' or ')} grants it${pending.length ? ` (your request for ${pending.join(' and ')} is pending)` : ''}; request access at ${requestUrl}`;
    return new AppError('DATA_ACCESS_DENIED', `${auth.user.name} may not read ${entry.datasetId}. ${how}`, { dataset: entry.datasetId, groups, request_url: requestUrl });
  };

  app.route({
    method: ['GET', 'HEAD'],
    url: `${DATA_FILE_PREFIX}*`,
    handler: async (req, reply) => {
      const raw = req.raw.url ?? req.url;
      const pathPart = raw.split('?')[0]!;
      const rel = pathPart.startsWith(DATA_FILE_PREFIX) ? parseDataPath(pathPart.slice(DATA_FILE_PREFIX.length)) : null;
      const entry = rel === null ? undefined : files.lookup(rel);
      if (!entry) return notFound(reply);
      // Visibility by who the caller is (as search shows it); reading by whom their credential may act as.
      const identity = req.auth ? { id: req.auth.user.id, name: req.auth.user.name } : null;
      const { limited } = dataReader(req.auth);
      const reader = await ctx.access.reader(identity);
      if (!reader.canList(entry.datasetId)) return notFound(reply);
      const acting = limited ? await ctx.access.reader(null) : reader;
      if (!acting.canRead(entry.datasetId)) {
        const err = await refusal(req, entry, limited);
        if (err.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="EUCP Notebook data"');
        return sendError(reply, err);
      }
      const file = await files.open(entry.rel);
      if (!file) return notFound(reply);
      let streaming = false;
      try {
        const lastModified = new Date(file.mtimeMs).toUTCString();
        reply.header('Accept-Ranges', 'bytes').header('ETag', file.etag).header('Last-Modified', lastModified)
          .header('Cache-Control', 'private, no-cache').header('X-Content-Type-Options', 'nosniff');
        if (notModified(req, file)) return reply.status(304).send();
        const range = ifRangeHolds(req, file, lastModified) ? parseRange(req.headers.range, file.size) : null;
        if (range === 'unsatisfiable') {
          reply.header('Content-Range', `bytes */${file.size}`);
          return sendError(reply, new AppError('RANGE_NOT_SATISFIABLE', `The file has ${file.size} bytes.`, { size: file.size }));
        }
        const { start, end } = range ?? { start: 0, end: file.size - 1 };
        const length = end - start + 1;
        reply.status(range ? 206 : 200).type(contentTypeOf(entry.rel)).header('Content-Length', String(length));
        if (range) reply.header('Content-Range', `bytes ${start}-${end}/${file.size}`);
        if (req.method === 'HEAD') return reply.send();
        await ctx.access.recordFileRead(identity, { resource: entry.datasetId, file: entry.rel, bytes: length, range: range ? `${start}-${end}` : null, via: 'http' });
        log.debug({ user: identity?.name ?? null, file: entry.rel, bytes: length }, 'data file read');
        if (length === 0) return reply.send(Buffer.alloc(0));
        streaming = true;
        // Read in the thread pool chunk by chunk: a large file never blocks the event loop or fills memory.
        return reply.send(file.handle.createReadStream({ start, end, highWaterMark: 1 << 20 }));
      } finally {
        if (!streaming) await file.handle.close();
      }
    },
  });
}
