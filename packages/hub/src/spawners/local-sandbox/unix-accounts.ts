import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { AppError } from '@eucp/core';
import { delay } from './process-info.js';

const execFileAsync = promisify(execFile);

/** A Unix account a sandbox runs as. */
export interface UnixAccount {
  name: string;
  uid: number;
  gid: number;
  /** The home directory on the host (`<homeRoot>/<hub user>`). */
  hostHome: string;
}

/** Longest account name `useradd` accepts. */
export const MAX_UNIX_NAME_LENGTH = 32;
const UNIX_NAME = /^[a-z_][a-z0-9_-]*$/;

/**
 * The Unix account name of a hub user: `<prefix><user>`. Throws `SPAWN_FAILED` if the
 * result is longer than 32 characters or not a valid account name. Names are never
 * shortened or hashed: a shortened name could equal another hub user's name.
 */
export function unixAccountName(prefix: string, user: string): string {
  const name = `${prefix}${user}`;
  if (name.length > MAX_UNIX_NAME_LENGTH || !UNIX_NAME.test(name)) {
    throw new AppError(
      'SPAWN_FAILED',
      `The Unix account name ${JSON.stringify(name)} (spawner.unixUserPrefix + user name) is not valid or longer than ${MAX_UNIX_NAME_LENGTH} characters.`,
      { unixName: name },
    );
  }
  return name;
}

/** Runs async functions one at a time per key (e.g. per user); different keys run concurrently. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** `useradd`, `groupadd` and `gpasswd` edit /etc/passwd and /etc/group under lock files; serialise our own calls to them. */
export const passwdLock = new KeyedMutex();

interface PasswdEntry {
  uid: number;
  gid: number;
  home: string;
}

/** Looks an account up through NSS (`getent passwd`); `null` if it does not exist. */
export async function lookupAccount(name: string): Promise<PasswdEntry | null> {
  try {
    const { stdout } = await execFileAsync('/usr/bin/getent', ['passwd', name]);
    const fields = stdout.trim().split(':');
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (fields[0] !== name || !Number.isInteger(uid) || !Number.isInteger(gid)) return null;
    return { uid, gid, home: fields[5] ?? '' };
  } catch (err) {
    // getent exits with 2 when the key is not found.
    if ((err as { code?: unknown }).code === 2) return null;
    throw err;
  }
}

/** `UID_MIN` of /etc/login.defs (1000 if unset): accounts below it are system accounts. */
async function minimumUid(): Promise<number> {
  try {
    const text = await readFile('/etc/login.defs', 'utf8');
    const m = /^\s*UID_MIN\s+(\d+)/m.exec(text);
    return m?.[1] ? Number(m[1]) : 1000;
  } catch {
    return 1000;
  }
}

// useradd exit codes (shadow-utils): 9 = name already in use, 10 = cannot update the group file, 1 = cannot update the password file.
const USERADD_NAME_IN_USE = 9;
const USERADD_RETRYABLE = new Set([1, 10]);

async function createAccount(name: string, hostHome: string, comment: string, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await passwdLock.run('useradd', () =>
        execFileAsync('/usr/sbin/useradd', [
          '--user-group',
          '--no-create-home',
          '--home-dir',
          hostHome,
          '--shell',
          '/bin/bash',
          '--comment',
          comment,
          name,
        ]),
      );
      logger.info({ unixName: name }, 'created Unix account');
      return;
    } catch (err) {
      const e = err as { code?: unknown; stderr?: string };
      if (e.code === USERADD_NAME_IN_USE) return; // another process created it meanwhile
      // Another process (e.g. a second hub or an admin) holds the /etc/passwd lock.
      if (typeof e.code === 'number' && USERADD_RETRYABLE.has(e.code) && attempt < 10) {
        await delay(100 * attempt);
        continue;
      }
      throw new AppError('SPAWN_FAILED', `Could not create the Unix account ${name}: ${e.stderr?.trim() || String(err)}`, { unixName: name }, { cause: err });
    }
  }
}

/**
 * Makes sure the Unix account `name` exists and owns `hostHome` (mode 0700), creating
 * the account (own user group, no password, shell /bin/bash) and the directory if
 * missing. Idempotent; an existing account is reused. Creates `homeRoot` with mode 0711
 * if missing (the launcher binds homes as root, so it could even be 0700). Throws
 * `SPAWN_FAILED` if the account is a system account (uid below UID_MIN) or creating it
 * fails. Callers serialise calls per account (see {@link KeyedMutex}).
 */
export async function ensureUnixAccount(opts: {
  name: string;
  homeRoot: string;
  hostHome: string;
  comment: string;
  logger: Logger;
}): Promise<UnixAccount> {
  const { name, hostHome, logger } = opts;
  let entry = await lookupAccount(name);
  if (!entry) {
    await createAccount(name, hostHome, opts.comment, logger);
    entry = await lookupAccount(name);
    if (!entry) throw new AppError('SPAWN_FAILED', `The Unix account ${name} was created but cannot be looked up.`, { unixName: name });
  }
  const uidMin = await minimumUid();
  if (entry.uid === 0 || entry.gid === 0 || entry.uid < uidMin) {
    throw new AppError(
      'SPAWN_FAILED',
      `The Unix account ${name} is a system account (uid ${entry.uid}); refusing to run a server as it.`,
      { unixName: name },
    );
  }

  try {
    await mkdir(opts.homeRoot, { recursive: true, mode: 0o711 });
    await mkdir(hostHome, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await lstat(hostHome);
  if (!st.isDirectory()) {
    throw new AppError('SPAWN_FAILED', `The home directory ${hostHome} of ${name} is not a directory.`, { unixName: name });
  }
  if (st.uid !== entry.uid && st.uid !== 0) {
    logger.warn({ unixName: name, hostHome, previousUid: st.uid, uid: entry.uid }, 'home directory had another owner; taking it over');
  }
  await chown(hostHome, entry.uid, entry.gid);
  await chmod(hostHome, 0o700);
  return { name, uid: entry.uid, gid: entry.gid, hostHome };
}

