import * as client from 'openid-client';
import { AppError, isAppError } from '@eucp/core';
import type { Accounts, UserRecord } from '../../accounts/accounts.js';
import type { HubConfig } from '../../config/schema.js';
import type { Db } from '../../db/index.js';
import type { Logger } from '../../log/index.js';
import { FailureWindow } from '../rate-limit.js';
import { checkAllowed, emailDomain, mappedGroups, normaliseUserName, userNameFromClaims, type Claims } from './claims.js';
import type { OidcProviderConfig } from './config.js';
import { FlowStore } from './flows.js';
import { IdentityStore } from './identities.js';
import { isUnreachableError, OidcProviders } from './providers.js';

export interface OidcServiceDeps {
  db: Db;
  config: HubConfig;
  accounts: Accounts;
  log?: Logger;
  /** Clock in milliseconds since the epoch (flow expiry, timestamps). */
  now?: () => number;
}

/** How a finished callback ended. */
export interface OidcOutcome {
  kind: 'login' | 'link';
  user: UserRecord;
  /** Same-origin path given when the log-in started, or null. */
  next: string | null;
}

/**
 * OpenID Connect log-in and identity linking for the hub (authorization code flow with
 * PKCE S256, state and nonce; openid-client validates issuer, audience, signature, expiry
 * and nonce of the ID token). What it decides, in order, at a callback: the flow must be
 * this browser's and unused; the identity must pass `allowedIssuers`/`allowedDomains`;
 * a linked identity logs its account in; an unknown one is created, queued for approval
 * or refused per `newUsers`; memberships of the provider's mapped groups follow the
 * groups claim. Errors are `AppError`s whose `fields.reason` names what the log-in page
 * shows (see `oidcNoticeMessage`). Secrets and tokens are never logged.
 */
export class OidcService {
  readonly providers: OidcProviders;
  readonly identities: IdentityStore;
  private readonly flows: FlowStore;
  private readonly failures: FailureWindow;
  private readonly now: () => number;
  private readonly accounts: Accounts;
  private readonly log: Logger | undefined;
  private readonly flowTimeoutMs: number;

  constructor(deps: OidcServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.accounts = deps.accounts;
    this.log = deps.log;
    this.providers = new OidcProviders(deps.config.oidc, deps.log);
    this.identities = new IdentityStore(deps.db, this.now);
    this.flowTimeoutMs = deps.config.oidc.flowTimeoutMs;
    this.flows = new FlowStore(deps.db, this.now, this.flowTimeoutMs);
    const a = deps.config.auth;
    this.failures = new FailureWindow({ maxFailures: a.loginMaxFailuresPerAddress, windowMs: a.loginWindowMs, now: this.now });
  }

  /** The provider with this id; throws `NOT_FOUND` for an unknown id. */
  provider(id: string): OidcProviderConfig {
    const p = this.providers.get(id);
    if (!p) throw new AppError('NOT_FOUND', `No such log-in provider: ${id}.`);
    return p;
  }

  /** Flow lifetime in seconds (the flow cookie's Max-Age). */
  get flowTimeoutSeconds(): number {
    return Math.max(1, Math.floor(this.flowTimeoutMs / 1000));
  }

  /**
   * Starts a log-in (or, with `linkUserId`, the linking of another identity): checks the
   * provider is reachable, stores state, nonce and PKCE verifier server-side and returns
   * the provider's authorization URL and the flow cookie value. Throws
   * `OIDC_PROVIDER_UNAVAILABLE`, `LOGIN_RATE_LIMITED`, `NOT_FOUND`.
   */
  async begin(input: { providerId: string; redirectUri: string; next: string | null; linkUserId: number | null; address: string }): Promise<{ url: string; cookieValue: string }> {
    const provider = this.provider(input.providerId);
    this.checkRate(input.address);
    const config = await this.providers.configuration(provider, { checkReachable: true });
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const { cookieValue } = await this.flows.create({
      provider: provider.id, state, nonce, codeVerifier, redirectUri: input.redirectUri, next: input.next, linkUserId: input.linkUserId,
    });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: input.redirectUri, scope: provider.scopes.join(' '), response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256', state, nonce,
    });
    return { url: url.href, cookieValue };
  }

  /**
   * Finishes a log-in or link at the callback: `query` is the callback's raw query string,
   * `cookieValue` the flow cookie, `currentUserId` the user of the browser's hub session
   * (required to equal the linking user for a link). Returns the account to start a
   * session for (login) or the account the identity was linked to (link).
   */
  async complete(input: { providerId: string; query: string; cookieValue: string | undefined; currentUserId: number | null; address: string }): Promise<OidcOutcome> {
    const provider = this.provider(input.providerId);
    this.checkRate(input.address);
    const flow = await this.flows.consume(input.cookieValue);
    if (!flow || flow.provider !== provider.id) {
      this.failures.fail(input.address);
      throw new AppError('OIDC_LOGIN_FAILED', 'No log-in in progress in this browser (expired, finished already, or started elsewhere).', { reason: 'failed' });
    }
    const claims = await this.exchange(provider, flow, input.query, input.address);
    checkAllowed(provider, claims);
    const issuer = String(claims.iss);
    const subject = String(claims.sub);
    const actor = `oidc:${provider.id}`;
    if (flow.linkUserId !== null) {
      if (input.currentUserId !== flow.linkUserId) {
        throw new AppError('OIDC_LOGIN_FAILED', 'The hub session changed while linking.', { reason: 'failed' });
      }
      const user = await this.accounts.getUserById(flow.linkUserId);
      if (!user) throw new AppError('OIDC_LOGIN_FAILED', 'The account no longer exists.', { reason: 'failed' });
      await this.identities.link({ userId: user.id, userName: user.name, provider: provider.id, issuer, subject, claims, actor: user.name });
      await this.syncGroups(provider, user, claims);
      this.log?.info({ provider: provider.id, user: user.name, subject }, 'identity linked');
      return { kind: 'link', user, next: flow.next };
    }
    const identity = await this.identities.find(issuer, subject);
    let user: UserRecord | null = null;
    if (identity) {
      user = await this.accounts.getUserById(identity.userId);
      if (user) await this.identities.touch(identity.id, provider.id, claims);
    }
    if (!user) user = await this.firstLogin(provider, issuer, subject, claims, actor);
    await this.syncGroups(provider, user, claims);
    this.log?.info({ provider: provider.id, user: user.name }, 'logged in with OpenID Connect');
    return { kind: 'login', user, next: flow.next };
  }

  /**
   * Approves a pending first log-in: creates the account (named `name`, else the
   * suggested name), links the identity and applies the provider's group mapping from
   * the stored claims. Throws `NOT_FOUND`, `INVALID_NAME`, `NAME_TAKEN`, `INVALID_INPUT`
   * (no name given and none suggested).
   */
  async approvePending(id: number, opts: { name?: string | undefined }, actor: string): Promise<UserRecord> {
    const p = await this.identities.getPending(id);
    const name = opts.name ?? p.name;
    if (!name) throw new AppError('INVALID_INPUT', 'The identity gives no usable user name: send {"name": …}.', { field: 'name' });
    const user = await this.createWithIdentity(name, p.provider, p.issuer, p.subject, p.claims, actor);
    const provider = this.providers.get(p.provider);
    if (provider) await this.syncGroups(provider, user, p.claims);
    await this.identities.removePending(id);
    this.log?.info({ provider: p.provider, user: user.name, by: actor }, 'pending account approved');
    return user;
  }

  /** Refuses a pending first log-in (the person may try again, which queues them again). */
  async rejectPending(id: number, actor: string): Promise<void> {
    const p = await this.identities.getPending(id);
    await this.identities.removePending(id);
    this.log?.info({ provider: p.provider, subject: p.subject, by: actor }, 'pending account rejected');
  }

  private checkRate(address: string): void {
    const c = this.failures.check(address);
    if (!c.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(c.retryAfterMs / 1000));
      throw new AppError('LOGIN_RATE_LIMITED', `Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds, reason: 'rate_limited' });
    }
  }

  /** Code → tokens (validated by openid-client) → claims of the ID token completed by userinfo. */
  private async exchange(provider: OidcProviderConfig, flow: { state: string; nonce: string; codeVerifier: string; redirectUri: string }, query: string, address: string): Promise<Claims> {
    const config = await this.providers.configuration(provider);
    const currentUrl = new URL(flow.redirectUri);
    currentUrl.search = query;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: flow.codeVerifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
      });
    } catch (err) {
      if (isUnreachableError(err)) throw this.providers.unavailable(provider, err, 'token request');
      if (err instanceof client.AuthorizationResponseError && err.error === 'access_denied') {
        throw new AppError('OIDC_LOGIN_FAILED', 'The log-in was cancelled at the provider.', { reason: 'cancelled' });
      }
      this.failures.fail(address);
      this.log?.warn({ provider: provider.id, reason: errorCode(err) }, 'OpenID log-in refused');
      throw new AppError('OIDC_LOGIN_FAILED', 'The answer of the provider did not pass validation.', { reason: 'failed' });
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new AppError('OIDC_LOGIN_FAILED', 'The provider sent no ID token.', { reason: 'failed' });
    let userinfo: Record<string, unknown> = {};
    if (config.serverMetadata().userinfo_endpoint && tokens.access_token) {
      try {
        userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      } catch (err) {
        if (isUnreachableError(err)) throw this.providers.unavailable(provider, err, 'userinfo request');
        this.log?.warn({ provider: provider.id, reason: errorCode(err) }, 'OpenID userinfo refused');
        throw new AppError('OIDC_LOGIN_FAILED', 'The provider\'s userinfo answer did not pass validation.', { reason: 'failed' });
      }
    }
    // The ID token is authoritative (iss, sub, aud…); userinfo adds profile claims it lacks.
    return { ...userinfo, ...idClaims };
  }

  /**
   * An identity the hub has never seen: per `newUsers`, create the account, queue it for
   * an administrator (again on every attempt until decided) or refuse.
   */
  private async firstLogin(provider: OidcProviderConfig, issuer: string, subject: string, claims: Claims, actor: string): Promise<UserRecord> {
    const pending = await this.identities.findPending(issuer, subject);
    if (provider.newUsers === 'refuse' && !pending) throw new AppError('OIDC_NO_ACCOUNT', undefined, { reason: 'no_account' });
    if (provider.newUsers !== 'create') {
      const raw = claims[provider.usernameClaim];
      const name = typeof raw === 'string' ? normaliseUserName(raw) : null;
      const email = typeof claims.email === 'string' && emailDomain(claims) ? claims.email : null;
      await this.identities.addPending({ provider: provider.id, issuer, subject, name, email, claims });
      throw new AppError('OIDC_ACCOUNT_PENDING', undefined, { reason: 'pending' });
    }
    const user = await this.createWithIdentity(userNameFromClaims(provider, claims), provider.id, issuer, subject, claims, actor);
    if (pending) await this.identities.removePending(pending.id);
    return user;
  }

  /** Creates an account with one linked identity (the account is removed again if linking fails). */
  private async createWithIdentity(name: string, providerId: string, issuer: string, subject: string, claims: Claims, actor: string): Promise<UserRecord> {
    let user: UserRecord;
    try {
      user = await this.accounts.createUser(name, { actor });
    } catch (err) {
      if (isAppError(err) && err.code === 'NAME_TAKEN') throw new AppError('NAME_TAKEN', `User ${name} already exists.`, { reason: 'name_taken' });
      if (isAppError(err) && err.code === 'INVALID_NAME') throw new AppError('INVALID_NAME', err.detail, { reason: 'invalid_name' });
      throw err;
    }
    try {
      await this.identities.link({ userId: user.id, userName: user.name, provider: providerId, issuer, subject, claims, actor });
    } catch (err) {
      await this.accounts.removeUser(user.name, actor).catch(() => {});
      throw err;
    }
    return user;
  }

  /** Memberships of the provider's mapped hub groups follow the claim; other groups are untouched. */
  private async syncGroups(provider: OidcProviderConfig, user: UserRecord, claims: Claims): Promise<void> {
    const { managed, desired } = mappedGroups(provider, claims);
    if (managed.size === 0) return;
    const current = new Set(await this.accounts.groupsOf(user.id));
    const actor = `oidc:${provider.id}`;
    for (const group of managed) {
      const want = desired.has(group);
      if (want === current.has(group)) continue;
      if (want) {
        if (!(await this.accounts.findGroup(group))) {
          await this.accounts.createGroup(group, { actor }).catch((err: unknown) => {
            if (!(isAppError(err) && err.code === 'NAME_TAKEN')) throw err;
          });
        }
        await this.accounts.addGroupMembers(group, [user.name], actor);
      } else {
        await this.accounts.removeGroupMembers(group, [user.name], actor);
      }
    }
  }
}

/** A log-safe code for an openid-client error (never token contents). */
function errorCode(err: unknown): string {
  const e = err as { code?: unknown; error?: unknown; name?: unknown };
  return [e.name, e.code, e.error].filter((x) => typeof x === 'string').join(' ') || 'unknown';
}
