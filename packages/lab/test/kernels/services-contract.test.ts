/**
 * Contract tests with `@jupyterlab/services` 7 as the client (it speaks the v1 binary
 * protocol), against the kernel and session routes with a real ipykernel.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KernelManager, KernelSpecManager, ServerConnection, SessionManager, type Kernel, type KernelMessage, type Session } from '@jupyterlab/services';
import { V1_PROTOCOL } from '../../src/kernels/ws-protocol.js';
import { RawClient, disposeServices, startKernelLab, type KernelLab } from './kernel-lab.js';

const T = { timeout: 90_000 };

/** Runs `code`; resolves with the reply status, the text/plain result and stdout. */
async function run(kernel: Kernel.IKernelConnection, code: string): Promise<{ status: string; result?: string; stdout: string; ename?: string }> {
  const future = kernel.requestExecute({ code });
  let result: string | undefined;
  let stdout = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'execute_result') result = (msg.content as { data: Record<string, string> }).data['text/plain'];
    if (msg.header.msg_type === 'stream') stdout += (msg.content as { text: string }).text;
  };
  const reply = await future.done;
  const content = reply.content as { status: string; ename?: string };
  return { status: content.status, result, stdout, ename: content.ename };
}

async function statusOf(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ServerConnection.ResponseError) return { status: err.response.status, message: err.message };
    throw err;
  }
  throw new Error('expected the request to fail');
}

describe('@jupyterlab/services against the kernel and session routes', () => {
  let lab: KernelLab;
  let kernels: KernelManager;
  let sessions: SessionManager;
  let specs: KernelSpecManager;
  let session: Session.ISessionConnection;

  before(async () => {
    lab = await startKernelLab();
    mkdirSync(join(lab.root, 'a'));
    kernels = new KernelManager({ serverSettings: lab.settings });
    sessions = new SessionManager({ serverSettings: lab.settings, kernelManager: kernels });
    specs = new KernelSpecManager({ serverSettings: lab.settings });
  });
  after(async () => {
    await disposeServices(sessions, kernels, specs);
    await lab.close();
  });

  it('lists the kernelspecs (python3 and ir) and serves their logos', T, async () => {
    await specs.ready;
    const all = specs.specs!;
    assert.equal(all.default, 'python3');
    assert.ok(all.kernelspecs.python3 && all.kernelspecs.ir);
    assert.equal(all.kernelspecs.ir!.language, 'R');
    const logo = all.kernelspecs.python3!.resources['logo-64x64'];
    assert.equal(logo, '/user/tester/kernelspecs/python3/logo-64x64.png');
    const res = await fetch(new URL(logo!, lab.url));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    for (const bad of ['python3/kernel.json', 'python3/..%2F..%2F..%2Fetc%2Fpasswd', 'python3/%2E%2E', 'nope/logo-64x64.png']) {
      assert.equal((await fetch(`${lab.url}kernelspecs/${bad}`)).status, 404, bad);
    }
    const one = await fetch(`${lab.url}api/kernelspecs/ir`);
    assert.equal(((await one.json()) as { spec: { display_name: string } }).spec.display_name, 'R');
    assert.equal((await fetch(`${lab.url}api/kernelspecs/nope`)).status, 404);
  });

  it('starts a session for a/b.ipynb: kernel in a/, 1+1 → 2 over v1, stream output', T, async () => {
    session = await sessions.startNew({ path: 'a/b.ipynb', type: 'notebook', name: 'b.ipynb', kernel: { name: 'python3' } });
    const kernel = session.kernel!;
    const out = await run(kernel, '1+1');
    assert.deepEqual([out.status, out.result], ['ok', '2']);
    assert.deepEqual(
      lab.sockets.map((s) => s.protocol),
      [V1_PROTOCOL],
      'services offered v1 and the server selected it',
    );
    const where = await run(kernel, 'import os\nprint(os.getcwd())\nprint(os.environ["JPY_SESSION_NAME"])');
    const realA = realpathSync(join(lab.root, 'a'));
    assert.equal(where.stdout, `${realA}\n${join(realA, 'b.ipynb')}\n`);
    const model = (await (await fetch(`${lab.url}api/sessions/${session.id}`)).json()) as Record<string, unknown>;
    assert.deepEqual(model.notebook, { path: 'a/b.ipynb', name: 'b.ipynb' });
    assert.equal((model.kernel as { connections: number }).connections, 1);
  });

  it('POST with the path of an existing session returns that session', T, async () => {
    const res = await fetch(`${lab.url}api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'a/b.ipynb', type: 'notebook', name: 'b.ipynb', kernel: { name: 'python3' } }),
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { id: string; kernel: { id: string } };
    assert.equal(body.id, session.id);
    assert.equal(body.kernel.id, session.kernel!.id);
    assert.equal(res.headers.get('location'), `/user/tester/api/sessions/${session.id}`);
  });

  it('interrupts a running cell', T, async () => {
    const kernel = session.kernel!;
    // Interrupt once the cell's own code runs (a SIGINT while ipykernel is still setting
    // up the execution can be swallowed, as it can in JupyterLab).
    const future = kernel.requestExecute({ code: 'import time\nprint("sleeping", flush=True)\ntime.sleep(120)' });
    await new Promise<void>((resolve) => {
      future.onIOPub = (msg) => {
        if (msg.header.msg_type === 'stream') resolve();
      };
    });
    await kernel.interrupt();
    const reply = await future.done;
    assert.equal((reply.content as { ename?: string }).ename, 'KeyboardInterrupt');
  });

  it('round-trips a comm message with binary buffers over v1', T, async () => {
    const kernel = session.kernel!;
    const setup = await run(
      kernel,
      `def _echo_target(comm, open_msg):\n    @comm.on_msg\n    def _recv(msg):\n        comm.send({'echo': msg['content']['data']}, buffers=[bytes(reversed(bytes(msg['buffers'][0])))])\nget_ipython().kernel.comm_manager.register_target('echo', _echo_target)`,
    );
    assert.equal(setup.status, 'ok');
    const comm = kernel.createComm('echo');
    const echoed = new Promise<KernelMessage.ICommMsgMsg>((resolve) => (comm.onMsg = (msg) => resolve(msg)));
    await comm.open({}).done;
    comm.send({ n: 7 }, undefined, [Uint8Array.from([1, 2, 3, 200])]);
    const msg = await echoed;
    assert.deepEqual((msg.content as { data: unknown }).data, { echo: { n: 7 } });
    const buf = msg.buffers![0] as DataView;
    assert.deepEqual([...new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)], [200, 3, 2, 1]);
  });

  it('restarts: the model comes back, old state is gone, execution works', T, async () => {
    const kernel = session.kernel!;
    await run(kernel, 'x = 5');
    await kernel.restart();
    const again = await run(kernel, "'x' in dir()");
    assert.deepEqual([again.status, again.result], ['ok', 'False']);
    const res = await fetch(`${lab.url}api/kernels/${kernel.id}/restart`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { id: string }).id, kernel.id);
  });

  it('PATCH moves the session and switching kernels shuts the old one down', T, async () => {
    const oldKernel = session.kernel!.id;
    await session.setPath('a/c.ipynb');
    await session.setName('c.ipynb');
    const moved = (await (await fetch(`${lab.url}api/sessions/${session.id}`)).json()) as { path: string; name: string };
    assert.deepEqual([moved.path, moved.name], ['a/c.ipynb', 'c.ipynb']);
    const next = await session.changeKernel({ name: 'python3' });
    assert.notEqual(next!.id, oldKernel);
    assert.equal((await run(next!, '3*3')).result, '9');
    const running = (await (await fetch(`${lab.url}api/kernels`)).json()) as { id: string }[];
    assert.deepEqual(running.map((k) => k.id), [next!.id]);
  });

  it('shutting the session down deletes it and its kernel', T, async () => {
    const kernelId = session.kernel!.id;
    await session.shutdown();
    assert.deepEqual(await (await fetch(`${lab.url}api/sessions`)).json(), []);
    assert.equal((await fetch(`${lab.url}api/kernels/${kernelId}`)).status, 404);
  });

  it('an unknown kernel name: 501 for sessions, 400 for kernels, both listing the kernels', T, async () => {
    const failed = await statusOf(sessions.startNew({ path: 'x.ipynb', type: 'notebook', name: 'x.ipynb', kernel: { name: 'nope' } }));
    assert.equal(failed.status, 501);
    assert.match(failed.message, /'nope' kernel is not available.*ir, python3/);
    const res = await fetch(`${lab.url}api/kernels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"nope"}' });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /Unknown kernel name 'nope'\. Available kernels: ir, python3/);
  });

  it('POST api/kernels starts a kernel in `path`; DELETE stops it', T, async () => {
    const res = await fetch(`${lab.url}api/kernels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"python3","path":"a"}' });
    assert.equal(res.status, 201);
    const model = (await res.json()) as { id: string; name: string; execution_state: string };
    assert.equal(res.headers.get('location'), `/user/tester/api/kernels/${model.id}`);
    assert.deepEqual([model.name, model.execution_state], ['python3', 'idle']);
    const client = await RawClient.connect(lab, model.id);
    assert.equal((await client.execute('import os\nprint(os.getcwd())')).stdout, `${realpathSync(join(lab.root, 'a'))}\n`);
    await client.close();
    assert.equal((await fetch(`${lab.url}api/kernels/${model.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${lab.url}api/kernels/${model.id}`)).status, 404);
  });

  it('answers 404 for unknown ids and 400 for bad input', T, async () => {
    const id = '11111111-2222-3333-4444-555555555555';
    const calls: [string, string, number][] = [
      ['GET', `api/kernels/${id}`, 404],
      ['DELETE', `api/kernels/${id}`, 404],
      ['POST', `api/kernels/${id}/interrupt`, 404],
      ['POST', `api/kernels/${id}/restart`, 404],
      ['GET', `api/sessions/${id}`, 404],
      ['PATCH', `api/sessions/${id}`, 404],
      ['DELETE', `api/sessions/${id}`, 404],
    ];
    for (const [method, path, status] of calls) {
      const res = await fetch(lab.url + path, { method, headers: { 'content-type': 'application/json' }, body: method === 'PATCH' ? '{"path":"p"}' : undefined });
      assert.equal(res.status, status, `${method} ${path}`);
    }
    const kernelGone = (await (await fetch(`${lab.url}api/kernels/${id}`)).json()) as { message: string };
    assert.equal(kernelGone.message, `Kernel does not exist: ${id}`);
    const post = (body: string) => fetch(`${lab.url}api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal((await post('')).status, 400);
    assert.equal((await post('{"type":"notebook"}')).status, 400);
    assert.equal((await post('{"path":"x.ipynb"}')).status, 400);
    const escaping = await post('{"path":"../../etc/x.ipynb","type":"notebook"}');
    assert.equal(escaping.status, 400);
    assert.match(((await escaping.json()) as { message: string }).message, /leaves the served directory/);
    assert.equal((await post('{"path":"x.ipynb","type":"notebook","kernel":{"id":"' + id + '"}}')).status, 400);
  });
});

describe('sessions across a lab-server restart', () => {
  it('keep pointing at the re-adopted kernel, whose state survives', T, async () => {
    const first = await startKernelLab();
    let second: KernelLab | undefined;
    const kernels = new KernelManager({ serverSettings: first.settings });
    const sessions = new SessionManager({ serverSettings: first.settings, kernelManager: kernels });
    try {
      const s = await sessions.startNew({ path: 'y.ipynb', type: 'notebook', name: 'y.ipynb' });
      assert.equal((await run(s.kernel!, 'v = 41')).status, 'ok');
      const before = { id: s.id, kernel: s.kernel!.id };
      await disposeServices(sessions, kernels);
      await first.close({ detach: true, keepDirs: true });

      second = await startKernelLab({ root: first.root, stateDir: first.stateDir });
      const kernels2 = new KernelManager({ serverSettings: second.settings });
      const sessions2 = new SessionManager({ serverSettings: second.settings, kernelManager: kernels2 });
      try {
        const model = await sessions2.findByPath('y.ipynb');
        assert.deepEqual({ id: model?.id, kernel: model?.kernel?.id }, before);
        const conn = sessions2.connectTo({ model: model! });
        assert.equal((await run(conn.kernel!, 'v + 1')).result, '42');
      } finally {
        await disposeServices(sessions2, kernels2);
      }
    } finally {
      await second?.close();
      if (!second) await first.close();
      rmSync(first.root, { recursive: true, force: true });
    }
  });
});

describe('a kernel that fails to start', () => {
  it('is a 500 carrying its error, for kernels and for sessions', T, async () => {
    const specs = mkdtempSync(join(tmpdir(), 'eucp-broken-spec-'));
    mkdirSync(join(specs, 'broken'));
    writeFileSync(
      join(specs, 'broken', 'kernel.json'),
      JSON.stringify({ argv: ['/usr/bin/python3', '-c', 'import sys; sys.exit(3)', '{connection_file}'], display_name: 'Broken', language: 'python' }),
    );
    const lab = await startKernelLab({ specPaths: [specs, '/usr/share/jupyter/kernels'] });
    try {
      const post = (path: string, body: unknown) =>
        fetch(lab.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const kernel = await post('api/kernels', { name: 'broken' });
      assert.equal(kernel.status, 500);
      assert.match(((await kernel.json()) as { message: string }).message, /Kernel 'broken' failed to start: .*exit code 3/);
      const session = await post('api/sessions', { path: 'b.ipynb', type: 'notebook', kernel: { name: 'broken' } });
      assert.equal(session.status, 500);
      assert.match(((await session.json()) as { message: string }).message, /exit code 3/);
      assert.deepEqual(await (await fetch(`${lab.url}api/sessions`)).json(), []);
    } finally {
      await lab.close();
      rmSync(specs, { recursive: true, force: true });
    }
  });
});
