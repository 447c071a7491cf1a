import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { captureLog } from '../../test/kernel-helpers.js';
import { KernelConnection, type ConnectionInfo } from './connection.js';
import type { KernelMessage } from './types.js';
import { createSigner, deserialize, newMessage, serialize } from './wire.js';

const portOf = (sock: zmq.Socket): number => Number(sock.lastEndpoint!.split(':').pop());

/**
 * A stand-in kernel: ROUTER sockets for shell/control/stdin, PUB for iopub, REP for the
 * heartbeat, all bound to port 0 on loopback. Lets the test send frames a real kernel never would.
 */
async function fakeKernel(key: string) {
  const shell = new zmq.Router({ linger: 0 });
  const control = new zmq.Router({ linger: 0 });
  const stdin = new zmq.Router({ linger: 0 });
  const iopub = new zmq.XPublisher({ linger: 0 }); // XPUB: we can see the subscription arrive
  const hb = new zmq.Reply({ linger: 0 });
  for (const s of [shell, control, stdin, iopub, hb]) await s.bind('tcp://127.0.0.1:*');
  const info: ConnectionInfo = {
    shell_port: portOf(shell),
    control_port: portOf(control),
    stdin_port: portOf(stdin),
    iopub_port: portOf(iopub),
    hb_port: portOf(hb),
    ip: '127.0.0.1',
    key,
    transport: 'tcp',
    signature_scheme: 'hmac-sha256',
  };
  const close = () => [shell, control, stdin, iopub, hb].forEach((s) => s.close());
  return { shell, iopub, hb, info, close };
}

test('messages with a bad signature are dropped and logged; good ones arrive', { timeout: 20_000 }, async () => {
  const kernel = await fakeKernel('the-key');
  const { log, lines } = captureLog();
  const conn = new KernelConnection(kernel.info, { log });
  try {
    const got: KernelMessage[] = [];
    const gotGood = new Promise<void>((resolve) =>
      conn.onMessage((m) => {
        got.push(m);
        if (m.header.msg_type === 'kernel_info_reply') resolve();
      }),
    );
    // Our request reaches the kernel signed with the shared key, from our routing id.
    conn.send(newMessage('shell', 'kernel_info_request', 'client-a'));
    const [ident, ...frames] = await kernel.shell.receive();
    assert.equal(String(ident), conn.session);
    const request = deserialize(frames, createSigner('the-key'), 'shell').msg;
    assert.equal(request.header.session, 'client-a');

    const good = createSigner('the-key');
    const forged = createSigner('not-the-key');
    const reply = (signer: typeof good, text: string) =>
      serialize(newMessage('shell', 'kernel_info_reply', 'k', { status: 'ok', text }, request.header), signer, [ident!]);
    await kernel.shell.send(reply(forged, 'forged'));
    const goodFrames = reply(good, 'genuine');
    await kernel.shell.send(goodFrames);
    await gotGood;
    assert.deepEqual(got.map((m) => m.content.text), ['genuine']);
    assert.ok(lines.some((l) => l.msg === 'dropping invalid kernel message' && l.reason === 'bad signature' && l.channel === 'shell'));

    // A replayed copy of a genuine message is dropped as well.
    await kernel.shell.send(goodFrames);
    const after = reply(good, 'second');
    const gotSecond = new Promise<void>((resolve) => conn.onMessage((m) => m.content.text === 'second' && resolve()));
    await kernel.shell.send(after);
    await gotSecond;
    assert.deepEqual(got.map((m) => m.content.text), ['genuine', 'second']);
    assert.ok(lines.some((l) => l.reason === 'replayed signature'));
  } finally {
    conn.close();
    kernel.close();
  }
});

test('request() resolves with the reply to that request; heartbeat echoes count as beats', { timeout: 20_000 }, async () => {
  const kernel = await fakeKernel('k2');
  const { log } = captureLog();
  const conn = new KernelConnection(kernel.info, { log });
  try {
    const signer = createSigner('k2');
    void (async () => {
      for await (const [ident, ...frames] of kernel.shell) {
        const req = deserialize(frames, signer, 'shell').msg;
        // An unrelated reply first, then the real one.
        await kernel.shell.send(serialize(newMessage('shell', 'kernel_info_reply', 'k', { n: 0 }, { msg_id: 'other' }), signer, [ident!]));
        await kernel.shell.send(serialize(newMessage('shell', 'kernel_info_reply', 'k', { n: 1 }, req.header), signer, [ident!]));
      }
    })();
    const reply = await conn.request('shell', 'kernel_info_request');
    assert.equal(reply.content.n, 1);
    assert.equal(reply.parent_header.session, conn.session);

    void (async () => {
      for await (const [ping] of kernel.hb) await kernel.hb.send(ping!);
    })();
    const beat = await new Promise<number>((resolve) => conn.startHeartbeat({ intervalMs: 10, timeoutMs: 5000, onBeat: resolve }));
    assert.equal(beat, 0);
  } finally {
    conn.close();
    kernel.close();
  }
});

test('iopub messages from the kernel arrive with their channel; sends after close are ignored', { timeout: 20_000 }, async () => {
  const kernel = await fakeKernel('k3');
  const { log } = captureLog();
  const conn = new KernelConnection(kernel.info, { log });
  try {
    const signer = createSigner('k3');
    const arrived = new Promise<KernelMessage>((resolve) => conn.onMessage(resolve));
    // Publish once our SUB socket's subscription (to everything: "\x01" + "") has reached the kernel.
    const [subscription] = await kernel.iopub.receive();
    assert.deepEqual([...subscription!], [1]);
    await kernel.iopub.send(serialize(newMessage('iopub', 'status', 'k', { execution_state: 'idle' }), signer, [Buffer.from('kernel.x.status')]));
    const msg = await arrived;
    assert.equal(msg.channel, 'iopub');
    assert.equal(msg.content.execution_state, 'idle');
  } finally {
    conn.close();
    kernel.close();
  }
  assert.equal(conn.closed, true);
  conn.send(newMessage('shell', 'kernel_info_request', 's')); // no throw
});
