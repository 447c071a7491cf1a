/** Shared set-up of the contents tests: a temp root, and a minimal app with the contents routes. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../src/http/errors.js';
import { contentsRoutes } from '../../src/contents/routes.js';
import { FileContentsManager } from '../../src/contents/manager.js';
import type { LabContext } from '../../src/context.js';

export const PYTHON = '/usr/bin/python3';
export const BASE = '/user/alice/';

/** A fresh temp directory; `cleanup()` removes it. */
export function tempDir(prefix = 'eucp-contents-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ContentsApp {
  app: FastifyInstance;
  manager: FileContentsManager;
  /** Calls of `ctx.sessions.renamed`. */
  renames: Array<[string, string]>;
}

/**
 * The contents routes under {@link BASE} on a bare fastify app with the lab's error
 * handler and body parsers (as in app.ts). Not listening; call `app.listen` for raw HTTP.
 */
export async function contentsApp(root: string, opts: { allowHidden?: boolean } = {}): Promise<ContentsApp> {
  const manager = new FileContentsManager({ root, allowHidden: opts.allowHidden });
  const renames: Array<[string, string]> = [];
  const ctx = {
    config: { baseUrl: BASE, rootDir: root, stateDir: root, uiDir: null, defaultUrl: 'lab' },
    contents: manager,
    sessions: { renamed: (a: string, b: string) => void renames.push([a, b]) },
  } as unknown as LabContext;
  const app = fastify({ routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: true } });
  installErrorHandler(app);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Request body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  await app.register(async (scoped) => contentsRoutes(scoped, ctx), { prefix: BASE.replace(/\/$/, '') });
  await app.ready();
  return { app, manager, renames };
}

/** Names of leftover temp files (`.~eucp-…`) anywhere under `dir`. */
export function tempFilesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => path.basename(p).startsWith('.~eucp-'));
}

/** A small valid notebook in the read form. */
export function sampleNotebook(source = 'print("hi")'): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      { id: 'a1', cell_type: 'markdown', metadata: {}, source: '# Title\n\ntext' },
      {
        id: 'b2',
        cell_type: 'code',
        metadata: {},
        source,
        execution_count: 1,
        outputs: [{ output_type: 'stream', name: 'stdout', text: 'hi\n' }],
      },
    ],
  };
}
