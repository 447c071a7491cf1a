import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BASE, contentsApp, sampleNotebook, tempDir, type ContentsApp } from './helpers.js';

const C = `${BASE}api/contents`;
const json = (payload: unknown) => ({ payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });

describe('contents routes', () => {
  let tmp: ReturnType<typeof tempDir>;
  let root: string;
  let api: ContentsApp;
  before(async () => {
    tmp = tempDir();
    root = tmp.dir;
    mkdirSync(path.join(root, 'dir a'));
    writeFileSync(path.join(root, 'dir a/notes.txt'), 'hello\n');
    writeFileSync(path.join(root, 'nb.ipynb'), JSON.stringify(sampleNotebook()));
    api = await contentsApp(root);
  });
  after(async () => {
    await api.app.close();
    tmp.cleanup();
  });
  const inject = (method: string, url: string, extra: Record<string, unknown> = {}) =>
    api.app.inject({ method: method as 'GET', url, ...extra });

  it('GET lists the root (with and without slash, ignoring a bare cache-buster)', async () => {
    for (const url of [`${C}?1714641243123`, `${C}/?content=1&1714641243123`]) {
      const res = await inject('GET', url);
      assert.equal(res.statusCode, 200);
      const model = res.json();
      assert.deepEqual([model.name, model.path, model.type, model.format], ['', '', 'directory', 'json']);
      assert.deepEqual(model.content.map((c: { name: string }) => c.name), ['dir a', 'nb.ipynb']);
      for (const key of ['writable', 'created', 'last_modified', 'size', 'mimetype', 'hash', 'hash_algorithm']) assert.ok(key in model, key);
    }
  });

  it('GET a file or notebook honours type, format, content and hash; bad flags are 400', async () => {
    const res = await inject('GET', `${C}/dir%20a/notes.txt?format=text&hash=1&99`);
    assert.equal(res.statusCode, 200);
    assert.ok(res.headers['last-modified']);
    const model = res.json();
    assert.deepEqual([model.path, model.content, model.format, model.mimetype, model.hash_algorithm], ['dir a/notes.txt', 'hello\n', 'text', 'text/plain', 'sha256']);
    assert.equal((await inject('GET', `${C}/nb.ipynb?content=0`)).json().content, null);
    assert.equal((await inject('GET', `${C}/nb.ipynb`)).json().content.cells[1].source, 'print("hi")');
    assert.equal((await inject('GET', `${C}/nb.ipynb?type=file`)).json().format, 'text');
    assert.equal((await inject('GET', `${C}/dir%20a?type=file`)).json().reason, 'bad type');
    for (const q of ['format=xml', 'content=2', 'hash=yes']) assert.equal((await inject('GET', `${C}/nb.ipynb?${q}`)).statusCode, 400, q);
    const missing = await inject('GET', `${C}/missing.txt`);
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { message: 'No such file or directory: missing.txt', reason: null });
  });

  it('PUT creates (201 + Location) and saves (200); bodies may come as a typeless blob', async () => {
    const created = await inject('PUT', `${C}/dir%20a/new%20file.txt`, json({ type: 'file', format: 'text', content: 'v1' }));
    assert.equal(created.statusCode, 201);
    assert.equal(created.headers.location, `${C}/dir%20a/new%20file.txt`);
    assert.equal(created.json().content, null);
    const saved = await inject('PUT', `${C}/dir%20a/new%20file.txt`, { payload: Buffer.from(JSON.stringify({ type: 'file', format: 'text', content: 'v2' })) });
    assert.equal(saved.statusCode, 200);
    assert.equal(readFileSync(path.join(root, 'dir a/new file.txt'), 'utf8'), 'v2');
    const nb = await inject('PUT', `${C}/made.ipynb`, json({ type: 'notebook', format: 'json', content: sampleNotebook('1 + 1') }));
    assert.equal(nb.statusCode, 201);
    assert.equal(nb.json().type, 'notebook');
    assert.equal((await inject('PUT', `${C}/folder`, json({ type: 'directory' }))).statusCode, 201);
    assert.equal((await inject('PUT', `${C}/folder`)).statusCode, 201);
    assert.ok(readFileSync(path.join(root, 'folder/untitled'), 'utf8') === '');
    assert.equal((await inject('PUT', `${C}/made.ipynb`, json({ copy_from: 'nb.ipynb' }))).statusCode, 400);
    const noType = await inject('PUT', `${C}/made.ipynb`, json({ content: {} }));
    assert.deepEqual([noType.statusCode, noType.json().message], [400, 'No file type provided']);
    assert.equal((await inject('PUT', `${C}/x.txt`, { payload: 'not json', headers: { 'content-type': 'application/json' } })).statusCode, 400);
  });

  it('PUT uploads in chunks', async () => {
    const chunks = ['aaa', 'bbb', 'ccc'].map((s) => Buffer.from(s).toString('base64'));
    for (const [i, chunk] of [1, 2, -1].entries()) {
      const res = await inject('PUT', `${C}/upload.bin`, json({ type: 'file', format: 'base64', name: 'upload.bin', content: chunks[i], chunk }));
      assert.ok([200, 201].includes(res.statusCode));
    }
    assert.equal(readFileSync(path.join(root, 'upload.bin'), 'utf8'), 'aaabbbccc');
  });

  it('POST creates untitled items and copies (201 + Location); 400 on files, 404 on missing directories', async () => {
    mkdirSync(path.join(root, 'post'));
    const nb = await inject('POST', `${C}/post`, json({ type: 'notebook', path: 'post' }));
    assert.deepEqual([nb.statusCode, nb.json().path, nb.headers.location], [201, 'post/Untitled.ipynb', `${C}/post/Untitled.ipynb`]);
    assert.equal((await inject('POST', `${C}/post`, json({ type: 'file', ext: '.py' }))).json().name, 'untitled.py');
    assert.equal((await inject('POST', `${C}/post`, json({ type: 'directory' }))).json().name, 'Untitled Folder');
    assert.equal((await inject('POST', `${C}/post`)).json().name, 'untitled');
    const copy = await inject('POST', `${C}/post`, json({ copy_from: 'post/Untitled.ipynb' }));
    assert.deepEqual([copy.statusCode, copy.json().name], [201, 'Untitled-Copy1.ipynb']);
    const onFile = await inject('POST', `${C}/nb.ipynb`, json({ type: 'file' }));
    assert.deepEqual([onFile.statusCode, onFile.json().message], [400, 'Cannot POST to files, use PUT instead.']);
    assert.equal((await inject('POST', `${C}/nowhere`, json({ type: 'file' }))).statusCode, 404);
    assert.equal((await inject('POST', `${C}/post`, json({ type: 'bogus' }))).statusCode, 400);
  });

  it('PATCH renames (Location, sessions follow) and answers 409 for an existing target', async () => {
    writeFileSync(path.join(root, 'old.txt'), 'o');
    const res = await inject('PATCH', `${C}/old.txt`, json({ path: 'dir a/renamed.txt' }));
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.location, `${C}/dir%20a/renamed.txt`);
    assert.equal(res.json().path, 'dir a/renamed.txt');
    assert.deepEqual(api.renames, [['old.txt', 'dir a/renamed.txt']]);
    const conflict = await inject('PATCH', `${C}/dir%20a/renamed.txt`, json({ path: 'dir a/notes.txt' }));
    assert.deepEqual([conflict.statusCode, conflict.json().message], [409, 'File already exists: dir a/notes.txt']);
    assert.equal((await inject('PATCH', `${C}/dir%20a/renamed.txt`)).statusCode, 400);
    assert.equal((await inject('PATCH', `${C}/dir%20a/renamed.txt`, json({}))).statusCode, 400);
    assert.equal(api.renames.length, 1);
  });

  it('DELETE answers 204, also for non-empty directories', async () => {
    mkdirSync(path.join(root, 'gone/inner'), { recursive: true });
    writeFileSync(path.join(root, 'gone/inner/x'), 'x');
    const res = await inject('DELETE', `${C}/gone`);
    assert.deepEqual([res.statusCode, res.body], [204, '']);
    assert.equal((await inject('DELETE', `${C}/gone`)).statusCode, 404);
  });

  it('checkpoints: create 201 + Location, list, restore 204, delete 204; a folder named checkpoints stays reachable', async () => {
    writeFileSync(path.join(root, 'ck.txt'), 'v1');
    const created = await inject('POST', `${C}/ck.txt/checkpoints`);
    assert.equal(created.statusCode, 201);
    assert.equal(created.headers.location, `${C}/ck.txt/checkpoints/checkpoint`);
    assert.equal(created.json().id, 'checkpoint');
    assert.deepEqual((await inject('GET', `${C}/ck.txt/checkpoints?1`)).json(), [created.json()]);
    writeFileSync(path.join(root, 'ck.txt'), 'v2');
    assert.equal((await inject('POST', `${C}/ck.txt/checkpoints/checkpoint`)).statusCode, 204);
    assert.equal(readFileSync(path.join(root, 'ck.txt'), 'utf8'), 'v1');
    assert.equal((await inject('DELETE', `${C}/ck.txt/checkpoints/checkpoint`)).statusCode, 204);
    assert.deepEqual((await inject('GET', `${C}/ck.txt/checkpoints`)).json(), []);
    assert.equal((await inject('DELETE', `${C}/ck.txt/checkpoints/checkpoint`)).statusCode, 404);
    assert.equal((await inject('POST', `${C}/missing.txt/checkpoints`)).statusCode, 404);
    assert.equal((await inject('POST', `${C}/nb.ipynb/trust`)).statusCode, 201);
    assert.equal((await inject('PUT', `${C}/dir%20a/checkpoints`, json({ type: 'directory' }))).statusCode, 201);
    const folder = await inject('GET', `${C}/dir%20a/checkpoints`);
    assert.deepEqual([folder.statusCode, folder.json().type], [200, 'directory']);
  });

  it('files/ serves raw bytes sandboxed, as an attachment on ?download', async () => {
    writeFileSync(path.join(root, 'page.html'), '<script>alert(1)</script>');
    writeFileSync(path.join(root, 'ümlaut data.nc'), Buffer.from([0, 1, 2, 255]));
    const page = await inject('GET', `${BASE}files/page.html?_xsrf=abc&123`);
    assert.equal(page.statusCode, 200);
    assert.equal(page.body, '<script>alert(1)</script>');
    assert.equal(page.headers['content-type'], 'text/html');
    assert.equal(page.headers['content-security-policy'], 'sandbox');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['content-disposition'], undefined);
    const data = await inject('GET', `${BASE}files/%C3%BCmlaut%20data.nc?download=1`);
    assert.deepEqual(data.rawPayload, Buffer.from([0, 1, 2, 255]));
    assert.equal(data.headers['content-type'], 'application/x-netcdf');
    assert.equal(data.headers['content-disposition'], `attachment; filename="_mlaut data.nc"; filename*=UTF-8''%C3%BCmlaut%20data.nc`);
    assert.equal((await inject('GET', `${BASE}files/dir%20a/notes.txt`)).headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal((await inject('GET', `${BASE}files/nb.ipynb`)).headers['content-type'], 'application/x-ipynb+json');
    assert.equal((await inject('HEAD', `${BASE}files/page.html`)).statusCode, 200);
    writeFileSync(path.join(root, '.env'), 'TOKEN=1');
    assert.equal((await inject('GET', `${BASE}files/.env`)).statusCode, 404);
    assert.equal((await inject('GET', `${BASE}files/dir%20a`)).statusCode, 404);
    assert.equal((await inject('GET', `${BASE}files/nothing`)).statusCode, 404);
  });
});

describe('malformed notebooks', () => {
  let tmp: ReturnType<typeof tempDir>;
  let api: ContentsApp;
  before(async () => {
    tmp = tempDir();
    api = await contentsApp(tmp.dir);
  });
  after(async () => {
    await api.app.close();
    tmp.cleanup();
  });

  const cases: Array<[string, string, RegExp]> = [
    ['invalid JSON', '{\n "cells": [],\n "metadata": {}\n "nbformat": 4\n}\n', /not valid JSON: line 4, column 2: unexpected "\\"" \(expected ',' or '}'\)/],
    ['nbformat 3', '{"metadata": {}, "nbformat": 3, "nbformat_minor": 0, "worksheets": []}', /nbformat 3 notebooks are not supported: convert with `jupyter nbconvert --to notebook --nbformat 4`/],
    ['missing cells', '{"metadata": {}, "nbformat": 4, "nbformat_minor": 5}', /missing 'cells'/],
  ];

  for (const [name, text, problem] of cases) {
    it(`${name}: GET is 400 bad format, the file is never changed unless a valid notebook is PUT`, async () => {
      const file = path.join(tmp.dir, `${name.replace(/ /g, '-')}.ipynb`);
      const url = `${C}/${encodeURIComponent(path.basename(file))}`;
      writeFileSync(file, text);
      const res = await api.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().reason, 'bad format');
      assert.match(res.json().message, problem);
      assert.match(res.json().message, /The file was not changed/);
      assert.equal(readFileSync(file, 'utf8'), text);
      assert.equal((await api.app.inject({ method: 'GET', url: `${url}?content=0` })).statusCode, 200);

      const asText = await api.app.inject({ method: 'GET', url: `${url}?type=file&format=text` });
      assert.deepEqual([asText.statusCode, asText.json().content], [200, text]);

      const bad = sampleNotebook();
      delete (bad.cells as Array<Record<string, unknown>>)[1]!.source;
      const refused = await api.app.inject({ method: 'PUT', url, ...json({ type: 'notebook', format: 'json', content: bad }) });
      assert.equal(refused.statusCode, 400);
      assert.match(refused.json().message, /cell 2: missing 'source'.*The file on disk was not changed/);
      assert.equal(readFileSync(file, 'utf8'), text);
      for (const content of [null, 'text', [], { nbformat: 3 }]) {
        const r = await api.app.inject({ method: 'PUT', url, ...json({ type: 'notebook', format: 'json', content }) });
        assert.equal(r.statusCode, 400, JSON.stringify(content));
      }
      assert.equal(readFileSync(file, 'utf8'), text);

      const fixed = await api.app.inject({ method: 'PUT', url, ...json({ type: 'notebook', format: 'json', content: sampleNotebook() }) });
      assert.equal(fixed.statusCode, 200);
      assert.deepEqual((await api.app.inject({ method: 'GET', url })).json().content, sampleNotebook());
    });
  }
});
