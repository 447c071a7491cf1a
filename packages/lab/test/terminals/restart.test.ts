import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pidAlive } from '../../src/terminals/procfs.js';
import { stateFileSchema } from '../../src/terminals/protocol.js';
import { fileUntil, killLeftovers, rememberPids, startLab, tempDirs } from './harness.js';

after(killLeftovers);

const LINES = 500;

/** Line numbers `line-N` in `text`. */
function lineNumbers(text: string): Set<number> {
  return new Set([...text.matchAll(/line-(\d+)\r?\n/g)].map((m) => Number(m[1])));
}

test('a terminal keeps running and recording while the lab server is gone, and is picked up again', async (t) => {
  const dirs = tempDirs();
  t.after(() => dirs.remove());
  const first = await startLab(dirs);
  t.after(() => first.close());

  const created = await fetch(`${first.url}/api/terminals`, { method: 'POST' });
  assert.equal(created.status, 200);
  const pids = rememberPids(first.manager, '1');
  const tab = first.ws('1');
  tab.type(`sh -c 'for i in $(seq 1 ${LINES}); do echo line-$i; sleep 0.01; done; echo loop-$((40+2)); exec sleep 30'\r`);
  await tab.waitFor('line-20\r\n');
  assert.equal(first.manager.busy(), true, 'the loop runs in the foreground');

  // The lab server exits while the job runs: the browser is told to go away, the job is not.
  await first.manager.detachAll();
  assert.equal(await tab.closed, 1001);
  await first.close();
  const seenBefore = Math.max(...lineNumbers(tab.text));
  assert.ok(pidAlive(pids.holder) && pidAlive(pids.shell));

  // With no lab server at all, the holder goes on writing the screen state to disk.
  const stateFile = join(dirs.stateDir, 'terminals', '1.state');
  const whileGone = seenBefore + 50;
  const screenOnDisk = (text: string): string => stateFileSchema.parse(JSON.parse(text)).data;
  const saved = await fileUntil(join(dirs.stateDir, 'terminals'), stateFile, (text) => lineNumbers(screenOnDisk(text)).has(whileGone));
  assert.equal(stateFileSchema.parse(JSON.parse(saved)).exit, null);

  // A new lab server finds the same terminal and replays everything, then goes on live.
  const second = await startLab(dirs);
  t.after(async () => {
    await second.manager.shutdownAll();
    await second.close();
  });
  assert.deepEqual(second.manager.list().map((m) => m.name), ['1']);
  assert.deepEqual(second.manager.pids('1'), pids);
  assert.equal(second.manager.busy(), true);
  const back = second.ws('1');
  await back.until((s) => s.frames.some((f) => f[0] === 'stdout'), 'the replay');
  const replay = String(back.frames.find((f) => f[0] === 'stdout')?.[1]);
  const replayed = lineNumbers(replay);
  const last = Math.max(...replayed);
  assert.ok(last >= whileGone, `replay reaches line ${whileGone} written while the server was gone (got ${last})`);
  for (let i = 1; i <= last; i++) assert.ok(replayed.has(i), `line-${i} is in the replay`);
  await back.waitFor('loop-42');
  const all = lineNumbers(back.text);
  for (let i = 1; i <= LINES; i++) assert.ok(all.has(i), `line-${i} arrived`);
  assert.ok(replay.length < back.text.length, 'live output followed the replay');
  assert.equal(second.manager.busy(), true, 'sleep 30 runs in the foreground');

  const deleted = await fetch(`${second.url}/api/terminals/1`, { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  assert.equal(pidAlive(pids.holder), false);
  assert.equal(pidAlive(pids.shell), false);
  assert.equal(existsSync(stateFile), false);
  assert.equal(existsSync(join(dirs.stateDir, 'terminals', '1.sock')), false);
});
