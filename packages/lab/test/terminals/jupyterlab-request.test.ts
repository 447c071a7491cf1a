/**
 * `POST api/terminals` as JupyterLab sends it: `ServerConnection.makeRequest` passes the
 * JSON body as a string, so fetch labels it `text/plain;charset=UTF-8`.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { killLeftovers, rememberPids, startLab, tempDirs } from './harness.js';

after(killLeftovers);

test("creates a terminal from JupyterLab's text/plain JSON body, in the directory it names", async (t) => {
  const dirs = tempDirs();
  const lab = await startLab(dirs);
  t.after(async () => {
    await lab.manager.shutdownAll();
    await lab.close();
    dirs.remove();
  });
  mkdirSync(join(dirs.root, 'sub'));
  const created = await fetch(`${lab.url}/api/terminals`, { method: 'POST', body: JSON.stringify({ cwd: 'sub' }) });
  assert.equal(created.status, 200, await created.clone().text());
  const { name } = (await created.json()) as { name: string };
  rememberPids(lab.manager, name);
  const tab = lab.ws(name);
  tab.type('echo "cwd=$(pwd)"\r');
  await tab.waitFor(`cwd=${join(dirs.root, 'sub')}`);
  await tab.close();

  const invalid = await fetch(`${lab.url}/api/terminals`, { method: 'POST', body: '{"cwd": ' });
  assert.equal(invalid.status, 400);
});
