/**
 * The kernel WebSocket against a real ipykernel: the JSON form with a raw `ws` client,
 * per-session routing of replies, reconnect replay, death, comms with binary buffers.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { KernelManager } from '@jupyterlab/services';
import { RawClient, disposeServices, startKernelLab, type KernelLab } from './kernel-lab.js';

const T = { timeout: 90_000 };

/** Python that registers comm target `echo`: it answers each message with its data and the first buffer reversed. */
const ECHO_TARGET = `
def _echo_target(comm, open_msg):
    @comm.on_msg
    def _recv(msg):
        comm.send({'echo': msg['content']['data']}, buffers=[bytes(reversed(bytes(msg['buffers'][0])))])
get_ipython().kernel.comm_manager.register_target('echo', _echo_target)
`;

async function startKernel(lab: KernelLab): Promise<string> {
  const res = await fetch(`${lab.url}api/kernels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

async function kernelModel(lab: KernelLab, id: string): Promise<{ connections: number; execution_state: string }> {
  return (await fetch(`${lab.url}api/kernels/${id}`)).json() as Promise<{ connections: number; execution_state: string }>;
}

describe('kernel websocket (JSON form, real ipykernel)', () => {
  let lab: KernelLab;
  let kernelId: string;
  before(async () => {
    lab = await startKernelLab();
    kernelId = await startKernel(lab);
  });
  after(() => lab.close());

  it('selects no subprotocol when v1 is not offered and speaks JSON text frames', T, async () => {
    const c = await RawClient.connect(lab, kernelId);
    try {
      assert.equal(c.ws.protocol, '');
      const res = await c.execute('print("hello")\n1+1', { cellId: 'cell-1' });
      assert.equal(res.reply.content.status, 'ok');
      assert.equal(res.result, '2');
      assert.equal(res.stdout, 'hello\n');
      assert.ok(c.received.every((m) => !m.binary), 'no buffers, so only text frames');
      assert.ok(c.received.every((m) => typeof m.header.date === 'string'));
      const observed = lab.observed.find((m) => m.header.msg_id === res.msgId);
      assert.equal(observed?.metadata.cellId, 'cell-1', 'the execution service saw the request with its cellId');
      assert.equal((await kernelModel(lab, kernelId)).connections, 1);
    } finally {
      await c.close();
    }
  });

  it('drops malformed frames without closing the socket', T, async () => {
    const c = await RawClient.connect(lab, kernelId);
    try {
      c.ws.send('{not json');
      c.ws.send(JSON.stringify({ channel: 'shell', header: { msg_type: 'execute_request' }, content: {} }));
      c.ws.send(Buffer.from([0, 0, 0, 9, 1, 2]), { binary: true });
      const id = c.send('kernel_info_request', {});
      const reply = await c.reply(id);
      assert.equal(reply.header.msg_type, 'kernel_info_reply');
      assert.equal(c.ws.readyState, WebSocket.OPEN);
    } finally {
      await c.close();
    }
  });

  it('round-trips comm messages with binary buffers in the legacy binary frame', T, async () => {
    const c = await RawClient.connect(lab, kernelId);
    try {
      assert.equal((await c.execute(ECHO_TARGET)).reply.content.status, 'ok');
      c.send('comm_open', { comm_id: 'comm-json', target_name: 'echo', data: {} });
      c.send('comm_msg', { comm_id: 'comm-json', data: { n: 1 } }, { buffers: [Uint8Array.from([1, 2, 3, 250])] });
      const echo = await c.next((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === 'comm-json');
      assert.deepEqual((echo.content.data as { echo: unknown }).echo, { n: 1 });
      assert.deepEqual(echo.buffers.map((b) => [...b]), [[250, 3, 2, 1]]);
      assert.equal((echo as { binary?: boolean }).binary, true);
    } finally {
      await c.close();
    }
  });

  it('sends replies only to the requesting client, IOPub to every client', T, async () => {
    const a = await RawClient.connect(lab, kernelId);
    const b = await RawClient.connect(lab, kernelId);
    try {
      assert.equal((await kernelModel(lab, kernelId)).connections, 2);
      const res = await a.execute('6*7');
      assert.equal(res.result, '42');
      // B sees A's outputs on IOPub...
      await b.idle(res.msgId);
      assert.ok(b.about(res.msgId).some((m) => m.header.msg_type === 'execute_result'));
      // ...and, once its own later reply is in, still no reply of A's request.
      const own = b.send('kernel_info_request', {});
      await b.reply(own);
      assert.deepEqual(b.about(res.msgId).filter((m) => m.channel !== 'iopub'), []);
      assert.deepEqual(a.about(own).filter((m) => m.channel !== 'iopub'), []);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('replays what a client missed when it reconnects with the same session_id', T, async () => {
    const flag = join(lab.root, 'go-on');
    const a = await RawClient.connect(lab, kernelId, 'returning-client');
    const watcher = await RawClient.connect(lab, kernelId);
    const code = `import os, time\nwhile not os.path.exists(${JSON.stringify(flag)}): time.sleep(0.02)\nprint("resumed")\n6*7`;
    const msgId = a.send('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    await a.next((m) => m.header.msg_type === 'execute_input' && m.parent_header.msg_id === msgId);
    await a.close();
    writeFileSync(flag, '');
    // Another client sees the whole run finish while session 'returning-client' is away.
    await watcher.idle(msgId);
    const back = await RawClient.connect(lab, kernelId, 'returning-client');
    try {
      const reply = await back.reply(msgId);
      assert.equal(reply.content.status, 'ok');
      await back.idle(msgId);
      const kinds = back.about(msgId).map((m) => m.header.msg_type);
      assert.deepEqual(kinds.filter((k) => k === 'stream' || k === 'execute_result'), ['stream', 'execute_result'], `got ${kinds.join(',')}`);
      const stream = back.about(msgId).find((m) => m.header.msg_type === 'stream');
      assert.equal(stream?.content.text, 'resumed\n');
    } finally {
      await back.close();
      await watcher.close();
    }
  });

  it('refuses an unknown kernel with 404 before the upgrade', T, async () => {
    await assert.rejects(RawClient.connect(lab, '00000000-0000-0000-0000-000000000000'), /HTTP 404/);
  });
});

describe('kernel websocket when the kernel dies', () => {
  it('tells every client `dead` and closes the sockets', T, async () => {
    const lab = await startKernelLab();
    const manager = new KernelManager({ serverSettings: lab.settings });
    try {
      const id = await startKernel(lab);
      const a = await RawClient.connect(lab, id);
      const b = await RawClient.connect(lab, id);
      const jlab = manager.connectTo({ model: { id, name: 'python3' } });
      const jlabDead = new Promise<void>((resolve) => jlab.statusChanged.connect((_k, status) => status === 'dead' && resolve()));
      await jlab.info;
      const pid = Number((await a.execute('import os\nos.getpid()')).result);
      process.kill(pid, 'SIGKILL');
      await jlabDead;
      for (const c of [a, b]) {
        const dead = await c.next((m) => m.header.msg_type === 'status' && m.content.execution_state === 'dead');
        assert.equal(dead.channel, 'iopub');
        assert.equal(await c.closed, 1000);
      }
      const model = await kernelModel(lab, id);
      assert.equal(model.execution_state, 'dead');
      assert.equal(model.connections, 0);
      // A client arriving later is told the same and not left hanging.
      const late = await RawClient.connect(lab, id);
      await late.next((m) => m.header.msg_type === 'status' && m.content.execution_state === 'dead');
      assert.equal(await late.closed, 1000);
    } finally {
      await disposeServices(manager);
      await lab.close();
    }
  });
});
