import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/kernel-helpers.js';
import {
  expandArgv,
  isAlive,
  kernelEnv,
  launchKernel,
  newConnectionInfo,
  pickPorts,
  signalGroup,
  substituteEnvRefs,
  tailFile,
  writePrivateJson,
} from './launcher.js';
import type { KernelSpec } from './types.js';

test('argv placeholders are substituted; unknown ones stay', () => {
  assert.deepEqual(expandArgv(['py', '-f', '{connection_file}', '--res={resource_dir}/x', '{other}'], { connection_file: '/r/k.json', resource_dir: '/spec' }), [
    'py',
    '-f',
    '/r/k.json',
    '--res=/spec/x',
    '{other}',
  ]);
});

test('kernel environment: spec env with ${VAR} refs, extra env on top, PYTHONEXECUTABLE dropped', () => {
  assert.equal(substituteEnvRefs('${HOME}/x:$PATH:$$:$NOPE:${NOPE}', { HOME: '/h', PATH: '/bin' }), '/h/x:/bin:$:$NOPE:${NOPE}');
  const env = kernelEnv({ PATH: '/bin', PYTHONEXECUTABLE: '/x', KEEP: '1' }, { PATH: '/opt/bin:${PATH}', SPEC: 's' }, { SPEC: 'extra', JPY_SESSION_NAME: 'n.ipynb' });
  assert.deepEqual(env, { PATH: '/opt/bin:/bin', KEEP: '1', SPEC: 'extra', JPY_SESSION_NAME: 'n.ipynb' });
});

test('free ports are distinct and connection info is complete', async () => {
  const ports = await pickPorts(5);
  assert.equal(new Set(ports).size, 5);
  const info = await newConnectionInfo('python3');
  assert.equal(info.ip, '127.0.0.1');
  assert.equal(info.signature_scheme, 'hmac-sha256');
  assert.equal(new Set([info.shell_port, info.iopub_port, info.stdin_port, info.control_port, info.hb_port]).size, 5);
  assert.match(info.key, /^[0-9a-f-]{36}$/);
});

test('private JSON files are written with mode 0600 in a 0700 directory', async () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'runtime', 'kernel-1.json');
    await writePrivateJson(file, { a: 1 });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(tmp.dir, 'runtime')).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { a: 1 });
  } finally {
    tmp.remove();
  }
});

test('a launched kernel leads its own process group, runs in cwd and logs its output', async () => {
  const tmp = tempDir();
  try {
    const spec: KernelSpec = {
      name: 'probe',
      resourceDir: '/spec/dir',
      resources: [],
      spec: {
        argv: ['/usr/bin/python3', '-c', 'import os, sys; print(os.getpgid(0) == os.getpid(), os.getcwd(), sys.argv[1:], os.environ["X"])', '{connection_file}', '{resource_dir}'],
        display_name: 'probe',
        language: 'python',
      },
    };
    const logFile = join(tmp.dir, 'logs', 'k.log');
    const child = await launchKernel({ spec, connectionFile: '/r/c.json', cwd: tmp.dir, env: { X: 'y' }, logFile });
    await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(readFileSync(logFile, 'utf8'), `True ${tmp.dir} ['/r/c.json', '/spec/dir'] y\n`);
    assert.equal(statSync(logFile).mode & 0o777, 0o600);
    assert.equal((await tailFile(logFile, 5)).length, 5);
    assert.equal(isAlive(child.pid!), false);
    assert.equal(signalGroup(child.pid!, 'SIGTERM'), false);
    await assert.rejects(launchKernel({ spec, connectionFile: '/r/c.json', cwd: join(tmp.dir, 'nope'), env: {}, logFile }), /does not exist/);
    const missing = { ...spec, spec: { ...spec.spec, argv: ['/nonexistent/kernel'] } };
    await assert.rejects(launchKernel({ spec: missing, connectionFile: '/r/c.json', cwd: tmp.dir, env: {}, logFile }), /cannot run \/nonexistent\/kernel/);
  } finally {
    tmp.remove();
  }
});

test('signalling process group 0 or 1 is refused', () => {
  assert.throws(() => signalGroup(0, 'SIGKILL'), /refusing/);
  assert.throws(() => signalGroup(1, 'SIGKILL'), /refusing/);
  assert.equal(isAlive(0), false);
});
