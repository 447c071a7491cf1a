import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { AppError } from '@eucp/core';
import { configSchema } from '../../config/schema.js';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../log/index.js';
import { checkAllowed, mappedGroups, normaliseUserName, storableClaims, userNameFromClaims, CLAIMS_MAX_BYTES } from './claims.js';
import { isSecretSchema, maskSecrets, oidcProviderSchema, SecretString } from './config.js';
import { loginNoticeUrl, oidcLoginHtml } from './login-page.js';
import { isUnreachableError } from './providers.js';

const BASE = { id: 'uni', displayName: 'University', issuer: 'https://id.uni.example', clientId: 'hub', clientSecret: 's3cret-value' };
const provider = (extra: Record<string, unknown> = {}) => oidcProviderSchema.parse({ ...BASE, ...extra });

describe('OIDC configuration', () => {
  it('has defaults for every provider key and turns the secret into a SecretString', () => {
    const p = provider();
    assert.deepEqual(p.scopes, ['openid', 'profile', 'email']);
    assert.equal(p.usernameClaim, 'preferred_username');
    assert.equal(p.groupsClaim, null);
    assert.deepEqual(p.groupMap, {});
    assert.equal(p.newUsers, 'create');
    assert.equal(p.allowInsecureHttp, false);
    assert.ok(p.clientSecret instanceof SecretString);
    assert.equal(p.clientSecret.reveal(), 's3cret-value');
    assert.ok(isSecretSchema(oidcProviderSchema.shape.clientSecret));
    assert.ok(!isSecretSchema(oidcProviderSchema.shape.clientId));
    const c = configSchema.parse({});
    assert.deepEqual(c.oidc.providers, []);
    assert.equal(c.oidc.flowTimeoutMs, 600_000);
  });

  it('masks the secret wherever the configuration is printed or logged', () => {
    const c = configSchema.parse({ oidc: { providers: [BASE] } });
    for (const text of [JSON.stringify(c), JSON.stringify(maskSecrets(c)), inspect(c, { depth: 20 }), String(c.oidc.providers[0]!.clientSecret), `${c.oidc.providers[0]!.clientSecret}`]) {
      assert.ok(!text.includes('s3cret-value'), text);
    }
    let out = '';
    const log = createLogger('info', new Writable({ write(chunk: Buffer, _e, cb) { out += chunk.toString(); cb(); } }));
    log.info({ config: c, provider: c.oidc.providers[0] }, 'config');
    assert.ok(out.includes('[redacted]') && !out.includes('s3cret-value'));
  });

  it('refuses bad provider settings, naming the key', () => {
    assert.throws(() => provider({ id: 'Bad Id' }));
    assert.throws(() => provider({ clientSecret: '' }));
    assert.throws(() => provider({ scopes: ['profile'] }), /openid/);
    assert.throws(() => provider({ groupMap: { x: 'Not A Group' } }), /hub group/);
    assert.throws(() => provider({ newUsers: 'maybe' }));
    assert.throws(() => configSchema.parse({ oidc: { providers: [BASE, BASE] } }), /same id/);
  });

  it('reads [[oidc.providers]] tables from TOML', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eucp-oidc-config-'));
    try {
      const file = path.join(dir, 'eucp.toml');
      writeFileSync(file, [
        '[[oidc.providers]]', 'id = "egi"', 'displayName = "EGI Check-in"', 'issuer = "https://aai.egi.eu/auth/realms/egi"',
        'clientId = "eucp"', 'clientSecret = "toml-secret"', 'groupsClaim = "eduperson_entitlement"', 'allowedDomains = ["@Uni.Example"]',
        'newUsers = "approval"', '[oidc.providers.groupMap]', '"urn:mace:egi.eu:group:vo.climate" = "climate"',
      ].join('\n'));
      const c = loadConfig({ file });
      const p = c.oidc.providers[0]!;
      assert.equal(p.id, 'egi');
      assert.equal(p.clientSecret.reveal(), 'toml-secret');
      assert.deepEqual(p.groupMap, { 'urn:mace:egi.eu:group:vo.climate': 'climate' });
      assert.deepEqual(p.allowedDomains, ['uni.example']);
      assert.throws(() => loadConfig({ file, env: { EUCP_OIDC__FLOW_TIMEOUT_MS: '0' } }), (e: unknown) => e instanceof AppError && e.code === 'CONFIG_INVALID');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OIDC claims', () => {
  it('normalises user names and refuses what cannot be one', () => {
    assert.equal(normaliseUserName('Alice'), 'alice');
    assert.equal(normaliseUserName('  José.García  '), 'jose-garcia');
    assert.equal(normaliseUserName('Carol.Smith@uni.example'), 'carol-smith');
    assert.equal(normaliseUserName('o\'neil__x'), 'o-neil__x');
    assert.equal(normaliseUserName('1234'), null, 'must start with a letter');
    assert.equal(normaliseUserName('李'), null);
    assert.equal(normaliseUserName('a'.repeat(33)), null, 'never truncated');
    assert.equal(normaliseUserName('a'.repeat(32)), 'a'.repeat(32));
    assert.equal(userNameFromClaims(provider({ usernameClaim: 'email' }), { email: 'Dave@uni.example' }), 'dave');
    assert.throws(() => userNameFromClaims(provider(), { sub: 'x' }), (e: unknown) => e instanceof AppError && e.code === 'INVALID_NAME' && e.fields.reason === 'invalid_name');
  });

  it('enforces allowed domains (never on an explicitly unverified address) and issuers', () => {
    const p = provider({ allowedDomains: ['uni.example'] });
    checkAllowed(p, { iss: BASE.issuer, email: 'a@UNI.example' });
    checkAllowed(p, { iss: BASE.issuer, email: 'a@uni.example', email_verified: true });
    const refused = (e: unknown) => e instanceof AppError && e.code === 'OIDC_NOT_ALLOWED' && e.fields.reason === 'not_allowed';
    assert.throws(() => checkAllowed(p, { email: 'a@evil.example' }), refused);
    assert.throws(() => checkAllowed(p, { email: 'a@uni.example', email_verified: false }), refused);
    assert.throws(() => checkAllowed(p, { email: 'a@sub.uni.example' }), refused, 'exact domain only');
    assert.throws(() => checkAllowed(p, {}), refused);
    checkAllowed(provider(), {});
    const pinned = provider({ allowedIssuers: ['https://id.uni.example'] });
    checkAllowed(pinned, { iss: 'https://id.uni.example' });
    assert.throws(() => checkAllowed(pinned, { iss: 'https://other.example' }), refused);
  });

  it('maps group claim values to hub groups; only mapped groups are managed', () => {
    const p = provider({ groupsClaim: 'groups', groupMap: { 'vo.climate': 'climate', 'vo.climate-admins': 'climate', 'vo.ops': 'ops' } });
    const r = mappedGroups(p, { groups: ['vo.climate-admins', 'vo.other', 42, '__proto__'] });
    assert.deepEqual([...r.managed].sort(), ['climate', 'ops']);
    assert.deepEqual([...r.desired], ['climate']);
    assert.deepEqual([...mappedGroups(p, { groups: 'vo.ops' }).desired], ['ops'], 'a single string counts');
    assert.deepEqual([...mappedGroups(p, {}).desired], []);
    assert.equal(mappedGroups(provider({ groupMap: { a: 'b' } }), { groups: ['a'] }).managed.size, 0, 'no groupsClaim: nothing managed');
  });

  it('stores person claims only, bounded in size', () => {
    assert.deepEqual(storableClaims({ iss: 'i', sub: 's', nonce: 'n', aud: 'a', exp: 1, email: 'e' }), { iss: 'i', sub: 's', email: 'e' });
    const big = storableClaims({ sub: 's', email: 'e', blob: 'x'.repeat(CLAIMS_MAX_BYTES) });
    assert.deepEqual(big, { sub: 's', email: 'e' });
  });
});

describe('OIDC log-in page parts', () => {
  const config = configSchema.parse({ oidc: { providers: [{ ...BASE, displayName: 'Uni <script>' }] } });

  it('renders one escaped button per provider keeping a same-origin next', () => {
    const { buttons, notice } = oidcLoginHtml(config, { next: '/user/a/lab?x=1&y="2"' });
    assert.equal(notice, '');
    assert.match(buttons, /<form method="get" action="\/hub\/oidc\/uni\/login"><input type="hidden" name="next" value="\/user\/a\/lab\?x=1&#38;y=%222%22">/);
    assert.match(buttons, /Log in with Uni &#60;script&#62;<\/button>/);
    assert.doesNotMatch(oidcLoginHtml(config, { next: '//evil.example' }).buttons, /evil/);
    assert.deepEqual(oidcLoginHtml(configSchema.parse({}), { next: null, query: { oidc_error: 'failed', oidc: 'uni' } }), { notice: '', buttons: '' });
  });

  it('shows only known reasons for known providers, never text from the URL', () => {
    const url = new URL(loginNoticeUrl('unreachable', 'uni', '/hub/x'), 'http://h');
    assert.equal(url.searchParams.get('next'), '/hub/x');
    const q = Object.fromEntries(url.searchParams);
    assert.match(oidcLoginHtml(config, { next: null, query: q }).notice, /role="alert"[^>]*>Uni &#60;script&#62; is not reachable right now; local login still works\./);
    assert.match(oidcLoginHtml(config, { next: null, query: { oidc_error: 'pending', oidc: 'uni' } }).notice, /role="status"/);
    assert.equal(oidcLoginHtml(config, { next: null, query: { oidc_error: '<b>hi</b>', oidc: 'uni' } }).notice, '');
    assert.equal(oidcLoginHtml(config, { next: null, query: { oidc_error: 'failed', oidc: 'other' } }).notice, '');
  });
});

describe('OIDC provider errors', () => {
  it('tells an unreachable provider from a refused answer', () => {
    assert.ok(isUnreachableError(new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) })));
    assert.ok(isUnreachableError(new DOMException('timed out', 'TimeoutError')));
    assert.ok(isUnreachableError(new Error('x', { cause: { status: 503 } })));
    assert.ok(!isUnreachableError(new Error('x', { cause: { status: 400 } })));
    assert.ok(!isUnreachableError(new Error('unexpected JWT claim value encountered')));
  });
});
