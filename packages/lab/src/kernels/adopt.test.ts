import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { captureLog, execute, tempDir } from '../../test/kernel-helpers.js';
import { isAlive, writePrivateJson } from './launcher.js';
import { ZmqKernelManager } from './manager.js';
import type { Kernel, KernelStatusEvent } from './types.js';
import type { ZmqKernel } from './zmq-kernel.js';

const T = { timeout: 90_000 };

test('a new manager on the same state dir re-adopts a detached kernel with its state', T, async () => {
  const tmp = tempDir();
  const stateDir = join(tmp.dir, 'state');
  const a = new ZmqKernelManager({ stateDir, log: captureLog().log });
  const b = new ZmqKernelManager({ stateDir, log: captureLog().log });
  let pid = 0;
  try {
    const started = (await a.start({ cwd: tmp.dir })) as ZmqKernel;
    pid = started.pid;
    assert.equal((await execute(started, 'x = 41')).reply.content.status, 'ok');
    a.detachAll();
    assert.deepEqual(a.list(), []);
    assert.equal(isAlive(pid), true, 'detaching leaves the kernel running');

    const announced: Kernel[] = [];
    b.onKernel((k) => announced.push(k));
    const adopted = await b.adopt();
    assert.equal(adopted.length, 1);
    const kernel = adopted[0]!;
    assert.equal(kernel.id, started.id);
    assert.equal(kernel.name, 'python3');
    assert.deepEqual(announced, [kernel]);
    assert.equal(kernel.model().execution_state, 'idle');
    assert.equal((await execute(kernel, 'x + 1')).result(), '42');
    // Adopting again does not duplicate kernels already managed.
    assert.deepEqual(await b.adopt(), []);

    const dead = new Promise<KernelStatusEvent>((resolve) => kernel.onStatus((ev) => ev.state === 'dead' && resolve(ev)));
    await b.shutdownAll();
    await dead;
    assert.equal(isAlive(pid), false);
    assert.equal(existsSync((started as ZmqKernel).connectionFile), false);
  } finally {
    await a.shutdownAll();
    await b.shutdownAll();
    if (pid && isAlive(pid)) process.kill(-pid, 'SIGKILL');
    tmp.remove();
  }
});

test('a kernel outlives the lab server process that started it and is adopted by the next one', T, async () => {
  const tmp = tempDir();
  const stateDir = join(tmp.dir, 'state');
  const b = new ZmqKernelManager({ stateDir, log: captureLog().log });
  let pid = 0;
  try {
    // "Lab server 1": a separate Node process that starts a kernel, sets x, detaches and exits.
    const script = join(tmp.dir, 'server1.mts');
    writeFileSync(
      script,
      `import { ZmqKernelManager } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'manager.ts')).href)};
import { captureLog, execute } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', '..', 'test', 'kernel-helpers.ts')).href)};
const m = new ZmqKernelManager({ stateDir: ${JSON.stringify(stateDir)}, log: captureLog().log });
const k = await m.start({ cwd: ${JSON.stringify(tmp.dir)} });
await execute(k, 'x = 41');
m.detachAll();
process.stdout.write(JSON.stringify({ id: k.id, pid: k.pid }));
`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
      cwd: join(import.meta.dirname, '..', '..'),
    });
    const first = JSON.parse(stdout) as { id: string; pid: number };
    pid = first.pid;
    assert.equal(isAlive(pid), true, 'the kernel survived its lab server');
    const [kernel] = await b.adopt();
    assert.equal(kernel?.id, first.id);
    assert.equal((await execute(kernel, 'x + 1')).result(), '42');
    await b.shutdown(first.id);
    assert.equal(isAlive(pid), false);
  } finally {
    await b.shutdownAll();
    if (pid && isAlive(pid)) process.kill(-pid, 'SIGKILL');
    tmp.remove();
  }
});

test('an adopted kernel whose process is killed is reported dead (exit not observable: pid watch)', T, async () => {
  const tmp = tempDir();
  const stateDir = join(tmp.dir, 'state');
  const a = new ZmqKernelManager({ stateDir, log: captureLog().log });
  const b = new ZmqKernelManager({ stateDir, log: captureLog().log, heartbeatIntervalMs: 200, heartbeatMisses: 2 });
  let pid = 0;
  try {
    const started = (await a.start({ cwd: tmp.dir })) as ZmqKernel;
    pid = started.pid;
    a.detachAll();
    const [kernel] = await b.adopt();
    assert.ok(kernel);
    const dead = new Promise<KernelStatusEvent>((resolve) => kernel.onStatus((ev) => ev.state === 'dead' && resolve(ev)));
    process.kill(pid, 'SIGKILL');
    assert.equal((await dead).state, 'dead');
    assert.equal(kernel.model().execution_state, 'dead');
  } finally {
    await b.shutdownAll();
    if (pid && isAlive(pid)) process.kill(-pid, 'SIGKILL');
    tmp.remove();
  }
});

test('adopt forgets records of kernels whose process is gone', T, async () => {
  const tmp = tempDir();
  const stateDir = join(tmp.dir, 'state');
  try {
    // A real pid that has certainly exited.
    const child = spawn('/usr/bin/true');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const pid = child.pid!;
    await exited;
    const connectionFile = join(stateDir, 'runtime', 'kernel-gone.json');
    const record = join(stateDir, 'kernels', 'gone.json');
    await writePrivateJson(connectionFile, { shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, ip: '127.0.0.1', key: 'k', transport: 'tcp', signature_scheme: 'hmac-sha256' });
    await writePrivateJson(record, { id: 'gone', name: 'python3', pid, connectionFile, cwd: tmp.dir, logFile: join(stateDir, 'logs', 'x.log') });
    await writePrivateJson(join(stateDir, 'kernels', 'garbage.json'), { not: 'a record' });
    const m = new ZmqKernelManager({ stateDir, log: captureLog().log });
    assert.deepEqual(await m.adopt(), []);
    assert.equal(existsSync(record), false);
    assert.equal(existsSync(connectionFile), false);
    assert.equal(existsSync(join(stateDir, 'kernels', 'garbage.json')), false);
  } finally {
    tmp.remove();
  }
});
