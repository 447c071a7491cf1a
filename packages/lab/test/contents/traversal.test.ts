/**
 * Paths that leave the root are refused with 404 by every operation and every route, and
 * nothing outside the root is read or touched. Write attempts aim at a temp directory
 * outside the root (never at /etc: a bug must not be able to damage the machine).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FileContentsManager } from '../../src/contents/manager.js';
import { JupyterError } from '../../src/http/errors.js';
import { BASE, contentsApp, tempDir, type ContentsApp } from './helpers.js';

/** Every file and directory under `dir` with its bytes, to prove nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    const abs = path.join(dir, rel);
    out[rel] = statSync(abs).isDirectory() ? '<dir>' : readFileSync(abs, 'base64');
  }
  return out;
}

function raw(port: number, method: string, rawPath: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: rawPath, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('path traversal', () => {
  let tmp: ReturnType<typeof tempDir>;
  let root: string;
  let outside: string;
  let cm: FileContentsManager;
  let before_: Record<string, string>;

  before(() => {
    tmp = tempDir();
    root = path.join(tmp.dir, 'home');
    outside = path.join(tmp.dir, 'outside');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    mkdirSync(path.join(root, 'a'));
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'SECRET');
    writeFileSync(path.join(outside, 'secret.ipynb'), '{"SECRET": 1}');
    writeFileSync(path.join(root, 'inside.txt'), 'inside');
    symlinkSync('/etc', path.join(root, 'etc-link'));
    symlinkSync(outside, path.join(root, 'out-link'));
    symlinkSync(path.join(root, 'sub/chain2'), path.join(root, 'chain1'));
    symlinkSync('../../outside', path.join(root, 'sub/chain2'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'file-link'));
    symlinkSync(path.join(outside, 'not-yet.txt'), path.join(root, 'dangling-out'));
    symlinkSync('inside.txt', path.join(root, 'ok-link'));
    cm = new FileContentsManager({ root });
    before_ = snapshot(outside);
  });
  after(() => tmp.cleanup());

  const escaping = (): string[] => [
    '../x', '../outside/secret.txt', 'a/../../outside/secret.txt', '/etc/passwd', path.join(outside, 'secret.txt'),
    'etc-link', 'etc-link/passwd', 'out-link', 'out-link/secret.txt', 'out-link/new.txt', 'chain1', 'chain1/secret.txt',
    'chain1/new.txt', 'sub/chain2/new.txt', 'file-link', 'dangling-out', 'x\0y', './inside.txt',
  ];
  const is404 = (e: unknown): boolean => e instanceof JupyterError && e.status === 404 && !/SECRET|root:/.test(e.message);

  it('every manager operation answers 404 and touches nothing outside', async () => {
    for (const p of escaping()) {
      const ops: Array<[string, () => Promise<unknown>]> = [
        ['get', () => cm.get(p)],
        ['get no content', () => cm.get(p, { content: false })],
        ['resolve', () => cm.resolve(p)],
        ['save file', () => cm.save(p, { type: 'file', format: 'text', content: 'PWNED' })],
        ['save notebook', () => cm.save(p, { type: 'notebook' })],
        ['save dir', () => cm.save(p, { type: 'directory' })],
        ['upload', () => cm.save(p, { type: 'file', format: 'text', content: 'PWNED', chunk: 1 })],
        ['new untitled', () => cm.newUntitled(p, { type: 'file' })],
        ['new folder', () => cm.newUntitled(p, { type: 'directory' })],
        ['copy from', () => cm.copy(p, '')],
        ['copy into', () => cm.copy('inside.txt', p)],
        ['rename from', () => cm.rename(p, 'moved.txt')],
        ['rename to', () => cm.rename('inside.txt', p)],
        ['delete', () => cm.delete(p)],
        ['list checkpoints', () => cm.listCheckpoints(p)],
        ['create checkpoint', () => cm.createCheckpoint(p)],
        ['restore checkpoint', () => cm.restoreCheckpoint(p, 'checkpoint')],
        ['update notebook', () => cm.updateNotebook(p, () => undefined)],
      ];
      for (const [name, op] of ops) {
        await assert.rejects(op(), is404, `${name} ${JSON.stringify(p)}`);
      }
    }
    assert.deepEqual(snapshot(outside), before_);
    assert.equal(readFileSync(path.join(root, 'inside.txt'), 'utf8'), 'inside');
    assert.equal((await cm.get('ok-link')).content, 'inside');
  });

  describe('over HTTP (raw request paths, no client-side normalisation)', () => {
    let api: ContentsApp;
    let port: number;
    before(async () => {
      api = await contentsApp(root);
      await api.app.listen({ host: '127.0.0.1', port: 0 });
      port = (api.app.server.address() as AddressInfo).port;
    });
    after(() => api.app.close());

    const encodedOutside = (): string => encodeURIComponent(path.join(outside, 'secret.txt'));
    const readPaths = (): string[] => [
      '../outside/secret.txt', '%2e%2e/outside/secret.txt', '%2E%2E%2Foutside%2Fsecret.txt', 'a/../../outside/secret.txt',
      'a/%2e%2e/%2e%2e/outside/secret.txt', '..%2f..%2fetc%2fpasswd', '%2Fetc%2Fpasswd', encodedOutside(), 'etc-link/passwd',
      'etc-link', 'out-link/secret.txt', 'chain1/secret.txt', 'file-link', 'x%00y', '%252e%252e/outside/secret.txt',
    ];
    const writePaths = (): string[] => [
      '../outside/new.txt', '%2e%2e/outside/new.txt', 'a/../../outside/new.txt', encodedOutside(), 'out-link/new.txt',
      'chain1/new.txt', 'sub/chain2/new.txt', 'file-link', 'dangling-out', 'out-link',
    ];

    it('GET api/contents, files/ and checkpoints answer 404 without leaking', async () => {
      for (const p of readPaths()) {
        for (const url of [`${BASE}api/contents/${p}`, `${BASE}api/contents/${p}?type=file&format=text`, `${BASE}files/${p}`, `${BASE}files/${p}?download=1`, `${BASE}api/contents/${p}/checkpoints`]) {
          const res = await raw(port, 'GET', url);
          assert.equal(res.status, 404, `GET ${url} → ${res.status} ${res.body}`);
          assert.match(res.body, /"message":"No such (file or )?directory/);
          assert.doesNotMatch(res.body, /SECRET|root:/);
        }
      }
    });

    it('PUT, POST, PATCH and DELETE answer 404 and nothing outside changes', async () => {
      const file = JSON.stringify({ type: 'file', format: 'text', content: 'PWNED' });
      for (const p of writePaths()) {
        const url = `${BASE}api/contents/${p}`;
        const attempts: Array<[string, string, string | undefined]> = [
          ['PUT', url, file],
          ['PUT', url, JSON.stringify({ type: 'directory' })],
          ['PUT', url, JSON.stringify({ type: 'file', format: 'text', content: 'PWNED', chunk: 1 })],
          ['POST', url, JSON.stringify({ type: 'file', ext: '.txt' })],
          ['POST', `${BASE}api/contents`, JSON.stringify({ copy_from: decodeURIComponent(p) })],
          ['POST', url, JSON.stringify({ copy_from: 'inside.txt' })],
          ['PATCH', url, JSON.stringify({ path: 'moved.txt' })],
          ['PATCH', `${BASE}api/contents/inside.txt`, JSON.stringify({ path: decodeURIComponent(p) })],
          ['DELETE', url, undefined],
          ['POST', `${url}/checkpoints`, undefined],
        ];
        for (const [method, u, body] of attempts) {
          const res = await raw(port, method, u, body);
          assert.equal(res.status, 404, `${method} ${u} ${body ?? ''} → ${res.status} ${res.body}`);
          assert.match(res.body, /"message":"No such (file or )?directory/);
        }
      }
      assert.deepEqual(snapshot(outside), before_);
      assert.equal(readFileSync(path.join(root, 'inside.txt'), 'utf8'), 'inside');
      assert.deepEqual(api.renames, []);
    });
  });
});
