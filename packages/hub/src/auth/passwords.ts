import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2';
import { AppError } from '@eucp/core';
import { randomSecret } from './crypto.js';

/**
 * argon2id with OWASP's baseline parameters: 19 MiB memory, 2 passes, 1 lane
 * (about 20-40 ms per hash on a current CPU).
 */
export const PASSWORD_HASH_OPTIONS: Options = {
  algorithm: 2 as Algorithm, // Argon2id (an ambient const enum cannot be referenced under isolatedModules)
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/** Shortest and longest password accepted, in characters. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;

/** Throws `INVALID_INPUT` if the password is too short or too long. */
export function checkPasswordPolicy(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH) {
    throw new AppError('INVALID_INPUT', `The password must have at least ${PASSWORD_MIN_LENGTH} characters.`, { field: 'password' });
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    throw new AppError('INVALID_INPUT', `The password must have at most ${PASSWORD_MAX_LENGTH} characters.`, { field: 'password' });
  }
}

/** argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of a password. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, PASSWORD_HASH_OPTIONS);
}

let dummyHash: Promise<string> | null = null;

/**
 * Checks a password against a stored hash. With `null` (unknown user, or no password
 * set) it still runs one verification against a dummy hash, so the answer takes as long
 * as for an existing user, and returns false. Never throws for a malformed hash.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX_LENGTH) return false;
  if (stored === null) {
    dummyHash ??= hashPassword(randomSecret(24));
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A random password of 24 URL-safe characters (144 bits), for one-time display. */
export function generatePassword(): string {
  return randomSecret(18);
}
