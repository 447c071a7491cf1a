import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JupyterError } from '../http/errors.js';
import { captureLog, execute, nextMessage, tempDir } from '../../test/kernel-helpers.js';
import { isAlive } from './launcher.js';
import { ZmqKernelManager } from './manager.js';
import type { ExecutionState, Kernel, KernelStatusEvent } from './types.js';
import type { ZmqKernel } from './zmq-kernel.js';

const T = { timeout: 90_000 };

/** A manager on a temp state dir; `done()` shuts every kernel down and removes the dir. */
function setup(opts: { specPaths?: string[] } = {}) {
  const tmp = tempDir();
  const cap = captureLog();
  const manager = new ZmqKernelManager({ stateDir: join(tmp.dir, 'state'), log: cap.log, shutdownGraceMs: 2000, ...opts });
  return {
    ...cap,
    manager,
    dir: tmp.dir,
    done: async () => {
      await manager.shutdownAll();
      tmp.remove();
    },
  };
}

function statuses(kernel: Kernel): ExecutionState[] {
  const seen: ExecutionState[] = [];
  kernel.onStatus((ev) => seen.push(ev.state));
  return seen;
}

function nextStatus(kernel: Kernel, state: ExecutionState): Promise<KernelStatusEvent> {
  return new Promise((resolve) => {
    const off = kernel.onStatus((ev) => {
      if (ev.state === state) {
        off();
        resolve(ev);
      }
    });
  });
}

test('start python3, execute 1+1: execute_result 2, stdout, busy then idle', T, async () => {
  const s = setup();
  try {
    const kernel = await s.manager.start({ cwd: s.dir, env: { EUCP_TEST_VAR: 'hello' } });
    assert.equal(kernel.name, 'python3');
    assert.equal(kernel.model().execution_state, 'idle');
    assert.deepEqual(s.manager.list(), [kernel]);
    assert.equal(s.manager.get(kernel.id), kernel);
    const seen = statuses(kernel);
    const r = await execute(kernel, 'import os\nprint(os.environ["EUCP_TEST_VAR"], os.getcwd())\n1+1');
    assert.equal(r.reply.content.status, 'ok');
    assert.equal(r.result(), '2');
    assert.equal(r.stdout(), `hello ${s.dir}\n`);
    assert.deepEqual(
      r.iopub.filter((m) => m.header.msg_type === 'status').map((m) => m.content.execution_state),
      ['busy', 'idle'],
    );
    assert.deepEqual(seen, ['busy', 'idle']);
    assert.equal(kernel.model().execution_state, 'idle');
    // The connection file is private to the user.
    const cf = (kernel as ZmqKernel).connectionFile;
    assert.equal(statSync(cf).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(cf, 'utf8')).ip, '127.0.0.1');
  } finally {
    await s.done();
  }
});

test('interrupt stops time.sleep(60) with KeyboardInterrupt', T, async () => {
  const s = setup();
  try {
    const kernel = await s.manager.start({ cwd: s.dir });
    // Interrupt once the cell runs: a SIGINT between execute_input and the cell's code is
    // swallowed by ipykernel's dispatcher ("KeyboardInterrupt caught in kernel", no reply).
    const running = execute(kernel, 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)');
    await nextMessage(kernel, (m) => m.header.msg_type === 'stream');
    assert.equal(kernel.model().execution_state, 'busy');
    await kernel.interrupt();
    const r = await running;
    assert.equal(r.reply.content.status, 'error');
    assert.equal(r.reply.content.ename, 'KeyboardInterrupt');
    // The kernel survives the interrupt. (Not checked with another execute: ipykernel aborts
    // requests that arrive right after an error, by design of stop_on_error.)
    assert.equal(isAlive((kernel as ZmqKernel).pid), true);
    assert.equal(kernel.model().execution_state, 'idle');
  } finally {
    await s.done();
  }
});

test('interrupt_mode "message" sends interrupt_request on control', T, async () => {
  const specs = tempDir('eucp-specs-');
  mkdirSync(join(specs.dir, 'pymsg'));
  writeFileSync(
    join(specs.dir, 'pymsg', 'kernel.json'),
    JSON.stringify({
      argv: ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: 'Python (message interrupt)',
      language: 'python',
      interrupt_mode: 'message',
    }),
  );
  const s = setup({ specPaths: [specs.dir] });
  try {
    const kernel = await s.manager.start({ name: 'pymsg', cwd: s.dir });
    const running = execute(kernel, 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)');
    await nextMessage(kernel, (m) => m.header.msg_type === 'stream');
    await kernel.interrupt();
    assert.equal((await running).reply.content.ename, 'KeyboardInterrupt');
  } finally {
    await s.done();
    specs.remove();
  }
});

test('restart keeps the id and the listeners, clears the namespace', T, async () => {
  const s = setup();
  try {
    const kernel = (await s.manager.start({ cwd: s.dir })) as ZmqKernel;
    await execute(kernel, 'x = 1');
    const oldPid = kernel.pid;
    const seen = statuses(kernel);
    const messages: string[] = [];
    kernel.onMessage((m) => messages.push(m.header.msg_type));
    await kernel.restart();
    assert.equal(s.manager.get(kernel.id), kernel);
    assert.notEqual(kernel.pid, oldPid);
    assert.equal(isAlive(oldPid), false);
    assert.deepEqual(seen.slice(0, 1), ['restarting']);
    assert.equal(seen.at(-1), 'idle');
    assert.equal(kernel.model().execution_state, 'idle');
    messages.length = 0;
    const r = await execute(kernel, 'x');
    assert.equal(r.reply.content.status, 'error');
    assert.equal(r.reply.content.ename, 'NameError');
    assert.ok(messages.includes('error') && messages.includes('execute_reply'), 'listener from before the restart still hears the kernel');
  } finally {
    await s.done();
  }
});

test('shutdown stops the process and removes the connection file and record', T, async () => {
  const s = setup();
  try {
    const kernel = (await s.manager.start({ cwd: s.dir })) as ZmqKernel;
    const pid = kernel.pid;
    const cf = kernel.connectionFile;
    const record = join(s.dir, 'state', 'kernels', `${kernel.id}.json`);
    assert.ok(existsSync(cf) && existsSync(record));
    const dead = nextStatus(kernel, 'dead');
    await s.manager.shutdown(kernel.id);
    assert.deepEqual((await dead).exit, { code: 0, signal: null });
    assert.equal(isAlive(pid), false);
    assert.equal(existsSync(cf), false);
    assert.equal(existsSync(record), false);
    assert.equal(s.manager.get(kernel.id), undefined);
    // Idempotent, and a shut-down kernel refuses restart and drops sends.
    await kernel.shutdown();
    await s.manager.shutdown(kernel.id);
    await assert.rejects(kernel.restart(), (e: unknown) => e instanceof JupyterError && e.status === 409);
    await assert.rejects(kernel.interrupt(), JupyterError);
  } finally {
    await s.done();
  }
});

test('kill -9 of the kernel process reports dead with the signal; restart brings it back', T, async () => {
  const s = setup();
  try {
    const kernel = (await s.manager.start({ cwd: s.dir })) as ZmqKernel;
    const dead = nextStatus(kernel, 'dead');
    process.kill(kernel.pid, 'SIGKILL');
    assert.deepEqual((await dead).exit, { code: null, signal: 'SIGKILL' });
    assert.equal(kernel.model().execution_state, 'dead');
    await assert.rejects(kernel.interrupt(), /dead/);
    await kernel.restart();
    assert.equal((await execute(kernel, '2+2')).result(), '4');
  } finally {
    await s.done();
  }
});

test('a kernel that dies during start fails with its log in the error; unknown specs are refused', T, async () => {
  const specs = tempDir('eucp-specs-');
  mkdirSync(join(specs.dir, 'broken'));
  writeFileSync(
    join(specs.dir, 'broken', 'kernel.json'),
    JSON.stringify({
      argv: ['/usr/bin/python3', '-c', 'import sys; print("no module named frobnicate", file=sys.stderr); sys.exit(3)', '{connection_file}'],
      display_name: 'Broken',
      language: 'python',
    }),
  );
  const s = setup({ specPaths: [specs.dir] });
  try {
    await assert.rejects(s.manager.start({ name: 'broken', cwd: s.dir }), (e: unknown) => {
      assert.ok(e instanceof JupyterError);
      assert.equal(e.status, 500);
      assert.match(e.message, /exited during start \(exit code 3\)/);
      assert.match(e.message, /no module named frobnicate/);
      return true;
    });
    assert.deepEqual(s.manager.list(), []);
    await assert.rejects(s.manager.start({ name: 'nope', cwd: s.dir }), (e: unknown) => e instanceof JupyterError && e.status === 404);
  } finally {
    await s.done();
    specs.remove();
  }
});

test('the R kernel (IRkernel) starts and computes 1+1', T, async (t) => {
  const s = setup();
  try {
    const specs = await s.manager.specs();
    if (!specs.kernelspecs.ir) {
      t.skip('IRkernel is not installed (no `ir` kernelspec)');
      return;
    }
    const kernel = await s.manager.start({ name: 'ir', cwd: s.dir });
    const r = await execute(kernel, '1+1');
    assert.equal(r.reply.content.status, 'ok');
    assert.equal(r.result(), '[1] 2');
    await s.manager.shutdown(kernel.id);
  } finally {
    await s.done();
  }
});
