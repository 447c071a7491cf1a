import { AppError } from './errors.js';

declare const brand: unique symbol;
/** A nominal type: a `UserName` cannot be passed where a `ServerName` is expected. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserName = Brand<string, 'UserName'>;
export type GroupName = Brand<string, 'GroupName'>;
/** A server name; `''` is the user's default server. */
export type ServerName = Brand<string, 'ServerName'>;

/**
 * User and group names: they become Unix account names and URL path segments, so they
 * are lower-case ASCII, start with a letter and are at most 32 characters.
 */
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
const SERVER_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Parses a user name; throws `INVALID_NAME` naming the offending value. */
export function parseUserName(raw: unknown): UserName {
  if (typeof raw !== 'string' || !NAME_PATTERN.test(raw)) {
    throw new AppError('INVALID_NAME', `Invalid user name ${JSON.stringify(raw)}.`);
  }
  return raw as UserName;
}

/** Parses a group name; throws `INVALID_NAME`. */
export function parseGroupName(raw: unknown): GroupName {
  if (typeof raw !== 'string' || !NAME_PATTERN.test(raw)) {
    throw new AppError('INVALID_NAME', `Invalid group name ${JSON.stringify(raw)}.`);
  }
  return raw as GroupName;
}

/** Parses a server name (`''` = default server); throws `INVALID_NAME`. */
export function parseServerName(raw: unknown): ServerName {
  if (raw === '' || raw === undefined) return '' as ServerName;
  if (typeof raw !== 'string' || !SERVER_NAME_PATTERN.test(raw)) {
    throw new AppError('INVALID_NAME', `Invalid server name ${JSON.stringify(raw)}.`);
  }
  return raw as ServerName;
}

export const DEFAULT_SERVER = '' as ServerName;

/** `alice/` or `alice/gpu`, as JupyterHub's `full_name`. */
export function serverFullName(user: UserName, server: ServerName): string {
  return `${user}/${server}`;
}

/** URL prefix of a server: `/user/alice/` or `/user/alice/gpu/`. */
export function serverPrefix(user: UserName, server: ServerName): string {
  return server ? `/user/${user}/${server}/` : `/user/${user}/`;
}
