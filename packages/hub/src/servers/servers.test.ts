import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerName, UserName } from '@eucp/core';
import { oauthClientId, singleUserEnv } from './env.js';
import { ProgressChannel, type ProgressEvent } from './progress.js';
import { kernelsVerdict, serverVerdict } from './culler.js';

describe('single-user environment', () => {
  const env = singleUserEnv({
    user: 'alice' as UserName, server: '' as ServerName, apiToken: 'T', hubApiUrl: 'http://127.0.0.1:8000/hub/api',
    app: 'notebook.notebookapp.NotebookApp', limits: { memoryLimitBytes: 1024, cpuLimitCores: null }, publicHost: '',
  });

  it('sets every variable of the JupyterHub contract (§a.2)', () => {
    for (const k of ['JUPYTERHUB_API_TOKEN', 'JPY_API_TOKEN', 'JUPYTERHUB_CLIENT_ID', 'JUPYTERHUB_API_URL', 'JUPYTERHUB_ACTIVITY_URL',
      'JUPYTERHUB_BASE_URL', 'JUPYTERHUB_SERVICE_PREFIX', 'JUPYTERHUB_OAUTH_CALLBACK_URL', 'JUPYTERHUB_OAUTH_ACCESS_SCOPES',
      'JUPYTERHUB_OAUTH_SCOPES', 'JUPYTERHUB_USER', 'JUPYTERHUB_SERVER_NAME', 'JUPYTERHUB_HOST', 'JUPYTERHUB_SINGLEUSER_APP']) {
      assert.ok(k in env, k);
    }
    assert.equal(env.JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-alice');
    assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, '/user/alice/');
    assert.equal(env.JUPYTERHUB_OAUTH_CALLBACK_URL, '/user/alice/oauth_callback');
    assert.equal(env.JUPYTERHUB_ACTIVITY_URL, 'http://127.0.0.1:8000/hub/api/users/alice/activity');
    assert.deepEqual(JSON.parse(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES!), ['access:servers!server=alice/', 'access:servers!user=alice']);
    assert.equal(env.MEM_LIMIT, '1024');
    assert.ok(!('CPU_LIMIT' in env));
    assert.ok(!('JUPYTERHUB_SERVICE_URL' in env), 'the spawner adds it once it knows the port');
  });

  it('names OAuth clients of named servers', () => {
    assert.equal(oauthClientId('alice' as UserName, 'gpu' as ServerName), 'jupyterhub-user-alice-gpu');
  });
});

describe('progress channel', () => {
  it('replays history to late subscribers and ends at the terminal event', () => {
    const c = new ProgressChannel();
    c.emit({ progress: 0, message: 'Server requested' });
    c.emit({ progress: 50, message: 'half' });
    c.emit({ progress: 30, message: 'never backwards' });
    const seen: ProgressEvent[] = [];
    c.subscribe((e) => seen.push(e));
    c.emit({ progress: 100, ready: true, message: 'ready' });
    c.emit({ progress: 100, message: 'ignored after the end' });
    assert.deepEqual(seen.map((e) => e.progress), [0, 50, 50, 100]);
    assert.equal(c.terminal?.ready, true);
    const late: ProgressEvent[] = [];
    c.subscribe((e) => late.push(e));
    assert.equal(late.length, 4);
  });
});

describe('culler verdict on a server\'s kernels', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const ago = (ms: number) => new Date(now - ms).toISOString();
  const hour = 3600_000;
  it('spares busy and restarting kernels, culls only when every kernel is idle', () => {
    assert.equal(kernelsVerdict([{ execution_state: 'idle' }, { execution_state: 'busy' }], now, hour), 'busy');
    assert.equal(kernelsVerdict([{ execution_state: 'restarting' }], now, hour), 'busy');
    assert.equal(kernelsVerdict([{ execution_state: 'idle' }, { execution_state: 'idle' }], now, hour), 'idle');
    assert.equal(kernelsVerdict([], now, hour), 'idle');
  });
  it('treats a kernel whose state the server has not seen yet as busy until it has been quiet for the timeout', () => {
    assert.equal(kernelsVerdict([{ execution_state: 'starting', last_activity: ago(60_000) }], now, hour), 'busy');
    assert.equal(kernelsVerdict([{ execution_state: 'starting', last_activity: ago(2 * hour) }], now, hour), 'idle');
    assert.equal(kernelsVerdict([{ execution_state: 'starting' }], now, hour), 'busy');
  });
  it('says unknown for anything that is not a kernel list', () => {
    assert.equal(kernelsVerdict(null, now, hour), 'unknown');
    assert.equal(kernelsVerdict({ message: 'Forbidden' }, now, hour), 'unknown');
  });
  it('spares a server that reports recent activity of its own (a program running in a terminal)', () => {
    const idleKernels = [{ execution_state: 'idle' }];
    assert.equal(serverVerdict(idleKernels, { last_activity: ago(1000) }, now, hour), 'busy');
    assert.equal(serverVerdict(idleKernels, { last_activity: ago(2 * hour) }, now, hour), 'idle');
    assert.equal(serverVerdict(idleKernels, null, now, hour), 'idle', 'a server without api/status is judged by its kernels');
    assert.equal(serverVerdict(null, { last_activity: ago(2 * hour) }, now, hour), 'unknown');
    assert.equal(serverVerdict([{ execution_state: 'busy' }], null, now, hour), 'busy');
  });
});
