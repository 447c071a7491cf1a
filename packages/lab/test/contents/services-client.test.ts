/** JupyterLab's own contents client (`@jupyterlab/services`) accepts every model and status we send. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { ContentsManager, ServerConnection } from '@jupyterlab/services';
import { BASE, contentsApp, tempDir, type ContentsApp } from './helpers.js';

describe('@jupyterlab/services ContentsManager against our routes', () => {
  let tmp: ReturnType<typeof tempDir>;
  let api: ContentsApp;
  let cm: ContentsManager;
  before(async () => {
    tmp = tempDir();
    api = await contentsApp(tmp.dir);
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (api.app.server.address() as AddressInfo).port;
    const serverSettings = ServerConnection.makeSettings({ baseUrl: `http://127.0.0.1:${port}${BASE}`, wsUrl: `ws://127.0.0.1:${port}${BASE}` });
    cm = new ContentsManager({ serverSettings });
  });
  after(async () => {
    cm.dispose();
    await api.app.close();
    tmp.cleanup();
  });

  it('creates, reads, saves, copies, renames, checkpoints and deletes', async () => {
    const created = await cm.newUntitled({ type: 'notebook' });
    assert.equal(created.path, 'Untitled.ipynb');
    const got = await cm.get(created.path);
    const content = { ...(got.content as object), cells: [{ id: 'c1', cell_type: 'code', source: 'x = 1', metadata: {}, outputs: [], execution_count: null }] };
    await cm.save(created.path, { type: 'notebook', format: 'json', content });
    assert.deepEqual((await cm.get(created.path)).content, content);
    const copy = await cm.copy(created.path, '');
    assert.equal(copy.path, 'Untitled-Copy1.ipynb');
    assert.equal((await cm.rename(copy.path, 'renamed.ipynb')).path, 'renamed.ipynb');
    const checkpoint = await cm.createCheckpoint('renamed.ipynb');
    assert.deepEqual(await cm.listCheckpoints('renamed.ipynb'), [checkpoint]);
    await cm.restoreCheckpoint('renamed.ipynb', checkpoint.id);
    await cm.deleteCheckpoint('renamed.ipynb', checkpoint.id);
    const text = await cm.newUntitled({ type: 'file', ext: '.txt' });
    assert.equal((await cm.get(text.path, { type: 'file', format: 'text', content: true })).content, '');
    assert.deepEqual(((await cm.get('')).content as Array<{ name: string }>).map((c) => c.name), ['Untitled.ipynb', 'renamed.ipynb', 'untitled.txt']);
    await cm.delete('renamed.ipynb');
    await assert.rejects(cm.get('renamed.ipynb'), /No such file or directory: renamed\.ipynb/);
  });
});
