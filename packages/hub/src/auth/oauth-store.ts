import type { Db } from '../db/index.js';
import { randomSecret, safeEqual, sha256Hex } from './crypto.js';

/** Lifetime of an authorization code: 300 s, as JupyterHub. */
export const OAUTH_CODE_TTL_MS = 300_000;

export interface OAuthClientInput {
  /** e.g. `jupyterhub-user-alice` */
  id: string;
  description: string;
  /** Exact redirect URI, e.g. `/user/alice/oauth_callback`. */
  redirectUri: string;
  /** The client secret (the server's `JUPYTERHUB_API_TOKEN`); only its SHA-256 is stored. */
  secret: string;
  /** The server this client belongs to; null for services. */
  serverId: number | null;
}

export interface OAuthClientRecord {
  id: string;
  description: string;
  redirectUri: string;
  serverId: number | null;
  createdAt: number;
}

export interface OAuthCodeRecord {
  clientId: string;
  userId: number;
  scopes: string[];
  sessionId: string | null;
  redirectUri: string;
  expiresAt: number;
}

/** OAuth clients of single-user servers and their one-time authorization codes. */
export class OAuthStore {
  constructor(private readonly db: Db, private readonly now: () => number) {}

  /** Creates or replaces a client (a restarted server registers a new secret). */
  async upsertClient(c: OAuthClientInput): Promise<void> {
    const values = {
      id: c.id, description: c.description, redirect_uri: c.redirectUri, secret_hash: sha256Hex(c.secret),
      server_id: c.serverId, created_at: this.now(),
    };
    await this.db.insertInto('oauth_clients').values(values).onConflict((oc) => oc.column('id').doUpdateSet({
      description: values.description, redirect_uri: values.redirect_uri, secret_hash: values.secret_hash, server_id: values.server_id,
    })).execute();
  }

  /** Deletes a client, its codes and every token issued to it. Idempotent. */
  async deleteClient(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('api_tokens').where('oauth_client_id', '=', id).execute();
      await trx.deleteFrom('oauth_codes').where('client_id', '=', id).execute();
      await trx.deleteFrom('oauth_clients').where('id', '=', id).execute();
    });
  }

  /** The client with this id, or null. */
  async getClient(id: string): Promise<OAuthClientRecord | null> {
    const r = await this.db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? { id: r.id, description: r.description, redirectUri: r.redirect_uri, serverId: r.server_id, createdAt: r.created_at } : null;
  }

  /** The client if `secret` is its secret, else null (constant-time comparison of hashes). */
  async verifyClient(id: string, secret: string): Promise<OAuthClientRecord | null> {
    const r = await this.db.selectFrom('oauth_clients').select('secret_hash').where('id', '=', id).executeTakeFirst();
    if (!r || !safeEqual(r.secret_hash, sha256Hex(secret))) return null;
    return this.getClient(id);
  }

  /** Stores a new one-time code valid `OAUTH_CODE_TTL_MS`; returns the code (secret). */
  async issueCode(input: Omit<OAuthCodeRecord, 'expiresAt'>): Promise<string> {
    const code = randomSecret(32);
    const now = this.now();
    await this.db.deleteFrom('oauth_codes').where('expires_at', '<=', now).execute();
    await this.db.insertInto('oauth_codes').values({
      code_hash: sha256Hex(code), client_id: input.clientId, user_id: input.userId, scopes: JSON.stringify(input.scopes),
      session_id: input.sessionId, redirect_uri: input.redirectUri, expires_at: now + OAUTH_CODE_TTL_MS,
    }).execute();
    return code;
  }

  /** Removes a code and returns what it was bound to; null if unknown or already used. Expiry is the caller's check. */
  async consumeCode(code: string): Promise<OAuthCodeRecord | null> {
    if (!code || code.length > 200) return null;
    const hash = sha256Hex(code);
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.selectFrom('oauth_codes').selectAll().where('code_hash', '=', hash).executeTakeFirst();
      if (!r) return null;
      await trx.deleteFrom('oauth_codes').where('code_hash', '=', hash).execute();
      let scopes: string[] = [];
      try { scopes = JSON.parse(r.scopes) as string[]; } catch { /* grants nothing */ }
      return { clientId: r.client_id, userId: r.user_id, scopes, sessionId: r.session_id, redirectUri: r.redirect_uri, expiresAt: r.expires_at };
    });
  }
}
