import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { ApiTokensTable } from '../db/schema.js';
import { randomHex, sha256Hex } from './crypto.js';

/** An API token as stored (never the secret). */
export interface TokenRecord {
  id: number;
  userId: number;
  /** Scopes as requested at issue time (may contain `self`/`inherit`); see `effectiveTokenScopes`. */
  scopes: string[];
  note: string;
  createdAt: number;
  expiresAt: number | null;
  lastActivity: number | null;
  sessionId: string | null;
  oauthClientId: string | null;
}

export interface IssueTokenInput {
  userId: number;
  /** Unexpanded scopes; `inherit` = everything the owner has at use time. */
  scopes: readonly string[];
  note?: string;
  /** Lifetime in milliseconds; undefined/null = no expiry. */
  expiresInMs?: number | null;
  sessionId?: string | null;
  oauthClientId?: string | null;
}

/** `last_activity` is written at most this often per token (ms). */
const ACTIVITY_RESOLUTION_MS = 30_000;

function toRecord(row: Selectable<ApiTokensTable>): TokenRecord {
  let scopes: string[] = [];
  try {
    const v: unknown = JSON.parse(row.scopes);
    if (Array.isArray(v)) scopes = v.filter((s): s is string => typeof s === 'string');
  } catch { /* a corrupt row grants nothing */ }
  return {
    id: row.id, userId: row.user_id, scopes, note: row.note, createdAt: row.created_at, expiresAt: row.expires_at,
    lastActivity: row.last_activity, sessionId: row.session_id, oauthClientId: row.oauth_client_id,
  };
}

/** API id of a token: `a<id>` (JupyterHub 5 style). */
export function tokenApiId(id: number): string {
  return `a${id}`;
}

/** Parses `a<id>` (or a bare integer); null if it is not one. */
export function parseTokenApiId(raw: string): number | null {
  const m = /^a?([1-9][0-9]{0,15})$/.exec(raw);
  return m ? Number(m[1]) : null;
}

/**
 * API tokens: 32 random bytes (64 hex characters), stored as SHA-256. Expired tokens
 * never authenticate and are pruned when a user's tokens are listed.
 */
export class TokenStore {
  constructor(private readonly db: Db, private readonly now: () => number) {}

  /** Issues a token; the secret is returned once. */
  async issue(input: IssueTokenInput): Promise<{ id: number; token: string; record: TokenRecord }> {
    const token = randomHex(32);
    const now = this.now();
    const row = await this.db.insertInto('api_tokens').values({
      hash: sha256Hex(token), user_id: input.userId, scopes: JSON.stringify([...input.scopes]), note: input.note ?? '',
      created_at: now, expires_at: input.expiresInMs == null ? null : now + input.expiresInMs, last_activity: null,
      session_id: input.sessionId ?? null, oauth_client_id: input.oauthClientId ?? null,
    }).returningAll().executeTakeFirstOrThrow();
    return { id: row.id, token, record: toRecord(row) };
  }

  /** The live token with this secret, or null; bumps its `last_activity`. */
  async resolve(secret: string): Promise<TokenRecord | null> {
    if (!secret || secret.length > 512) return null;
    return this.resolveHash(sha256Hex(secret));
  }

  /** The live token whose secret has this SHA-256 (hex), or null; bumps its `last_activity`. */
  async resolveHash(hash: string): Promise<TokenRecord | null> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    if (!row) return null;
    const now = this.now();
    if (row.expires_at !== null && row.expires_at <= now) return null;
    if (row.last_activity === null || now - row.last_activity >= ACTIVITY_RESOLUTION_MS) {
      await this.db.updateTable('api_tokens').set({ last_activity: now }).where('id', '=', row.id).execute();
      row.last_activity = now;
    }
    return toRecord(row);
  }

  /** Live tokens of a user, oldest first; deletes the user's expired ones. */
  async list(userId: number): Promise<TokenRecord[]> {
    const now = this.now();
    await this.db.deleteFrom('api_tokens').where('user_id', '=', userId).where('expires_at', '<=', now).execute();
    const rows = await this.db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    return rows.map(toRecord);
  }

  /** A live token of a user by id, or null. */
  async get(userId: number, id: number): Promise<TokenRecord | null> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    if (!row || (row.expires_at !== null && row.expires_at <= this.now())) return null;
    return toRecord(row);
  }

  /**
   * Revokes a token. Revoking an OAuth token revokes every token of that user for the same
   * OAuth client (JupyterHub behaviour). Returns false if there was no such token.
   */
  async revoke(id: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('api_tokens').select(['user_id', 'oauth_client_id']).where('id', '=', id).executeTakeFirst();
      if (!row) return false;
      if (row.oauth_client_id !== null) {
        await trx.deleteFrom('api_tokens').where('user_id', '=', row.user_id).where('oauth_client_id', '=', row.oauth_client_id).execute();
      } else {
        await trx.deleteFrom('api_tokens').where('id', '=', id).execute();
      }
      return true;
    });
  }

  /** Revokes every token issued to an OAuth client. */
  async revokeForClient(clientId: string): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('oauth_client_id', '=', clientId).execute();
  }
}
