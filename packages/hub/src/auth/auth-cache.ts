import type { DbChanges } from '../db/index.js';
import type { AuthContext } from './types.js';

/**
 * Tables whose rows an AuthContext is derived from: the token or session itself, the
 * owner (name, admin flag; deleting a user cascades to their tokens and sessions), their
 * groups, and OAuth clients (deleting one revokes its tokens).
 */
const AUTH_TABLES: ReadonlySet<string> = new Set(['api_tokens', 'sessions', 'users', 'groups', 'group_members', 'oauth_clients']);

/**
 * Updates that only move an activity timestamp (`last_activity` of tokens and users,
 * `last_seen` of sessions), which no AuthContext contains: they do not invalidate.
 */
const ACTIVITY_ONLY = /^\s*update\s+"?\w+"?\s+set\s+"?(?:last_activity|last_seen)"?\s*=\s*\?\s+where\s[^;]*$/i;

export interface AuthCacheOptions {
  /** Clock in milliseconds since the epoch. */
  now: () => number;
  /** Change notifications of the database; without them nothing is cached. */
  changes: DbChanges | undefined;
  /** How long an entry is used at most (default 5 s). */
  ttlMs?: number;
  /** Most entries kept (default 1024; the oldest goes first). */
  maxEntries?: number;
}

interface Entry {
  auth: AuthContext;
  /** When the entry stops being used: the earlier of the TTL and the credential's own expiry. */
  until: number;
}

/**
 * A short-lived cache of request authentication: credential hash → frozen AuthContext.
 *
 * Revocation is immediate in this process: every statement that writes one of the tables
 * an AuthContext comes from (`AUTH_TABLES`, seen by the hub's statement cache before it
 * runs; updates of activity timestamps alone excepted) empties the cache — revoking a token, logging out, changing a password, granting or
 * revoking admin, changing group membership, deleting a user, whichever code path does it.
 * Commits by other connections (the `eucp` CLI on the same database) are noticed through
 * `PRAGMA data_version`, checked on every lookup. An entry never outlives the token's or
 * session's expiry, nor `ttlMs`. Failed authentications are never cached.
 *
 * A lookup that misses reads the database over several awaited queries; if anything was
 * invalidated meanwhile, its result is not stored (`generation`), so a result read before
 * a revocation can answer only the request that was already in flight.
 */
export class AuthCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly changes: DbChanges | undefined;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private generation = 0;
  private dataVersion: number;

  constructor(opts: AuthCacheOptions) {
    this.now = opts.now;
    this.changes = opts.changes;
    this.ttlMs = opts.ttlMs ?? 5_000;
    this.maxEntries = opts.maxEntries ?? 1024;
    this.dataVersion = this.changes?.dataVersion() ?? 0;
    this.changes?.onWrite((table, sql) => {
      if (AUTH_TABLES.has(table) && !ACTIVITY_ONLY.test(sql)) this.invalidate();
    });
  }

  /** True when entries are kept at all (the database reports its changes). */
  get enabled(): boolean {
    return this.changes !== undefined && this.ttlMs > 0;
  }

  /** Number of live entries (for tests). */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets every entry, and every lookup still in flight. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Invalidates if another connection committed since the last check. */
  private sync(): void {
    if (!this.changes) return;
    const v = this.changes.dataVersion();
    if (v !== this.dataVersion) {
      this.dataVersion = v;
      this.invalidate();
    }
  }

  /** The cached AuthContext of `key`, or undefined. */
  get(key: string): AuthContext | undefined {
    if (!this.enabled) return undefined;
    this.sync();
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (this.now() >= e.until) {
      this.entries.delete(key);
      return undefined;
    }
    return e.auth;
  }

  /** Call before reading the database for `key`; pass the result to `set`. */
  begin(): number {
    this.sync();
    return this.generation;
  }

  /**
   * Stores the AuthContext read for `key` since `begin()` returned `generation`, unless
   * something was invalidated meanwhile. `expiresAt`: the credential's expiry (ms) or null.
   */
  set(key: string, generation: number, auth: AuthContext, expiresAt: number | null): void {
    if (!this.enabled) return;
    this.sync();
    if (generation !== this.generation) return;
    const now = this.now();
    const until = Math.min(now + this.ttlMs, expiresAt ?? Infinity);
    if (until <= now) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { auth, until });
  }
}
