import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What a login cookie stands for. */
export interface LoginSession {
  name: string;
  /** The hub OAuth access token behind the session (hub mode), re-checked now and then. */
  hubToken?: string;
  /** epoch ms */
  expiresAt: number;
}

/**
 * Login sessions of the lab server's own cookie, kept in `<stateDir>/login-sessions.json`
 * (mode 0600; only SHA-256 hashes of cookie values are stored) so that a restart of the
 * lab server does not log anyone out.
 */
export class LoginSessions {
  private readonly byHash = new Map<string, LoginSession>();
  private readonly file: string;

  constructor(stateDir: string, private readonly now: () => number = Date.now) {
    this.file = path.join(stateDir, 'login-sessions.json');
    try {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, LoginSession>;
      for (const [h, s] of Object.entries(saved)) if (s.expiresAt > this.now()) this.byHash.set(h, s);
    } catch {
      // No sessions yet (or an unreadable file): everyone logs in again.
    }
  }

  /** Creates a session and returns the cookie value for it. */
  create(session: LoginSession): string {
    const value = randomBytes(32).toString('base64url');
    this.byHash.set(hash(value), session);
    this.save();
    return value;
  }

  get(cookieValue: string | undefined): LoginSession | undefined {
    if (!cookieValue) return undefined;
    const s = this.byHash.get(hash(cookieValue));
    if (s && s.expiresAt <= this.now()) {
      this.delete(cookieValue);
      return undefined;
    }
    return s;
  }

  delete(cookieValue: string): void {
    if (this.byHash.delete(hash(cookieValue))) this.save();
  }

  private save(): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.byHash)), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
