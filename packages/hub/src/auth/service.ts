import type { IncomingHttpHeaders } from 'node:http';
import { AppError, coverScopes, parseScope } from '@eucp/core';
import { Accounts, type UserRecord } from '../accounts/accounts.js';
import type { HubConfig } from '../config/schema.js';
import { dbChanges, type Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import { AuthCache } from './auth-cache.js';
import { clearCookie, JUPYTERHUB_SESSION_COOKIE, parseCookies, serializeCookie, SESSION_COOKIE, type CookieOptions } from './cookies.js';
import { OAuthStore, type OAuthClientInput, type OAuthClientRecord, type OAuthCodeRecord } from './oauth-store.js';
import { sha256Hex } from './crypto.js';
import { FailureWindow } from './rate-limit.js';
import { effectiveTokenScopes, expandFully, resolveOwnerRefs, userScopes, type ScopeOwner } from './scope-sets.js';
import { SessionStore, type NewSession, type SessionRecord } from './sessions.js';
import { TokenStore, type IssueTokenInput, type TokenRecord } from './tokens.js';
import type { AuthContext } from './types.js';

export type { NewSession, SessionRecord } from './sessions.js';
export type { IssueTokenInput, TokenRecord } from './tokens.js';
export type { OAuthClientInput, OAuthClientRecord } from './oauth-store.js';

export interface AuthServiceDeps {
  db: Db;
  config: HubConfig;
  /** Defaults to `new Accounts(db, now)`. */
  accounts?: Accounts;
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  log?: Logger;
  /**
   * How long an authenticated token or session is remembered in memory (default 5000 ms;
   * 0 = never). See `AuthCache` for why revocation stays immediate.
   */
  authCacheTtlMs?: number;
}

/** What `exchangeCode` returns: the body of the OAuth token response, camel-cased. */
export interface OAuthTokenGrant {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds. */
  expiresIn: number;
  /** Space-separated granted scopes, sorted. */
  scope: string;
  tokenId: number;
}

const AUTH_HEADER = /^(token|bearer)\s+(\S+)$/i;

/** AuthContexts are shared between requests (cached): frozen so no request can change another's. */
function frozenAuth(auth: AuthContext): AuthContext {
  Object.freeze(auth.user.groups);
  Object.freeze(auth.user);
  Object.freeze(auth.scopes);
  return Object.freeze(auth);
}

/**
 * Authentication of the hub: password log-in with rate limits, server-side sessions,
 * API tokens and their scopes, and the OAuth2 provider state for single-user servers.
 */
export class AuthService {
  private readonly now: () => number;
  private readonly sessions: SessionStore;
  private readonly tokens: TokenStore;
  private readonly oauth: OAuthStore;
  private readonly accountFailures: FailureWindow;
  private readonly addressFailures: FailureWindow;
  private readonly accounts: Accounts;
  private readonly config: HubConfig;
  private readonly log: Logger | undefined;
  private readonly cache: AuthCache;

  constructor(deps: AuthServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.accounts = deps.accounts ?? new Accounts(deps.db, this.now);
    this.config = deps.config;
    this.log = deps.log;
    const a = deps.config.auth;
    this.sessions = new SessionStore(deps.db, this.now, a.sessionMaxAgeMs);
    this.tokens = new TokenStore(deps.db, this.now);
    this.oauth = new OAuthStore(deps.db, this.now);
    this.cache = new AuthCache({ now: this.now, changes: dbChanges(deps.db), ttlMs: deps.authCacheTtlMs ?? 5_000 });
    this.accountFailures = new FailureWindow({ maxFailures: a.loginMaxFailuresPerAccount, windowMs: a.loginWindowMs, now: this.now });
    this.addressFailures = new FailureWindow({ maxFailures: a.loginMaxFailuresPerAddress, windowMs: a.loginWindowMs, now: this.now });
  }

  // ---- log-in and sessions -------------------------------------------------------------

  /**
   * Checks a user name and password, rate-limited per account and per client address.
   * Throws `LOGIN_RATE_LIMITED` (with `fields.retryAfterSeconds`) before checking anything
   * when either limit is reached, `LOGIN_FAILED` for a wrong name or password (counted
   * against both limits). Success resets the account's counter.
   */
  async login(input: { username: string; password: string; address: string }): Promise<UserRecord> {
    const name = input.username.trim().toLowerCase();
    const accountKey = name.slice(0, 64);
    const checks = [this.accountFailures.check(accountKey), this.addressFailures.check(input.address)];
    const waitMs = Math.max(0, ...checks.map((c) => (c.allowed ? 0 : c.retryAfterMs)));
    if (waitMs > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new AppError('LOGIN_RATE_LIMITED', `Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
    }
    const user = await this.accounts.verifyPassword(name, input.password);
    if (!user) {
      this.accountFailures.fail(accountKey);
      this.addressFailures.fail(input.address);
      this.log?.warn({ user: accountKey, address: input.address }, 'failed log-in');
      throw new AppError('LOGIN_FAILED');
    }
    this.accountFailures.reset(accountKey);
    this.log?.info({ user: user.name }, 'logged in');
    return user;
  }

  /** Starts a browser session (expires after `auth.sessionMaxAgeMs`). */
  createSession(userId: number): Promise<NewSession> {
    return this.sessions.create(userId);
  }

  /** The live session of a cookie value, or null. */
  resolveSession(cookieValue: string): Promise<SessionRecord | null> {
    return this.sessions.resolve(cookieValue);
  }

  /** Ends a session and the OAuth tokens issued under it. Idempotent. */
  async destroySession(cookieValue: string): Promise<void> {
    await this.sessions.destroy(cookieValue);
  }

  /** Ends every session of a user. */
  destroyUserSessions(userId: number): Promise<void> {
    return this.sessions.destroyAllOf(userId);
  }

  /** True when cookies must be `Secure` (the public URL is https). */
  get secureCookies(): boolean {
    return this.config.publicUrl?.startsWith('https:') ?? false;
  }

  /** Attributes of the session cookies: `Path=/; HttpOnly; SameSite=Lax` (+ `Secure`). */
  sessionCookieOptions(): CookieOptions {
    return { path: '/', httpOnly: true, sameSite: 'Lax', secure: this.secureCookies };
  }

  /** `Set-Cookie` values for a new session: `eucp-session` and `jupyterhub-session-id`. */
  sessionCookies(s: NewSession): string[] {
    const opts = { ...this.sessionCookieOptions(), maxAgeSeconds: Math.floor(this.config.auth.sessionMaxAgeMs / 1000) };
    return [serializeCookie(SESSION_COOKIE, s.cookieValue, opts), serializeCookie(JUPYTERHUB_SESSION_COOKIE, s.sessionId, opts)];
  }

  /** `Set-Cookie` values that delete both session cookies. */
  clearedSessionCookies(): string[] {
    const opts = this.sessionCookieOptions();
    return [clearCookie(SESSION_COOKIE, opts), clearCookie(JUPYTERHUB_SESSION_COOKIE, opts)];
  }

  // ---- API tokens ----------------------------------------------------------------------

  /**
   * Issues an API token (64 hex characters; stored as SHA-256; API id `a<id>`). Scopes
   * are stored as given and intersected with the owner's scopes at every use. Throws
   * `INVALID_INPUT` for unknown scope names.
   */
  async issueToken(input: IssueTokenInput): Promise<{ id: number; token: string; record: TokenRecord }> {
    const unknown = input.scopes.filter((s) => s !== 'inherit' && parseScope(s) === null);
    if (unknown.length) throw new AppError('INVALID_INPUT', `Unknown scopes: ${unknown.join(', ')}.`, { scopes: unknown });
    if (input.expiresInMs != null && (!Number.isFinite(input.expiresInMs) || input.expiresInMs <= 0)) {
      throw new AppError('INVALID_INPUT', 'expires_in must be a positive number of seconds.', { field: 'expires_in' });
    }
    return this.tokens.issue(input);
  }

  /**
   * Throws `INVALID_INPUT` naming the requested scopes that `owner` or the requester does
   * not hold (the requester's expanded scopes; null = no requester limit, e.g. the CLI).
   */
  checkGrantableScopes(requested: readonly string[], owner: ScopeOwner, requesterScopes: readonly string[] | null): void {
    const unknown = requested.filter((s) => s !== 'inherit' && parseScope(s) === null);
    if (unknown.length) throw new AppError('INVALID_INPUT', `Unknown scopes: ${unknown.join(', ')}.`, { scopes: unknown });
    const wanted = expandFully(resolveOwnerRefs(requested, owner));
    const refused = new Set(coverScopes(wanted, userScopes(owner)).refused);
    if (requesterScopes) for (const r of coverScopes(wanted, requesterScopes).refused) refused.add(r);
    if (refused.size) {
      const list = [...refused].sort();
      throw new AppError('INVALID_INPUT', `Not assigning requested scopes ${list.join(', ')} not held by ${owner.name} or the requester.`, { scopes: list });
    }
  }

  /** Revokes a token (and, for an OAuth token, its siblings of the same client). Idempotent. */
  async revokeToken(id: number): Promise<void> {
    await this.tokens.revoke(id);
  }

  /** Live tokens of a user (expired ones are deleted). */
  listTokens(userId: number): Promise<TokenRecord[]> {
    return this.tokens.list(userId);
  }

  /** A live token of a user by id, or null. */
  getToken(userId: number, id: number): Promise<TokenRecord | null> {
    return this.tokens.get(userId, id);
  }

  /** The live token with this secret, or null. */
  resolveToken(secret: string): Promise<TokenRecord | null> {
    return this.tokens.resolve(secret);
  }

  /** Expanded scopes of a user's own session (roles: admin and/or user). */
  scopesOf(user: ScopeOwner): readonly string[] {
    return userScopes(user);
  }

  /** Effective expanded scopes of a token owned by `owner`, now. */
  tokenScopes(token: TokenRecord, owner: ScopeOwner): readonly string[] {
    return effectiveTokenScopes(token.scopes, owner);
  }

  // ---- request authentication ---------------------------------------------------------

  /**
   * Authenticates plain Node request headers (also used by the proxy on WebSocket
   * upgrades): `Authorization: token|bearer <T>` (scheme case-insensitive) first, then
   * the `eucp-session` cookie. Returns null when neither is valid. Never throws for bad input.
   */
  async authenticateHeaders(headers: IncomingHttpHeaders): Promise<AuthContext | null> {
    const header = headers.authorization;
    if (typeof header === 'string') {
      const m = AUTH_HEADER.exec(header.trim());
      if (m) {
        const ctx = await this.authenticateToken(m[2]!);
        if (ctx) return ctx;
      }
    }
    const cookie = parseCookies(headers.cookie).get(SESSION_COOKIE);
    return cookie ? this.authenticateSession(cookie) : null;
  }

  /**
   * AuthContext of an API token secret, or null. Remembered for a few seconds (`AuthCache`:
   * forgotten at once when anything it derives from changes, never past the token's expiry).
   */
  async authenticateToken(secret: string): Promise<AuthContext | null> {
    if (!secret || secret.length > 512) return null;
    const hash = sha256Hex(secret);
    const key = `t:${hash}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const generation = this.cache.begin();
    const token = await this.tokens.resolveHash(hash);
    if (!token) return null;
    const user = await this.accounts.getUserById(token.userId);
    if (!user) return null;
    const auth = frozenAuth({
      user: { id: user.id, name: user.name, admin: user.admin, groups: await this.accounts.groupsOf(user.id) },
      scopes: effectiveTokenScopes(token.scopes, user), via: 'token', sessionId: token.sessionId, tokenId: token.id, csrfToken: null,
    });
    this.cache.set(key, generation, auth, token.expiresAt);
    return auth;
  }

  /** AuthContext of a session cookie value, or null. Remembered like tokens (see `authenticateToken`). */
  async authenticateSession(cookieValue: string): Promise<AuthContext | null> {
    if (!cookieValue || cookieValue.length > 200) return null;
    const hash = sha256Hex(cookieValue);
    const key = `s:${hash}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const generation = this.cache.begin();
    const session = await this.sessions.resolveHash(hash);
    if (!session) return null;
    const user = await this.accounts.getUserById(session.userId);
    if (!user) return null;
    const auth = frozenAuth({
      user: { id: user.id, name: user.name, admin: user.admin, groups: await this.accounts.groupsOf(user.id) },
      scopes: userScopes(user), via: 'session', sessionId: session.sessionId, tokenId: null, csrfToken: session.csrfToken,
    });
    this.cache.set(key, generation, auth, session.expiresAt);
    return auth;
  }

  /** Forgets every remembered authentication (they are re-read from the database). */
  invalidateAuthCache(): void {
    this.cache.invalidate();
  }

  // ---- OAuth2 provider -----------------------------------------------------------------

  /** Registers (or re-registers with a new secret) the OAuth client of a server. */
  upsertOAuthClient(client: OAuthClientInput): Promise<void> {
    return this.oauth.upsertClient(client);
  }

  /** Deletes an OAuth client, its pending codes and every token issued to it. Idempotent. */
  deleteOAuthClient(id: string): Promise<void> {
    return this.oauth.deleteClient(id);
  }

  /** The OAuth client with this id, or null. */
  getOAuthClient(id: string): Promise<OAuthClientRecord | null> {
    return this.oauth.getClient(id);
  }

  /** Issues a one-time authorization code (valid 300 s) bound to client, user, scopes, session and redirect URI. */
  issueCode(input: Omit<OAuthCodeRecord, 'expiresAt'>): Promise<string> {
    return this.oauth.issueCode(input);
  }

  /**
   * Exchanges an authorization code for an access token (an API token with
   * `oauth_client_id` and `session_id`, expiring after `auth.oauthTokenExpiresInMs`).
   * The code is consumed by the attempt. Throws `OAUTH_INVALID_CLIENT` (unknown client or
   * wrong secret) or `OAUTH_INVALID_GRANT` (unsupported grant type; unknown, used or
   * expired code; code of another client; redirect URI not string-equal).
   */
  async exchangeCode(input: { grantType: string; clientId: string; clientSecret: string; code: string; redirectUri: string }): Promise<OAuthTokenGrant> {
    if (input.grantType !== 'authorization_code') {
      throw new AppError('OAUTH_INVALID_GRANT', `Unsupported grant_type ${JSON.stringify(input.grantType)}.`, { error: 'unsupported_grant_type' });
    }
    const client = await this.oauth.verifyClient(input.clientId, input.clientSecret);
    if (!client) throw new AppError('OAUTH_INVALID_CLIENT', 'Client authentication failed.', { error: 'invalid_client' });
    const code = await this.oauth.consumeCode(input.code);
    const invalid = (why: string) => new AppError('OAUTH_INVALID_GRANT', why, { error: 'invalid_grant' });
    if (!code) throw invalid('Unknown or already used code.');
    if (code.expiresAt <= this.now()) throw invalid('The code has expired.');
    if (code.clientId !== client.id) throw invalid('The code was issued to another client.');
    if (code.redirectUri !== input.redirectUri) throw invalid('redirect_uri does not match.');
    const expiresInMs = this.config.auth.oauthTokenExpiresInMs;
    const issued = await this.tokens.issue({
      userId: code.userId, scopes: code.scopes, note: `OAuth token for ${client.description}`, expiresInMs,
      sessionId: code.sessionId, oauthClientId: client.id,
    });
    return {
      accessToken: issued.token, tokenType: 'Bearer', expiresIn: Math.floor(expiresInMs / 1000),
      scope: [...code.scopes].sort().join(' '), tokenId: issued.id,
    };
  }
}
