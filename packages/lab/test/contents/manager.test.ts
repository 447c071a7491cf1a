import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FileContentsManager } from '../../src/contents/manager.js';
import { JupyterError } from '../../src/http/errors.js';
import type { NotebookCell } from '../../src/contents/types.js';
import { sampleNotebook, tempDir, tempFilesUnder } from './helpers.js';

const status = (code: number, reason?: string) => (e: unknown) =>
  e instanceof JupyterError && e.status === code && (reason === undefined || e.reason === reason);

describe('FileContentsManager', () => {
  let tmp: ReturnType<typeof tempDir>;
  let root: string;
  let cm: FileContentsManager;
  before(() => {
    tmp = tempDir();
    root = path.join(tmp.dir, 'home');
    mkdirSync(root);
    cm = new FileContentsManager({ root });
  });
  after(() => tmp.cleanup());

  it('lists a directory: sorted, hidden, temp, broken, outside and special entries left out', async () => {
    mkdirSync(path.join(root, 'list/sub'), { recursive: true });
    writeFileSync(path.join(root, 'list/b.txt'), 'b');
    writeFileSync(path.join(root, 'list/a.ipynb'), JSON.stringify(sampleNotebook()));
    writeFileSync(path.join(root, 'list/.secret'), 's');
    writeFileSync(path.join(root, 'list/.~eucp-123.tmp'), 't');
    symlinkSync('/etc', path.join(root, 'list/etc-link'));
    symlinkSync('missing', path.join(root, 'list/broken'));
    symlinkSync('b.txt', path.join(root, 'list/c-link.txt'));
    execFileSync('mkfifo', [path.join(root, 'list/fifo')]);
    const model = await cm.get('list');
    assert.equal(model.type, 'directory');
    assert.equal(model.format, 'json');
    assert.equal(model.size, null);
    const children = model.content as Array<Record<string, unknown>>;
    assert.deepEqual(children.map((c) => [c.name, c.type, c.path]), [
      ['a.ipynb', 'notebook', 'list/a.ipynb'],
      ['b.txt', 'file', 'list/b.txt'],
      ['c-link.txt', 'file', 'list/c-link.txt'],
      ['sub', 'directory', 'list/sub'],
    ]);
    for (const c of children) {
      assert.equal(c.content, null);
      assert.equal(c.format, null);
      assert.match(c.last_modified as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
    assert.equal(children[1]!.mimetype, 'text/plain');
    assert.equal((await cm.get('list', { content: false })).content, null);
    const shown = await new FileContentsManager({ root, allowHidden: true }).get('list');
    assert.ok((shown.content as Array<{ name: string }>).some((c) => c.name === '.secret'));
    await assert.rejects(cm.get('list/.secret'), status(404));
    rmSync(path.join(root, 'list/.~eucp-123.tmp'));
  });

  it('reads files as text or base64 (76-character lines) with mimetypes and hashes', async () => {
    writeFileSync(path.join(root, 'hello.py'), '\ufeffprint("é")\n');
    const text = await cm.get('hello.py', { hash: true });
    assert.deepEqual([text.type, text.format, text.content, text.mimetype], ['file', 'text', '\ufeffprint("é")\n', 'text/x-python']);
    assert.equal(text.hash_algorithm, 'sha256');
    assert.equal(text.hash, execFileSync('sha256sum', [path.join(root, 'hello.py')], { encoding: 'utf8' }).split(' ')[0]);
    const bin = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 37) % 256));
    writeFileSync(path.join(root, 'data.bin'), bin);
    const b64 = await cm.get('data.bin');
    assert.deepEqual([b64.format, b64.mimetype, b64.size], ['base64', 'application/octet-stream', 100]);
    const lines = (b64.content as string).split('\n');
    assert.equal(lines[0]!.length, 76);
    assert.equal(lines.at(-1), '');
    assert.deepEqual(Buffer.from(b64.content as string, 'base64'), bin);
    await assert.rejects(cm.get('data.bin', { format: 'text' }), status(400, 'bad format'));
    assert.equal((await cm.get('hello.py', { format: 'base64' })).format, 'base64');
    await assert.rejects(cm.get('hello.py', { type: 'directory' }), status(400, 'bad type'));
    await assert.rejects(cm.get('list', { type: 'file' }), status(400, 'bad type'));
    await assert.rejects(cm.get('nope.txt'), status(404));
  });

  it('saves files, notebooks and directories atomically, keeping the mode of the file', async () => {
    const saved = await cm.save('notes.txt', { type: 'file', format: 'text', content: 'one\n' });
    assert.deepEqual([saved.name, saved.path, saved.type, saved.content], ['notes.txt', 'notes.txt', 'file', null]);
    chmodSync(path.join(root, 'notes.txt'), 0o640);
    await cm.save('notes.txt', { type: 'file', format: 'base64', content: Buffer.from('two\n').toString('base64') });
    assert.equal(readFileSync(path.join(root, 'notes.txt'), 'utf8'), 'two\n');
    assert.equal(statSync(path.join(root, 'notes.txt')).mode & 0o777, 0o640);
    await assert.rejects(cm.save('notes.txt', { type: 'file', format: 'base64', content: 'not base64!' }), status(400));
    await assert.rejects(cm.save('notes.txt', { type: 'file', content: 'x' }), status(400));
    await assert.rejects(cm.save('notes.txt', { type: 'file', format: 'text' }), status(400));
    await assert.rejects(cm.save('no/such/dir/x.txt', { type: 'file', format: 'text', content: '' }), status(404));
    await assert.rejects(cm.save('.hidden.txt', { type: 'file', format: 'text', content: '' }), status(400));

    await cm.save('nb.ipynb', { type: 'notebook', content: sampleNotebook() });
    const onDisk = readFileSync(path.join(root, 'nb.ipynb'), 'utf8');
    assert.match(onDisk, /^{\n "cells": \[\n  {\n   "cell_type": "markdown",/);
    assert.match(onDisk, /"source": \[\n    "# Title\\n",\n    "\\n",\n    "text"\n   \]/);
    assert.ok(onDisk.endsWith('}\n'));
    assert.deepEqual(await cm.listCheckpoints('nb.ipynb').then((c) => c.map((x) => x.id)), ['checkpoint']);
    const got = await cm.get('nb.ipynb');
    assert.deepEqual([got.type, got.format, got.mimetype], ['notebook', 'json', null]);
    assert.deepEqual(got.content, sampleNotebook());

    await cm.save('made', { type: 'directory' });
    await cm.save('made', { type: 'directory' });
    assert.ok(statSync(path.join(root, 'made')).isDirectory());
    await assert.rejects(cm.save('notes.txt', { type: 'directory' }), status(400));
    await cm.save('empty.ipynb', { type: 'notebook' });
    assert.deepEqual((await cm.get('empty.ipynb')).content, { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 });
    assert.deepEqual(tempFilesUnder(root), []);
  });

  it('names new items like Jupyter', async () => {
    mkdirSync(path.join(root, 'new'));
    const names = [];
    for (let i = 0; i < 2; i++) {
      names.push((await cm.newUntitled('new', { type: 'notebook' })).name);
      names.push((await cm.newUntitled('new', { type: 'file', ext: '.txt' })).name);
      names.push((await cm.newUntitled('new', { type: 'directory' })).name);
    }
    names.push((await cm.newUntitled('new', { type: 'file', ext: '.ipynb' })).name);
    assert.deepEqual(names, ['Untitled.ipynb', 'untitled.txt', 'Untitled Folder', 'Untitled1.ipynb', 'untitled1.txt', 'Untitled Folder 1', 'Untitled2.ipynb']);
    assert.deepEqual((await cm.get('new/Untitled1.ipynb')).content, { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 });
    await assert.rejects(cm.newUntitled('notes.txt', { type: 'file' }), status(400));
    await assert.rejects(cm.newUntitled('missing', { type: 'file' }), status(404));
  });

  it('copies with -CopyN names and refuses directories', async () => {
    mkdirSync(path.join(root, 'cp/other'), { recursive: true });
    writeFileSync(path.join(root, 'cp/run.ipynb'), JSON.stringify(sampleNotebook()));
    writeFileSync(path.join(root, 'cp/data.tar.gz'), 'gz');
    const copies = [
      (await cm.copy('cp/run.ipynb', 'cp')).path,
      (await cm.copy('cp/run.ipynb', 'cp')).path,
      (await cm.copy('cp/run-Copy1.ipynb', 'cp')).path,
      (await cm.copy('cp/data.tar.gz', 'cp')).path,
      (await cm.copy('cp/run.ipynb', 'cp/other')).path,
    ];
    assert.deepEqual(copies, ['cp/run-Copy1.ipynb', 'cp/run-Copy2.ipynb', 'cp/run-Copy3.ipynb', 'cp/data-Copy1.tar.gz', 'cp/other/run.ipynb']);
    assert.deepEqual(readFileSync(path.join(root, 'cp/run-Copy3.ipynb')), readFileSync(path.join(root, 'cp/run.ipynb')));
    await assert.rejects(cm.copy('cp/other', 'cp'), status(400));
    await assert.rejects(cm.copy('cp/none.txt', 'cp'), status(404));
  });

  it('renames (409 when the target exists) and moves the checkpoint along', async () => {
    await cm.save('mv.ipynb', { type: 'notebook', content: sampleNotebook() });
    writeFileSync(path.join(root, 'taken.txt'), 'x');
    await assert.rejects(cm.rename('mv.ipynb', 'taken.txt'), status(409));
    await assert.rejects(cm.rename('mv.ipynb', '.hidden.ipynb'), status(400));
    await assert.rejects(cm.rename('gone.ipynb', 'x.ipynb'), status(404));
    await assert.rejects(cm.rename('mv.ipynb', 'nodir/x.ipynb'), status(404));
    mkdirSync(path.join(root, 'dest'));
    const moved = await cm.rename('mv.ipynb', 'dest/moved.ipynb');
    assert.equal(moved.path, 'dest/moved.ipynb');
    assert.ok(!existsSync(path.join(root, 'mv.ipynb')));
    assert.ok(!existsSync(path.join(root, '.ipynb_checkpoints/mv-checkpoint.ipynb')));
    assert.ok(existsSync(path.join(root, 'dest/.ipynb_checkpoints/moved-checkpoint.ipynb')));
    await assert.rejects(cm.rename('dest', 'dest/inner'), status(400));
    assert.equal((await cm.rename('dest', 'Dest')).type, 'directory');
  });

  it('deletes files with their checkpoint and non-empty directories, never the root', async () => {
    mkdirSync(path.join(root, 'full/deep'), { recursive: true });
    writeFileSync(path.join(root, 'full/deep/f.txt'), 'x');
    await cm.delete('full');
    assert.ok(!existsSync(path.join(root, 'full')));
    await cm.save('del.ipynb', { type: 'notebook', content: sampleNotebook() });
    await cm.delete('del.ipynb');
    assert.ok(!existsSync(path.join(root, '.ipynb_checkpoints/del-checkpoint.ipynb')));
    mkdirSync(path.join(root, 'kept'));
    writeFileSync(path.join(root, 'kept/f.txt'), 'x');
    symlinkSync('kept', path.join(root, 'kept-link'));
    await cm.delete('kept-link');
    assert.ok(!existsSync(path.join(root, 'kept-link')));
    assert.equal(readFileSync(path.join(root, 'kept/f.txt'), 'utf8'), 'x');
    await assert.rejects(cm.delete(''), status(400));
    await assert.rejects(cm.delete('del.ipynb'), status(404));
    await assert.rejects(cm.delete('.ipynb_checkpoints'), status(400));
  });

  it('creates, lists, restores and deletes checkpoints', async () => {
    await cm.save('ck.txt', { type: 'file', format: 'text', content: 'v1' });
    assert.deepEqual(await cm.listCheckpoints('ck.txt'), []);
    const ck = await cm.createCheckpoint('ck.txt');
    assert.equal(ck.id, 'checkpoint');
    assert.deepEqual(await cm.listCheckpoints('ck.txt'), [ck]);
    assert.equal(readFileSync(path.join(root, '.ipynb_checkpoints/ck-checkpoint.txt'), 'utf8'), 'v1');
    await cm.save('ck.txt', { type: 'file', format: 'text', content: 'v2' });
    await cm.restoreCheckpoint('ck.txt', 'checkpoint');
    assert.equal(readFileSync(path.join(root, 'ck.txt'), 'utf8'), 'v1');
    await assert.rejects(cm.restoreCheckpoint('ck.txt', 'other'), status(404));
    await cm.deleteCheckpoint('ck.txt', 'checkpoint');
    assert.deepEqual(await cm.listCheckpoints('ck.txt'), []);
    await assert.rejects(cm.deleteCheckpoint('ck.txt', 'checkpoint'), status(404));
    await assert.rejects(cm.createCheckpoint('made'), status(400));
  });

  it('assembles chunked uploads and shows the file only when complete', async () => {
    const parts = ['first part,', 'second part,', 'end'].map((s) => Buffer.from(s).toString('base64'));
    const one = await cm.save('up.bin', { type: 'file', format: 'base64', content: parts[0], chunk: 1 });
    assert.equal(one.size, 11);
    await cm.save('up.bin', { type: 'file', format: 'base64', content: parts[1], chunk: 2 });
    assert.ok(!existsSync(path.join(root, 'up.bin')));
    const done = await cm.save('up.bin', { type: 'file', format: 'base64', content: parts[2], chunk: -1 });
    assert.equal(done.size, 26);
    assert.equal(readFileSync(path.join(root, 'up.bin'), 'utf8'), 'first part,second part,end');
    await assert.rejects(cm.save('up2.bin', { type: 'file', format: 'base64', content: parts[1], chunk: 2 }), status(400));
    await assert.rejects(cm.save('up.ipynb', { type: 'notebook', content: {}, chunk: 1 }), status(400));
    assert.deepEqual(tempFilesUnder(root), []);
  });

  it('updateNotebook serialises with saves and never writes an invalid notebook', async () => {
    await cm.save('live.ipynb', { type: 'notebook', content: sampleNotebook() });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        cm.updateNotebook('live.ipynb', (nb) => {
          const cell = nb.cells[1] as NotebookCell;
          cell.outputs!.push({ output_type: 'stream', name: 'stdout', text: `${i}\n` });
        }),
      ),
    );
    const cell = ((await cm.get('live.ipynb')).content as { cells: NotebookCell[] }).cells[1]!;
    assert.equal(cell.outputs!.length, 21);
    const before = readFileSync(path.join(root, 'live.ipynb'));
    await assert.rejects(cm.updateNotebook('live.ipynb', (nb) => void delete (nb.cells[0] as { source?: unknown }).source), status(400, 'bad format'));
    await assert.rejects(cm.updateNotebook('live.ipynb', (nb) => void (nb.metadata.big = 10n)), /cannot be stored in JSON/);
    await assert.rejects(cm.updateNotebook('live.ipynb', () => { throw new Error('mutator failed'); }), /mutator failed/);
    assert.deepEqual(readFileSync(path.join(root, 'live.ipynb')), before);
    writeFileSync(path.join(root, 'broken.ipynb'), '{"nbformat": 4');
    await assert.rejects(cm.updateNotebook('broken.ipynb', () => undefined), status(400, 'bad format'));
    assert.equal(readFileSync(path.join(root, 'broken.ipynb'), 'utf8'), '{"nbformat": 4');
    assert.deepEqual(tempFilesUnder(root), []);
  });

  it('resolve() gives the real path inside the root, and 404 for missing paths when asked', async () => {
    assert.equal(await cm.resolve(''), cm.root);
    assert.equal(await cm.resolve('list/c-link.txt'), path.join(cm.root, 'list/b.txt'));
    assert.equal(await cm.resolve('list/new.txt'), path.join(cm.root, 'list/new.txt'));
    await assert.rejects(cm.resolve('list/new.txt', { mustExist: true }), status(404));
  });

  /** Runs fixtures/save-notebook.ts in a child process, through `/bin/bash -c <prelude>`. */
  function saveInChild(prelude: string, dir: string, apiPath: string, bytes: number): string {
    const script = path.join(import.meta.dirname, 'fixtures/save-notebook.ts');
    const args = ['-c', `${prelude} "$0" --conditions=source --import tsx "$1" "$2" "$3" "$4"`, process.execPath, script, dir, apiPath, String(bytes)];
    return execFileSync('/bin/bash', args, { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '../../../..') });
  }

  it('leaves the old file and no temp file when a write fails midway (file size limit)', () => {
    const target = path.join(root, 'big.ipynb');
    writeFileSync(target, JSON.stringify(sampleNotebook('small')));
    const before = readFileSync(target);
    // `ulimit -f` makes the kernel refuse the write with EFBIG after 256 KiB of a 2 MiB file.
    const out = saveInChild('ulimit -f 256 && exec', root, 'big.ipynb', 2 * 1024 * 1024);
    assert.match(out, /^refused 507 big\.ipynb is larger than this server may write; nothing was changed\./);
    assert.deepEqual(readFileSync(target), before);
    assert.deepEqual(readdirSync(root).filter((n) => n.startsWith('.~')), []);
  });

  const notRoot = process.getuid?.() !== 0 && 'dropping root\'s capabilities needs root';
  it('without root\'s powers: a read-only file or directory answers 403 and stays as it was', { skip: notRoot }, () => {
    const home = path.join(tmp.dir, 'user-home');
    mkdirSync(path.join(home, 'ro'), { recursive: true });
    writeFileSync(path.join(home, 'ro/in-ro-dir.ipynb'), 'old 1');
    writeFileSync(path.join(home, 'locked.ipynb'), 'old 2');
    chmodSync(path.join(home, 'ro'), 0o555);
    chmodSync(path.join(home, 'locked.ipynb'), 0o444);
    // Root without any capability is held to the permission bits like an ordinary owner, and
    // can still reach the repository (which may sit under a 0700 directory) to run the script.
    const asNobody = 'exec setpriv --bounding-set=-all --inh-caps=-all --';
    assert.match(saveInChild(asNobody, home, 'ro/in-ro-dir.ipynb', 100), /^refused 403 Permission denied: ro\/in-ro-dir\.ipynb/);
    assert.match(saveInChild(asNobody, home, 'locked.ipynb', 100), /^refused 403 Permission denied: locked\.ipynb/);
    assert.match(saveInChild(asNobody, home, 'fresh.ipynb', 100), /^saved/);
    assert.equal(readFileSync(path.join(home, 'ro/in-ro-dir.ipynb'), 'utf8'), 'old 1');
    assert.equal(readFileSync(path.join(home, 'locked.ipynb'), 'utf8'), 'old 2');
    assert.deepEqual(tempFilesUnder(home), []);
  });
});
