import * as client from 'openid-client';
import { AppError } from '@eucp/core';
import type { Logger } from '../../log/index.js';
import type { OidcConfig, OidcProviderConfig } from './config.js';

/** Network-level causes: the provider did not answer (or answered with a server error). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/**
 * True if an error (or one of its causes) says the provider could not be reached or
 * failed on its side: connection errors, timeouts, `fetch failed`, HTTP 5xx.
 */
export function isUnreachableError(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 8; depth++) {
    const e = cur as { name?: unknown; code?: unknown; message?: unknown; status?: unknown; cause?: unknown };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
    if (cur instanceof TypeError && cur.message === 'fetch failed') return true;
    if (typeof e.status === 'number' && e.status >= 500) return true;
    cur = e.cause;
  }
  return false;
}

/** A short, secret-free description of an error for the log. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 4; depth++) {
    const e = cur as { message?: unknown; code?: unknown; cause?: unknown };
    parts.push([typeof e.code === 'string' ? e.code : '', typeof e.message === 'string' ? e.message : ''].filter(Boolean).join(' '));
    cur = e.cause;
  }
  return parts.filter(Boolean).join(' ← ').slice(0, 500);
}

interface CacheEntry {
  config: client.Configuration;
  /** When it was discovered (ms since the epoch). */
  at: number;
}

/**
 * The configured OpenID Connect providers and their discovered metadata. Discovery is
 * done on first use and reused for `discoveryCacheMs`; concurrent discoveries of one
 * provider share one request; a failed discovery is not remembered (the next log-in
 * tries again). Every request to a provider times out after `requestTimeoutMs`.
 */
export class OidcProviders {
  private readonly byId: Map<string, OidcProviderConfig>;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<CacheEntry>>();

  constructor(private readonly settings: OidcConfig, private readonly log: Logger | undefined, private readonly now: () => number = Date.now) {
    this.byId = new Map(settings.providers.map((p) => [p.id, p]));
  }

  /** Configured providers, in configuration order. */
  list(): readonly OidcProviderConfig[] {
    return this.settings.providers;
  }

  /** The provider with this id, or null. */
  get(id: string): OidcProviderConfig | null {
    return this.byId.get(id) ?? null;
  }

  /** Forgets a provider's discovered metadata (the next use discovers it again). */
  forget(id: string): void {
    this.cache.delete(id);
  }

  /**
   * The openid-client configuration of a provider (its metadata, client id and
   * authentication). With `checkReachable`, a cached configuration is only returned if
   * the provider answers its discovery URL now, so a person is never sent to a provider
   * that is down. Throws `OIDC_PROVIDER_UNAVAILABLE` (the reason goes to the log).
   */
  async configuration(provider: OidcProviderConfig, opts: { checkReachable?: boolean } = {}): Promise<client.Configuration> {
    const cached = this.cache.get(provider.id);
    if (cached && this.now() - cached.at < this.settings.discoveryCacheMs) {
      if (opts.checkReachable) await this.probe(provider);
      return cached.config;
    }
    let pending = this.inFlight.get(provider.id);
    if (!pending) {
      pending = this.discover(provider).finally(() => this.inFlight.delete(provider.id));
      this.inFlight.set(provider.id, pending);
    }
    return (await pending).config;
  }

  /** Marks a provider unavailable after a failed request: logs why, forgets its metadata, returns the error to throw. */
  unavailable(provider: OidcProviderConfig, err: unknown, during: string): AppError {
    this.forget(provider.id);
    this.log?.warn({ provider: provider.id, issuer: provider.issuer, during, reason: describeError(err) }, 'OpenID provider not reachable');
    return new AppError('OIDC_PROVIDER_UNAVAILABLE', `${provider.displayName} is not reachable right now.`, { reason: 'unreachable', provider: provider.id });
  }

  private timeoutSeconds(): number {
    return Math.max(1, Math.ceil(this.settings.requestTimeoutMs / 1000));
  }

  private async discover(provider: OidcProviderConfig): Promise<CacheEntry> {
    const execute = provider.allowInsecureHttp ? [client.allowInsecureRequests] : [];
    let meta: client.ServerMetadata;
    try {
      const discovered = await client.discovery(new URL(provider.issuer), provider.clientId, undefined, client.None(), { execute, timeout: this.timeoutSeconds() });
      meta = discovered.serverMetadata();
    } catch (err) {
      throw this.unavailable(provider, err, 'discovery');
    }
    if (provider.allowedIssuers.length && !provider.allowedIssuers.includes(meta.issuer)) {
      throw this.unavailable(provider, new Error(`discovery names issuer ${meta.issuer}, not one of allowedIssuers`), 'discovery');
    }
    // client_secret_basic is the OpenID default; post only for providers that do not support basic.
    const methods = meta.token_endpoint_auth_methods_supported;
    const secret = provider.clientSecret.reveal();
    const auth = !methods || methods.includes('client_secret_basic') ? client.ClientSecretBasic(secret) : client.ClientSecretPost(secret);
    const config = new client.Configuration(meta, provider.clientId, undefined, auth);
    config.timeout = this.timeoutSeconds();
    if (provider.allowInsecureHttp) client.allowInsecureRequests(config);
    const entry = { config, at: this.now() };
    this.cache.set(provider.id, entry);
    this.log?.info({ provider: provider.id, issuer: meta.issuer }, 'OpenID provider discovered');
    return entry;
  }

  /** GETs the provider's discovery document; throws `OIDC_PROVIDER_UNAVAILABLE` unless it answers 2xx in time. */
  private async probe(provider: OidcProviderConfig): Promise<void> {
    const url = new URL(provider.issuer);
    url.pathname = `${url.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.settings.requestTimeoutMs), redirect: 'error' });
      await res.body?.cancel();
      if (!res.ok) throw Object.assign(new Error(`discovery answered HTTP ${res.status}`), { status: res.status >= 500 ? res.status : 500 });
    } catch (err) {
      throw this.unavailable(provider, err, 'reachability check');
    }
  }
}
