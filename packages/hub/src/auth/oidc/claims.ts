import { AppError, NAME_PATTERN, type GroupName, type UserName } from '@eucp/core';
import type { OidcProviderConfig } from './config.js';

/** Claims of a person as the hub sees them: the ID token's, completed by the userinfo answer. */
export type Claims = Readonly<Record<string, unknown>>;

/** Largest claims object kept with an identity (bytes of JSON); bigger ones keep only the usual claims. */
export const CLAIMS_MAX_BYTES = 16 * 1024;
const KEPT_WHEN_LARGE = ['iss', 'sub', 'preferred_username', 'name', 'given_name', 'family_name', 'email', 'email_verified'];
/** Token-validation claims that say nothing about the person. */
const TRANSIENT = new Set(['aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'auth_time', 'azp', 'sid', 'jti']);

/** The claims worth storing with an identity (no token-validation claims), bounded in size. */
export function storableClaims(claims: Claims): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(claims)) if (!TRANSIENT.has(k)) out[k] = v;
  if (Buffer.byteLength(JSON.stringify(out)) <= CLAIMS_MAX_BYTES) return out;
  const small: Record<string, unknown> = {};
  for (const k of KEPT_WHEN_LARGE) if (k in out && typeof out[k] !== 'object') small[k] = out[k];
  return small;
}

/** The values of a claim as strings: an array's string items, or a single string. */
export function claimStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * Turns a claim value into a hub user name: lower case, accents removed (é → e), for an
 * e-mail address the part before `@`, every run of other characters than `a-z 0-9 _ -`
 * replaced by one `-`, and `-` trimmed at both ends. Returns null when the result is not
 * a valid hub name (`NAME_PATTERN`: 1-32 characters, starting with a letter); the name is
 * never truncated, so two people cannot be folded into one name by cutting.
 */
export function normaliseUserName(raw: string): UserName | null {
  let s = raw.trim().normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  const at = s.indexOf('@');
  if (at > 0) s = s.slice(0, at);
  s = s.replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return NAME_PATTERN.test(s) ? (s as UserName) : null;
}

/**
 * The hub user name of a person from `provider.usernameClaim`. Throws `INVALID_NAME`
 * (`fields.reason = 'invalid_name'`) when the claim is missing or cannot be made a valid name.
 */
export function userNameFromClaims(provider: OidcProviderConfig, claims: Claims): UserName {
  const raw = claims[provider.usernameClaim];
  const name = typeof raw === 'string' ? normaliseUserName(raw) : null;
  if (!name) {
    throw new AppError('INVALID_NAME', `The ${provider.usernameClaim} claim cannot be used as a hub user name.`,
      { reason: 'invalid_name', claim: provider.usernameClaim });
  }
  return name;
}

/** Lower-cased domain of the `email` claim, or null. */
export function emailDomain(claims: Claims): string | null {
  const email = claims.email;
  if (typeof email !== 'string') return null;
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 ? email.slice(at + 1).toLowerCase() : null;
}

/**
 * Enforces `allowedIssuers` (on the validated `iss`) and `allowedDomains` (on the
 * `email` claim; an address the provider marks `email_verified: false` never counts).
 * Throws `OIDC_NOT_ALLOWED` (`fields.why`: `issuer` or `domain`).
 */
export function checkAllowed(provider: OidcProviderConfig, claims: Claims): void {
  if (provider.allowedIssuers.length && !provider.allowedIssuers.includes(String(claims.iss))) {
    throw new AppError('OIDC_NOT_ALLOWED', `Issuer ${String(claims.iss)} is not accepted.`, { reason: 'not_allowed', why: 'issuer' });
  }
  if (provider.allowedDomains.length) {
    const domain = claims.email_verified === false ? null : emailDomain(claims);
    if (!domain || !provider.allowedDomains.includes(domain)) {
      throw new AppError('OIDC_NOT_ALLOWED', 'The e-mail domain of this identity is not accepted.', { reason: 'not_allowed', why: 'domain' });
    }
  }
}

/**
 * The hub groups a provider manages (the values of `groupMap`) and which of them the
 * person should belong to according to `groupsClaim`. Without `groupsClaim` both are empty.
 */
export function mappedGroups(provider: OidcProviderConfig, claims: Claims): { managed: Set<GroupName>; desired: Set<GroupName> } {
  if (!provider.groupsClaim) return { managed: new Set(), desired: new Set() };
  const managed = new Set(Object.values(provider.groupMap) as GroupName[]);
  const desired = new Set<GroupName>();
  for (const v of claimStrings(claims[provider.groupsClaim])) {
    const g = Object.hasOwn(provider.groupMap, v) ? provider.groupMap[v] : undefined;
    if (g) desired.add(g as GroupName);
  }
  return { managed, desired };
}
