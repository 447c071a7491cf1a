import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pidAlive, sessionPids } from '../../src/terminals/procfs.js';
import { killLeftovers, refusedStatus, rememberPids, startLab, tempDirs } from './harness.js';

after(killLeftovers);

test('a terminal over REST and WebSocket, shared by two tabs and replayed after the browser comes back', async (t) => {
  const dirs = tempDirs();
  const lab = await startLab(dirs);
  t.after(async () => {
    await lab.manager.shutdownAll();
    await lab.close();
    dirs.remove();
  });

  const created = await fetch(`${lab.url}/api/terminals`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(created.status, 200);
  const model = (await created.json()) as { name: string; last_activity: string };
  assert.equal(model.name, '1');
  assert.ok(!Number.isNaN(Date.parse(model.last_activity)));
  rememberPids(lab.manager, '1');
  const listed = (await (await fetch(`${lab.url}/api/terminals`)).json()) as { name: string }[];
  assert.deepEqual(listed.map((m) => m.name), ['1']);
  assert.equal((await fetch(`${lab.url}/api/terminals/1`)).status, 200);

  const socketFile = join(dirs.stateDir, 'terminals', '1.sock');
  assert.equal(statSync(socketFile).mode & 0o777, 0o600);

  const tab1 = lab.ws('1');
  await tab1.opened;
  await tab1.until((s) => s.frames.length > 0, 'a first frame');
  assert.deepEqual(tab1.frames[0], ['setup', {}]);
  tab1.send(['set_size', 30, 100, 600, 800]);
  tab1.type('echo hello-$((6*7))\r');
  await tab1.waitFor('hello-42');
  assert.equal(lab.manager.busy(), false, 'a shell at its prompt is not busy');

  // A second tab sees the screen so far, and both see what either types.
  const tab2 = lab.ws('1');
  await tab2.waitFor('hello-42');
  tab2.type('echo tab-$((1+1))\r');
  await Promise.all([tab1.waitFor('tab-2'), tab2.waitFor('tab-2')]);
  await tab1.close();
  await tab2.close();

  // The browser comes back: without typing anything, the earlier output is replayed.
  const tab3 = lab.ws('1');
  await tab3.waitFor('tab-2');
  assert.ok(tab3.text.startsWith('\x1bc'), 'the replay resets the screen first');
  assert.match(tab3.text, /hello-42/);
  await tab3.close();

  // A terminal in a sub-directory of the root; exiting its shell ends it.
  mkdirSync(join(dirs.root, 'sub'));
  const second = await fetch(`${lab.url}/api/terminals`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cwd: 'sub' }) });
  assert.equal(((await second.json()) as { name: string }).name, '2');
  rememberPids(lab.manager, '2');
  const tab4 = lab.ws('2');
  tab4.type('echo "cwd=$(pwd)"\r');
  await tab4.waitFor(`cwd=${join(dirs.root, 'sub')}`);
  tab4.type('exit\r');
  await tab4.until((s) => s.frames.some((f) => f[0] === 'disconnect'), 'disconnect');
  assert.deepEqual(tab4.frames.at(-1), ['disconnect', 1]);
  await tab4.closed;
  assert.equal((await fetch(`${lab.url}/api/terminals/2`)).status, 404);
  assert.equal(existsSync(join(dirs.stateDir, 'terminals', '2.sock')), false);
  assert.deepEqual(lab.manager.list().map((m) => m.name), ['1']);
});

test('busy while a program runs in the foreground; DELETE kills the whole terminal', async (t) => {
  const dirs = tempDirs();
  const lab = await startLab(dirs);
  t.after(async () => {
    await lab.manager.shutdownAll();
    await lab.close();
    dirs.remove();
  });
  const created = await fetch(`${lab.url}/api/terminals`, { method: 'POST' });
  assert.equal(created.status, 200);
  const { holder, shell } = rememberPids(lab.manager, '1');
  const tab = lab.ws('1');

  // The child prints only once the terminal is handed to it, so "fg-2" means it runs in the foreground.
  tab.type("sh -c 'echo fg-$((1+1)); exec sleep 30'\r");
  await tab.waitFor('fg-2');
  assert.equal(lab.manager.busy(), true);
  tab.type('\x03');
  await tab.waitFor('^C');
  tab.type('echo back-$((2+3))\r');
  await tab.waitFor('back-5');
  assert.equal(lab.manager.busy(), false);

  // A job left in the background keeps the server from being culled as idle.
  tab.type('sleep 33 & echo bg-$((4+4))\r');
  await tab.waitFor('bg-8');
  assert.equal(lab.manager.busy(), true, 'a background job is work too');
  tab.type('kill %1; wait; echo done-$((5+5))\r');
  await tab.waitFor('done-10');
  assert.equal(lab.manager.busy(), false);

  tab.type("sleep 40 & sh -c 'echo again-$((3+3)); exec sleep 31'\r");
  await tab.waitFor('again-6');
  const jobs = sessionPids(shell).filter((pid) => pid !== shell);
  assert.equal(jobs.length, 2, 'a background and a foreground job');
  assert.ok([holder, shell, ...jobs].every(pidAlive));

  const deleted = await fetch(`${lab.url}/api/terminals/1`, { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  for (const pid of [holder, shell, ...jobs]) assert.equal(pidAlive(pid), false, `process ${pid} is gone`);
  for (const ext of ['sock', 'state', 'log']) {
    assert.equal(existsSync(join(dirs.stateDir, 'terminals', `1.${ext}`)), false, `1.${ext} removed`);
  }
  await tab.until((s) => s.frames.some((f) => f[0] === 'disconnect'), 'disconnect');
  assert.equal((await fetch(`${lab.url}/api/terminals/1`)).status, 404);
  assert.equal((await fetch(`${lab.url}/api/terminals/1`, { method: 'DELETE' })).status, 404);
  assert.equal(await refusedStatus(`${lab.url.replace('http', 'ws')}/terminals/websocket/1`), 404);
  assert.deepEqual(await (await fetch(`${lab.url}/api/terminals`)).json(), []);
});

test('a restarted lab server forgets sockets whose holder is gone', async (t) => {
  const dirs = tempDirs();
  t.after(() => dirs.remove());
  const dir = join(dirs.stateDir, 'terminals');
  mkdirSync(dir);
  // A socket nobody listens on any more (its process died) and a stray file.
  const stale = join(dir, '3.sock');
  execFileSync('/usr/bin/python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale]);
  writeFileSync(join(dir, '4.sock'), '');
  const lab = await startLab(dirs);
  t.after(() => lab.close());
  assert.deepEqual(lab.manager.list(), []);
  assert.equal(existsSync(stale), false);
  assert.equal(existsSync(join(dir, '4.sock')), false);
});

test('invalid requests are answered like jupyter_server', async (t) => {
  const dirs = tempDirs();
  const lab = await startLab(dirs);
  t.after(async () => {
    await lab.close();
    dirs.remove();
  });
  const bad = await fetch(`${lab.url}/api/terminals`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '../x' }) });
  assert.equal(bad.status, 400);
  assert.equal(typeof ((await bad.json()) as { message: unknown }).message, 'string');
  const missing = await fetch(`${lab.url}/api/terminals/nope`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { message: 'Terminal not found: nope', reason: null });
});
