import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureLog, tempDir } from '../../test/kernel-helpers.js';
import { defaultKernelName, findKernelSpecs, kernelSpecDirs } from './kernelspecs.js';

function writeSpec(root: string, name: string, kernelJson: unknown, files: string[] = []): void {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kernel.json'), typeof kernelJson === 'string' ? kernelJson : JSON.stringify(kernelJson));
  for (const f of files) writeFileSync(join(dir, f), 'x');
}

test('the installed python3 (ipykernel) and ir (IRkernel) specs are found; python3 is the default', async () => {
  const specs = await findKernelSpecs({ python: null });
  assert.ok(specs.python3, 'python3 kernelspec');
  assert.deepEqual(specs.python3.spec.argv.slice(1), ['-m', 'ipykernel_launcher', '-f', '{connection_file}']);
  assert.equal(specs.python3.spec.language, 'python');
  assert.ok(specs.python3.resources.includes('logo-64x64.png'));
  assert.ok(specs.ir, 'ir kernelspec (r-cran-irkernel)');
  assert.equal(specs.ir.spec.language, 'R');
  assert.deepEqual(specs.ir.spec.argv, ['R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}']);
  assert.ok(specs.ir.resources.includes('kernel.js'));
  assert.ok(!specs.ir.resources.includes('kernel.json'));
  assert.equal(defaultKernelName(specs), 'python3');
});

test('search order: JUPYTER_PATH, then the user data dir, then the system dirs', () => {
  assert.deepEqual(kernelSpecDirs({ JUPYTER_PATH: '/a:/b' }, '/home/u'), [
    '/a/kernels',
    '/b/kernels',
    '/home/u/.local/share/jupyter/kernels',
    '/usr/local/share/jupyter/kernels',
    '/usr/share/jupyter/kernels',
  ]);
  assert.equal(kernelSpecDirs({ JUPYTER_DATA_DIR: '/d' }, '/home/u')[0], '/d/kernels');
});

test('earlier directories win; bad kernel.json and bad names are skipped with a log line', async () => {
  const first = tempDir();
  const second = tempDir();
  const cap = captureLog();
  try {
    const base = { argv: ['k', '{connection_file}'], language: 'x' };
    writeSpec(first.dir, 'Mine', { ...base, display_name: 'first' }, ['logo-64x64.png', 'kernel.css']);
    writeSpec(second.dir, 'mine', { ...base, display_name: 'second' });
    writeSpec(second.dir, 'other', { ...base, display_name: 'other', interrupt_mode: 'message', env: { A: 'b' } });
    writeSpec(second.dir, 'no-argv', { display_name: 'x', language: 'x' });
    writeSpec(second.dir, 'not-json', '{');
    writeSpec(second.dir, 'bad name!', { ...base, display_name: 'x' });
    const specs = await findKernelSpecs({ dirs: [first.dir, join(second.dir, 'missing'), second.dir], log: cap.log, python: null });
    assert.deepEqual(Object.keys(specs).sort(), ['mine', 'other']);
    assert.equal(specs.mine!.spec.display_name, 'first');
    assert.equal(specs.mine!.resourceDir, join(first.dir, 'Mine'));
    assert.deepEqual(specs.mine!.resources, ['kernel.css', 'logo-64x64.png']);
    assert.equal(specs.other!.spec.interrupt_mode, 'message');
    assert.deepEqual(specs.other!.spec.env, { A: 'b' });
    const skipped = cap.lines.filter((l) => String(l.msg).startsWith('skipping kernelspec')).map((l) => String(l.dir).split('/').pop());
    assert.deepEqual(skipped.sort(), ['bad name!', 'no-argv', 'not-json']);
    assert.equal(defaultKernelName(specs), 'mine');
  } finally {
    first.remove();
    second.remove();
  }
});

test('python3 is synthesized from /usr/bin/python3 when no kernelspec provides it', async () => {
  const empty = tempDir();
  try {
    const specs = await findKernelSpecs({ dirs: [empty.dir], python: '/usr/bin/python3' });
    assert.deepEqual(specs.python3?.spec.argv, ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '{connection_file}']);
    assert.ok(specs.python3.resources.includes('logo-64x64.png'));
    assert.deepEqual(await findKernelSpecs({ dirs: [empty.dir], python: '/nonexistent/python3' }), {});
  } finally {
    empty.remove();
  }
});
