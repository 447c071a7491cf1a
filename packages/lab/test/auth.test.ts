import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startTestLab, type TestLab } from './lab-factory.js';

/** Cookie jar of one browser: name → value from Set-Cookie headers. */
function cookiesOf(res: Response): Map<string, string> {
  const jar = new Map<string, string>();
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    jar.set(pair!.slice(0, eq), decodeURIComponent(pair!.slice(eq + 1)));
  }
  return jar;
}
const cookieHeader = (jar: Map<string, string>): string => [...jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');

describe('lab server authentication (standalone token mode)', () => {
  let lab: TestLab;
  before(async () => {
    lab = await startTestLab();
  });
  after(async () => {
    await lab.destroy();
  });

  it('answers GET api without credentials (the hub polls it for readiness) and nothing else', async () => {
    assert.equal((await fetch(`${lab.url}api`)).status, 200);
    for (const p of ['api/contents', 'api/kernels', 'api/sessions', 'api/terminals', 'api/me', 'api/status', 'lab/api/settings']) {
      const res = await fetch(`${lab.url}${p}`);
      assert.equal(res.status, 403, p);
      assert.match(((await res.json()) as { message: string }).message, /log in|token/i);
    }
  });

  it('refuses a wrong token and accepts the right one', async () => {
    assert.equal((await fetch(`${lab.url}api/contents`, { headers: { authorization: 'token nope' } })).status, 403);
    assert.equal((await fetch(`${lab.url}api/contents`, { headers: lab.headers })).status, 200);
  });

  it('logs a browser in with ?token= once, then by cookie; cookie writes need the _xsrf echo', async () => {
    const first = await fetch(`${lab.url}lab?token=${lab.token}`, { redirect: 'manual' });
    assert.equal(first.status, 302);
    assert.ok(!first.headers.get('location')!.includes('token='), 'the token is dropped from the URL');
    const jar = cookiesOf(first);
    assert.ok(first.headers.getSetCookie().some((c) => /HttpOnly/.test(c)), 'login cookie is HttpOnly');
    jar.set('_xsrf', 'xsrf-value-1');
    const read = await fetch(`${lab.url}api/contents`, { headers: { cookie: cookieHeader(jar) } });
    assert.equal(read.status, 200);
    const noEcho = await fetch(`${lab.url}api/contents`, {
      method: 'POST', headers: { cookie: cookieHeader(jar), 'content-type': 'application/json' }, body: JSON.stringify({ type: 'directory' }),
    });
    assert.equal(noEcho.status, 403, 'a cross-site form cannot write');
    const echo = await fetch(`${lab.url}api/contents`, {
      method: 'POST', headers: { cookie: cookieHeader(jar), 'x-xsrftoken': 'xsrf-value-1', 'content-type': 'application/json' }, body: JSON.stringify({ type: 'directory' }),
    });
    assert.equal(echo.status, 201);
  });

  it('refuses a cookie-authenticated WebSocket from another origin', async () => {
    const first = await fetch(`${lab.url}lab?token=${lab.token}`, { redirect: 'manual' });
    const jar = cookiesOf(first);
    const wsUrl = `${lab.url.replace('http', 'ws')}api/events/subscribe`;
    const outcome = (origin: string) => new Promise<string>((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { cookie: cookieHeader(jar), origin } });
      ws.on('open', () => { ws.close(); resolve('open'); });
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('error', () => resolve('error'));
    });
    assert.equal(await outcome('https://evil.example'), '403');
    assert.equal(await outcome(new URL(lab.url).origin), 'open');
  });

  it('sends a page visitor without credentials a page that says how to log in', async () => {
    const res = await fetch(`${lab.url}lab`, { redirect: 'manual' });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /token/);
  });
});
