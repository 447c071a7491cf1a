import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './index.js';

describe('structured logs', () => {
  it('never write secrets, wherever they appear', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const log = createLogger('info', sink as never);
    log.info({ password: 'hunter2', token: 'tok-123', user: { password: 'pw-456' } }, 'login');
    log.info({ req: { headers: { authorization: 'token abc-789', cookie: 'eucp-session=s3cr3t' } } }, 'request');
    log.info({ env: { JUPYTERHUB_API_TOKEN: 'jh-000', HOME: '/home/a' } }, 'spawn');
    const text = lines.join('');
    for (const secret of ['hunter2', 'tok-123', 'pw-456', 'abc-789', 's3cr3t', 'jh-000']) assert.ok(!text.includes(secret), secret);
    assert.ok(text.includes('/home/a'), 'non-secrets are kept');
    assert.equal(lines.length, 3);
  });
});
