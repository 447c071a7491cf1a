/** FileSessionManager over an in-memory kernel manager, with real files. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { JupyterError } from '../../src/http/errors.js';
import { kernelCwd } from '../../src/kernels/routes.js';
import { FileSessionManager, SessionKernelError } from '../../src/sessions/manager.js';
import { FakeKernelManager } from '../kernels/fake-kernels.js';

const log = pino({ level: 'silent' });

describe('FileSessionManager', () => {
  let root: string;
  let stateDir: string;
  let kernels: FakeKernelManager;
  let sessions: FileSessionManager;
  let made: FileSessionManager[] = [];
  const make = (k = kernels) => {
    const m = new FileSessionManager({ stateDir, rootDir: root, kernels: k, log });
    made.push(m);
    return m;
  };
  const onDisk = () => JSON.parse(readFileSync(join(stateDir, 'sessions.json'), 'utf8')) as { sessions: { id: string; path: string; kernel_id: string }[] };

  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'eucp-sessions-')));
    stateDir = join(root, '.state');
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    kernels = new FakeKernelManager();
    sessions = make();
  });
  afterEach(async () => {
    for (const m of made) await m.flush();
    made = [];
    rmSync(root, { recursive: true, force: true });
  });

  it('creates a session with a kernel started in the directory of its path, persisted', async () => {
    const { session, created } = await sessions.create({ path: 'a/b/nb.ipynb', type: 'notebook', name: 'nb.ipynb' });
    assert.equal(created, true);
    const kernel = kernels.get(session.kernel.id)!;
    assert.equal(kernel.options.cwd, join(root, 'a', 'b'));
    assert.equal(kernel.options.env?.JPY_SESSION_NAME, join(root, 'a', 'b', 'nb.ipynb'));
    assert.deepEqual(onDisk().sessions.map((s) => [s.id, s.path, s.kernel_id]), [[session.id, 'a/b/nb.ipynb', kernel.id]]);
    assert.deepEqual(readdirSync(stateDir), ['sessions.json'], 'no temp files left behind');
  });

  it('JupyterLab’s temporary <dir>/<uuid> path starts the kernel in <dir>', async () => {
    const { session } = await sessions.create({ path: 'a/0b9e6c3e-uuid', type: 'notebook' });
    assert.equal(kernels.get(session.kernel.id)!.options.cwd, join(root, 'a'));
    const deep = await sessions.create({ path: 'missing/dir/x.ipynb', type: 'notebook' });
    assert.equal(kernels.get(deep.session.kernel.id)!.options.cwd, root);
  });

  it('returns the existing session for a path, also to concurrent creators', async () => {
    const [one, two] = await Promise.all([
      sessions.create({ path: 'nb.ipynb', type: 'notebook' }),
      sessions.create({ path: 'nb.ipynb', type: 'notebook' }),
    ]);
    assert.equal(one.session.id, two.session.id);
    assert.equal(kernels.started.length, 1);
    const again = await sessions.create({ path: 'nb.ipynb', type: 'notebook' });
    assert.deepEqual([again.session.id, again.created], [one.session.id, false]);
  });

  it('gives an existing session a new kernel when its kernel died', async () => {
    const { session } = await sessions.create({ path: 'nb.ipynb', type: 'notebook' });
    kernels.get(session.kernel.id)!.setState('dead');
    const again = await sessions.create({ path: 'nb.ipynb', type: 'notebook' });
    assert.equal(again.session.id, session.id);
    assert.notEqual(again.session.kernel.id, session.kernel.id);
    assert.deepEqual(kernels.shutdowns, [session.kernel.id], 'the dead kernel is cleaned up');
  });

  it('survives a restart: reloads sessions whose kernel was re-adopted, drops the others', async () => {
    const kept = await sessions.create({ path: 'keep.ipynb', type: 'notebook' });
    const lost = await sessions.create({ path: 'lost.ipynb', type: 'console' });
    await sessions.flush();
    const next = new FakeKernelManager();
    next.adopt(kernels.get(kept.session.kernel.id)!);
    const reloaded = make(next);
    await reloaded.load();
    assert.deepEqual(reloaded.list().map((s) => s.id), [kept.session.id]);
    assert.equal(reloaded.get(lost.session.id), undefined);
    await reloaded.flush();
    assert.deepEqual(onDisk().sessions.map((s) => s.id), [kept.session.id]);
  });

  it('starts empty when sessions.json is corrupt', async () => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'sessions.json'), '{"version":1,"sessions":[{"id":');
    await sessions.load();
    assert.deepEqual(sessions.list(), []);
  });

  it('drops sessions whose kernel was shut down elsewhere or died', async () => {
    const { session } = await sessions.create({ path: 'nb.ipynb', type: 'notebook' });
    await kernels.shutdown(session.kernel.id);
    assert.deepEqual(sessions.list(), []);
    assert.equal(sessions.forKernel(session.kernel.id), undefined);
    const dying = await sessions.create({ path: 'dying.ipynb', type: 'notebook' });
    kernels.get(dying.session.kernel.id)!.setState('dead');
    assert.equal(sessions.get(dying.session.id), undefined);
    await sessions.flush();
    assert.equal(kernels.get(dying.session.kernel.id), undefined, 'the dead kernel was cleaned up');
  });

  it('follows renames of files and of directories', async () => {
    const nb = await sessions.create({ path: 'a/b/nb.ipynb', type: 'notebook', name: 'nb.ipynb' });
    const other = await sessions.create({ path: 'ab.ipynb', type: 'notebook', name: 'ab.ipynb' });
    sessions.renamed('a/b/nb.ipynb', 'a/b/renamed.ipynb');
    assert.deepEqual([sessions.get(nb.session.id)!.path, sessions.get(nb.session.id)!.name], ['a/b/renamed.ipynb', 'renamed.ipynb']);
    sessions.renamed('a', 'z');
    assert.equal(sessions.get(nb.session.id)!.path, 'z/b/renamed.ipynb');
    assert.equal(sessions.get(other.session.id)!.path, 'ab.ipynb', 'a prefix of a name is not a directory');
    await sessions.flush();
    assert.ok(onDisk().sessions.some((s) => s.path === 'z/b/renamed.ipynb'));
  });

  it('PATCH: changes fields, attaches kernels by id, starts by name, shuts the old kernel unless shared', async () => {
    const nb = await sessions.create({ path: 'nb.ipynb', type: 'notebook' });
    const con = await sessions.create({ path: 'console-1', type: 'console', kernel: { id: nb.session.kernel.id } });
    assert.equal(con.session.kernel.id, nb.session.kernel.id);
    // The console moves to its own kernel: the notebook still uses the old one.
    const moved = await sessions.update(con.session.id, { kernel: { name: 'ir' } });
    assert.equal(kernels.get(moved.kernel.id)!.name, 'ir');
    assert.deepEqual(kernels.shutdowns, []);
    // The notebook moves too: now nobody uses the first kernel.
    await sessions.update(nb.session.id, { path: 'renamed.ipynb', kernel: { id: moved.kernel.id } });
    assert.deepEqual(kernels.shutdowns, [nb.session.kernel.id]);
    assert.equal(sessions.get(nb.session.id)!.path, 'renamed.ipynb');
    await assert.rejects(sessions.update(nb.session.id, { kernel: { id: 'nope' } }), (e: JupyterError) => e.status === 400);
    await assert.rejects(sessions.update('nope', { path: 'x' }), (e: JupyterError) => e.status === 404);
  });

  it('unknown kernelspec → 501 with short_message; a start failure → 500 with its message', async () => {
    await assert.rejects(
      sessions.create({ path: 'x.ipynb', type: 'notebook', kernel: { name: 'julia' } }),
      (e: SessionKernelError) => e.status === 501 && e.shortMessage === 'julia not found' && /Available kernels: ir, python3/.test(e.message),
    );
    const failing = make(new FakeKernelManager({ failStart: 'ipykernel is not installed' }));
    await assert.rejects(
      failing.create({ path: 'x.ipynb', type: 'notebook' }),
      (e: SessionKernelError) => e.status === 500 && /ipykernel is not installed/.test(e.message),
    );
  });

  it('DELETE shuts the kernel down; 410 when the kernel had gone already', async () => {
    const one = await sessions.create({ path: 'one.ipynb', type: 'notebook' });
    await sessions.remove(one.session.id);
    assert.deepEqual(kernels.shutdowns, [one.session.kernel.id]);
    const two = await sessions.create({ path: 'two.ipynb', type: 'notebook' });
    kernels.kernels.delete(two.session.kernel.id);
    await assert.rejects(sessions.remove(two.session.id), (e: JupyterError) => e.status === 410);
    await assert.rejects(sessions.remove(two.session.id), (e: JupyterError) => e.status === 404);
  });
});

describe('kernelCwd', () => {
  it('refuses `..`, never leaves the root through symlinks', async () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'eucp-cwd-')));
    const outside = realpathSync(mkdtempSync(join(tmpdir(), 'eucp-outside-')));
    try {
      symlinkSync(outside, join(root, 'escape'));
      mkdirSync(join(root, 'in'));
      symlinkSync(join(root, 'in'), join(root, 'inner-link'));
      await assert.rejects(kernelCwd({ rootDir: root }, 'a/../../x.ipynb'), (e: JupyterError) => e.status === 400);
      assert.equal(await kernelCwd({ rootDir: root }, 'escape/x.ipynb'), root);
      assert.equal(await kernelCwd({ rootDir: root }, 'inner-link/x.ipynb'), join(root, 'in'));
      assert.equal(await kernelCwd({ rootDir: root }, ''), root);
      assert.equal(await kernelCwd({ rootDir: root }, 'in'), join(root, 'in'));
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('uses the contents manager to resolve when there is one', async () => {
    const seen: string[] = [];
    const contents = {
      resolve: async (p: string) => {
        seen.push(p);
        throw new JupyterError(404, 'nope');
      },
    };
    assert.equal(await kernelCwd({ rootDir: '/srv/root', contents }, 'a/b/c.ipynb'), '/srv/root');
    assert.deepEqual(seen, ['a/b/c.ipynb', 'a/b', 'a']);
  });
});

