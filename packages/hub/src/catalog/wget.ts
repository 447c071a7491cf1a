/**
 * `GET /esg-search/wget?<search parameters>`: ESGF's wget script for the files of a search
 * (the same parameters as `/esg-search/search`; `type` is File). The bash script downloads
 * every matching file the caller may read from this hub's file endpoint with `wget -c`
 * (resumable), into the file's DRS path below the current directory, and checks each against
 * the catalog's SHA-256. Files the caller may list but not read are left out and named in
 * comments with where to request access; files they may not list do not appear at all.
 *
 * The script never holds a credential: it sends `Authorization: token $EUCP_TOKEN` from the
 * environment of whoever runs it (through a private wgetrc, so the token is not in `ps`).
 */
import type { FastifyInstance } from 'fastify';
import { formatBytes } from '@eucp/core';
import type { HubContext } from '../context.js';
import type { EsgfIndexProvider } from './esgf-index.js';
import { badParam, parseEsgfSearch } from './esgf-query.js';
import { searchParamsOf, visibilityMask, type EsgfRouteOptions } from './esgf-routes.js';
import { DATA_FILE_PREFIX, dataReader, datasetPageUrl, entryOfDoc, publicBase } from './data-files.js';

/** Files in a script when `limit` is not given (ESGF's wget default). */
export const WGET_DEFAULT_LIMIT = 1000;

/** The heredoc marker of ESGF's scripts, kept so the data section looks familiar. */
const MARK = 'EOF--dataset.file.url.chksum_type.chksum';
const SAFE_REL = /^[A-Za-z0-9_][A-Za-z0-9._+/-]*$/;

/** A file the script downloads. */
export interface WgetFile {
  /** Where it is saved, relative to the working directory (its DRS path). */
  rel: string;
  url: string;
  /** Lower-case hex, or null when the catalog has none (then it is not verified). */
  sha256: string | null;
  size: number | null;
}

/** A file that matched but is not downloaded, and why. */
export interface WgetSkipped {
  rel: string;
  datasetId: string;
  reason: string;
}

/** What a script is made of. */
export interface WgetScriptInput {
  /** The search as a URL (shown in the header). */
  searchUrl: string;
  /** Where API tokens are created. */
  tokenUrl: string;
  generatedAt: Date;
  /** User name, or null when the script was asked for without credentials. */
  user: string | null;
  files: readonly WgetFile[];
  skipped: readonly WgetSkipped[];
  /** Files matching in all. */
  numFound: number;
  /** `offset` of the next script when the limit cut the list, else null. */
  nextOffset: number | null;
}

/** Printable one-line text for a comment. */
const comment = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?');

/** `wget-YYYYMMDDHHMMSS.sh` (UTC), the file name ESGF gives its scripts. */
export function wgetFileName(at: Date): string {
  return `wget-${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}.sh`;
}

/** The bash script (see the module comment). Pure. */
export function wgetScript(i: WgetScriptInput): string {
  const total = i.files.reduce((n, f) => n + (f.size ?? 0), 0);
  const lines = [
    '#!/usr/bin/env bash',
    '##############################################################################',
    '# EUCP Notebook: download script for the files of a catalog search',
    '# (in the manner of ESGF\'s wget scripts).',
    '#',
    `# Search:    ${comment(i.searchUrl)}`,
    `# Generated: ${i.generatedAt.toISOString()} for ${i.user === null ? 'an anonymous caller (open data only)' : comment(i.user)}`,
    `# Files:     ${i.files.length} to download (${formatBytes(total)}), ${i.skipped.length} left out (listed below)`,
    ...(i.nextOffset !== null ? [`# More files match (${i.numFound} in all): use offset=${i.nextOffset} in the search for the next script.`] : []),
    '#',
    '# Usage:',
    `#   export EUCP_TOKEN=<an API token of yours, from ${comment(i.tokenUrl)}>`,
    `#   bash ${wgetFileName(i.generatedAt)}`,
    '#',
    '# Each file is saved below the current directory under its path in the data cache,',
    '# resumed with wget -c when a download was interrupted, and checked against the',
    '# SHA-256 of the hub\'s catalog. Files already complete and correct are skipped, so',
    '# run the script again after a failure. The token is read from the environment when',
    '# the script runs; it is never written into this script.',
    '##############################################################################',
  ];
  if (i.skipped.length) {
    lines.push('#', '# Matching files this script does not download:');
    for (const s of i.skipped) lines.push(`#   ${comment(s.rel)}`, `#     (${comment(s.datasetId)}) ${comment(s.reason)}`);
    lines.push('##############################################################################');
  }
  lines.push(
    '',
    'set -u',
    'command -v wget >/dev/null 2>&1 || { echo "This script needs wget." >&2; exit 1; }',
    'sha256_of() {',
    '  if command -v sha256sum >/dev/null 2>&1; then sha256sum -- "$1" | cut -d" " -f1',
    '  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d" " -f1',
    '  else openssl dgst -sha256 -r "$1" | cut -d" " -f1; fi',
    '}',
    'wgetrc="$(mktemp)" || exit 1',
    'trap \'rm -f "$wgetrc"\' EXIT',
    'if [ -n "${EUCP_TOKEN:-}" ]; then',
    '  case "$EUCP_TOKEN" in *[!A-Za-z0-9._~+/=-]*) echo "EUCP_TOKEN holds characters no API token has." >&2; exit 1 ;; esac',
    '  printf "header = Authorization: token %s\\n" "$EUCP_TOKEN" >"$wgetrc"',
    'else',
    '  echo "EUCP_TOKEN is not set: only open data can be downloaded." >&2',
    'fi',
    'n_ok=0',
    'n_failed=0',
    'while IFS=$\'\\t\' read -r file url chksum_type chksum; do',
    '  [ -n "$file" ] || continue',
    '  [ "$chksum_type" = SHA256 ] || chksum=""',
    '  if [ -n "$chksum" ] && [ -f "$file" ] && [ "$(sha256_of "$file")" = "$chksum" ]; then',
    '    echo "Already downloaded and verified: $file"; n_ok=$((n_ok + 1)); continue',
    '  fi',
    '  dir="$(dirname -- "$file")"',
    '  mkdir -p -- "$dir" || { n_failed=$((n_failed + 1)); continue; }',
    '  echo "Downloading $file"',
    '  if ! wget --config="$wgetrc" -c --max-redirect=0 --tries=3 -nv -P "$dir" -- "$url" </dev/null; then',
    '    echo "FAILED to download $file (see the message of wget above)" >&2; n_failed=$((n_failed + 1)); continue',
    '  fi',
    '  if [ -z "$chksum" ]; then',
    '    echo "  $file: the catalog has no SHA-256 for it; not verified"; n_ok=$((n_ok + 1)); continue',
    '  fi',
    '  if [ "$(sha256_of "$file")" = "$chksum" ]; then',
    '    echo "  SHA-256 verified: $file"; n_ok=$((n_ok + 1))',
    '  else',
    '    echo "SHA-256 MISMATCH for $file: removed it; run the script again" >&2; rm -f -- "$file"; n_failed=$((n_failed + 1))',
    '  fi',
    `done <<'${MARK}'`,
    ...i.files.map((f) => [f.rel, f.url, f.sha256 ? 'SHA256' : '-', f.sha256 ?? '-'].join('\t')),
    MARK,
    `echo "Done: $n_ok of ${i.files.length} files downloaded and verified, $n_failed failed."`,
    '[ "$n_failed" -eq 0 ]',
    '',
  );
  return lines.join('\n');
}

/**
 * Registers `GET /esg-search/wget`. Parameters as `/esg-search/search` (ESGF-style 400
 * `SEARCH_INVALID_PARAMETER` when malformed), `type` File only, `limit` default
 * {@link WGET_DEFAULT_LIMIT}; `readable=true` leaves out what the caller may not read
 * without listing it. `opts.filter` hides what the caller may not list.
 */
export async function registerEsgfWget(app: FastifyInstance, ctx: HubContext, provider: EsgfIndexProvider, opts: EsgfRouteOptions = {}): Promise<void> {
  app.get('/esg-search/wget', async (req, reply) => {
    const params = searchParamsOf(req);
    const type = params.getAll('type');
    if (type.some((t) => t !== 'File')) throw badParam('type', `the wget script lists files: leave type out or use type=File (got "${type.join(',')}")`);
    params.set('type', 'File');
    if (!params.has('limit')) params.set('limit', String(WGET_DEFAULT_LIMIT));
    const search = parseEsgfSearch(params, ctx.now());
    const corpus = (await provider.current()).files;
    const mask = await visibilityMask(opts, req, 'File', corpus, search.readable ? 'read' : 'list');
    const found = corpus.index.search({
      where: search.where, mask, offset: search.offset, limit: search.limit,
      sort: search.sort ? { field: 'timestamp', descending: true } : undefined,
    });
    const { user, limited } = dataReader(req.auth);
    const reader = await ctx.access.reader(user);
    const base = publicBase(ctx.config, req);
    const files: WgetFile[] = [];
    const skipped: WgetSkipped[] = [];
    const seen = new Set<string>();
    for (const i of found.ids) {
      const e = entryOfDoc(corpus.doc(i));
      // Master and replica docs of one file are one file here.
      if (!e || seen.has(e.rel)) continue;
      seen.add(e.rel);
      if (!SAFE_REL.test(e.rel)) {
        skipped.push({ rel: e.rel, datasetId: e.datasetId, reason: 'its path has characters this script does not handle; download it from the catalog.' });
      } else if (reader.canRead(e.datasetId)) {
        const url = `${base}${DATA_FILE_PREFIX}${e.rel.split('/').map(encodeURIComponent).join('/')}`;
        files.push({ rel: e.rel, url, sha256: e.sha256, size: e.size });
      } else {
        const why = limited ? 'this credential may not read data as you (use a token with the inherit scope);' : user ? 'you may not read it;' : 'not open data (ask for the script logged in);';
        skipped.push({ rel: e.rel, datasetId: e.datasetId, reason: `${why} request access at ${datasetPageUrl(base, e.datasetId)}` });
      }
    }
    const at = new Date(ctx.now());
    const query = params.toString();
    const script = wgetScript({
      searchUrl: `${base}/esg-search/wget?${query}`, tokenUrl: `${base}/hub/token`, generatedAt: at, user: user?.name ?? null,
      files, skipped, numFound: found.numFound,
      nextOffset: search.offset + found.ids.length < found.numFound ? search.offset + found.ids.length : null,
    });
    reply.header('Cache-Control', 'no-store').header('Content-Disposition', `attachment; filename="${wgetFileName(at)}"`);
    return reply.type('text/x-shellscript; charset=utf-8').send(script);
  });
}
