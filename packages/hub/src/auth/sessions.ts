import type { Db } from '../db/index.js';
import { randomHex, randomSecret, sha256Hex } from './crypto.js';

/** A session as created: the cookie secret is returned once and never stored. */
export interface NewSession {
  /** Value of the `eucp-session` cookie (secret). */
  cookieValue: string;
  /** Public session id (JupyterHub `session_id`, 32 hex chars). */
  sessionId: string;
  /** Anti-forgery token bound to the session. */
  csrfToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export interface SessionRecord {
  sessionId: string;
  userId: number;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/** `last_seen` is written at most this often per session (ms), to keep reads cheap. */
const LAST_SEEN_RESOLUTION_MS = 60_000;

/**
 * Server-side browser sessions. Only the SHA-256 of the cookie secret is stored, so a
 * leaked database does not let anyone log in. Sessions expire `maxAgeMs` after login.
 */
export class SessionStore {
  constructor(private readonly db: Db, private readonly now: () => number, private readonly maxAgeMs: number) {}

  /** Creates a session for a user; also deletes expired sessions. */
  async create(userId: number): Promise<NewSession> {
    const now = this.now();
    const s: NewSession = {
      cookieValue: randomSecret(32), sessionId: randomHex(16), csrfToken: randomSecret(32), expiresAt: now + this.maxAgeMs,
    };
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
    await this.db.insertInto('sessions').values({
      id_hash: sha256Hex(s.cookieValue), session_id: s.sessionId, user_id: userId, csrf_token: s.csrfToken,
      created_at: now, expires_at: s.expiresAt, last_seen: now,
    }).execute();
    return s;
  }

  /** The live session a cookie value belongs to, or null (unknown or expired). */
  async resolve(cookieValue: string): Promise<SessionRecord | null> {
    if (!cookieValue || cookieValue.length > 200) return null;
    return this.resolveHash(sha256Hex(cookieValue));
  }

  /** The live session whose cookie value has this SHA-256 (hex), or null. */
  async resolveHash(idHash: string): Promise<SessionRecord | null> {
    const row = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    if (!row) return null;
    const now = this.now();
    if (row.expires_at <= now) {
      await this.db.deleteFrom('sessions').where('id_hash', '=', row.id_hash).execute();
      return null;
    }
    if (now - row.last_seen >= LAST_SEEN_RESOLUTION_MS) {
      await this.db.updateTable('sessions').set({ last_seen: now }).where('id_hash', '=', row.id_hash).execute();
    }
    return { sessionId: row.session_id, userId: row.user_id, csrfToken: row.csrf_token, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  /**
   * Ends the session of a cookie value, and revokes the OAuth tokens issued under it
   * (so single-user servers log the browser out too). Returns the ended session id.
   */
  async destroy(cookieValue: string): Promise<string | null> {
    const row = await this.db.selectFrom('sessions').select('session_id').where('id_hash', '=', sha256Hex(cookieValue)).executeTakeFirst();
    if (!row) return null;
    await this.destroyById(row.session_id);
    return row.session_id;
  }

  /** Ends a session by its public id (and its OAuth tokens). */
  async destroyById(sessionId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('api_tokens').where('session_id', '=', sessionId).where('oauth_client_id', 'is not', null).execute();
      await trx.deleteFrom('sessions').where('session_id', '=', sessionId).execute();
    });
  }

  /** Ends every session of a user (e.g. after a password change). */
  async destroyAllOf(userId: number): Promise<void> {
    const rows = await this.db.selectFrom('sessions').select('session_id').where('user_id', '=', userId).execute();
    for (const r of rows) await this.destroyById(r.session_id);
  }
}
