import { AppError } from '@eucp/core';
import type { Db } from '../../db/index.js';
import { randomSecret, sha256Hex } from '../crypto.js';

/** Cookie that binds a log-in in progress to the browser that started it. */
export const OIDC_FLOW_COOKIE = 'eucp-oidc-flow';
/** Path of that cookie: only the OIDC routes ever see it. */
export const OIDC_COOKIE_PATH = '/hub/oidc/';
/** Most log-ins in progress at once (a bound on what anonymous visitors can make the hub store). */
export const MAX_LIVE_FLOWS = 10_000;

/** What the hub remembers about a log-in between the redirect to the provider and the callback. */
export interface FlowRecord {
  provider: string;
  state: string;
  nonce: string;
  /** PKCE code verifier (its S256 challenge went to the provider). */
  codeVerifier: string;
  /** Exactly the redirect URI sent in the authorization request. */
  redirectUri: string;
  next: string | null;
  /** Set when a logged-in user links another identity. */
  linkUserId: number | null;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/**
 * Log-ins in progress, kept server-side. The browser holds only a random cookie value;
 * the row is keyed by its SHA-256, so the database never holds a usable cookie. Each row
 * is used at most once (`consume` deletes it), which makes a replayed callback fail.
 */
export class FlowStore {
  constructor(private readonly db: Db, private readonly now: () => number, private readonly ttlMs: number) {}

  /**
   * Stores a new flow; returns the cookie value (secret) for the browser. Expired flows are
   * deleted first; throws `LOGIN_RATE_LIMITED` when `MAX_LIVE_FLOWS` are live.
   */
  async create(flow: Omit<FlowRecord, 'expiresAt'>): Promise<{ cookieValue: string; expiresAt: number }> {
    const now = this.now();
    await this.db.deleteFrom('oidc_flows').where('expires_at', '<=', now).execute();
    const live = await this.db.selectFrom('oidc_flows').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    if (Number(live.n) >= MAX_LIVE_FLOWS) throw new AppError('LOGIN_RATE_LIMITED', 'Too many log-ins in progress.', { retryAfterSeconds: 60, reason: 'rate_limited' });
    const cookieValue = randomSecret(32);
    const expiresAt = now + this.ttlMs;
    await this.db.insertInto('oidc_flows').values({
      id_hash: sha256Hex(cookieValue), provider: flow.provider, state: flow.state, nonce: flow.nonce, code_verifier: flow.codeVerifier,
      redirect_uri: flow.redirectUri, next: flow.next, link_user_id: flow.linkUserId, created_at: now, expires_at: expiresAt,
    }).execute();
    return { cookieValue, expiresAt };
  }

  /** Takes the live flow of a cookie value out of the store (one use only), or null. */
  async consume(cookieValue: string | undefined): Promise<FlowRecord | null> {
    if (!cookieValue || cookieValue.length > 200) return null;
    const idHash = sha256Hex(cookieValue);
    const row = await this.db.transaction().execute(async (trx) => {
      const r = await trx.selectFrom('oidc_flows').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
      if (r) await trx.deleteFrom('oidc_flows').where('id_hash', '=', idHash).execute();
      return r;
    });
    if (!row || row.expires_at <= this.now()) return null;
    return {
      provider: row.provider, state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, redirectUri: row.redirect_uri,
      next: row.next, linkUserId: row.link_user_id, expiresAt: row.expires_at,
    };
  }
}
