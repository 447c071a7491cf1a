import { inspect } from 'node:util';
import { z } from 'zod';
import { NAME_PATTERN } from '@eucp/core';

const MASK = '[redacted]';

/**
 * A secret read from the configuration. Its value is only reachable through `reveal()`:
 * `JSON.stringify`, `String()`, template literals, `util.inspect` (console, test output)
 * and pino all see `[redacted]`, so printing or logging a configuration never shows it.
 */
export class SecretString {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The secret itself: pass it straight to the code that needs it, never to a log. */
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return MASK;
  }
  toString(): string {
    return MASK;
  }
  [inspect.custom](): string {
    return MASK;
  }
}

/**
 * A secret configuration value: a non-empty string in files and the environment, a
 * `SecretString` once parsed. Marked `secret` in zod's metadata so tools that list keys
 * (documentation, config printers) can tell it is one.
 */
export const secretString = () => z.string().min(1).transform((s) => new SecretString(s)).meta({ secret: true });

/** True if a zod schema was declared with `secretString()` (metadata `secret: true`). */
export function isSecretSchema(schema: z.ZodType): boolean {
  return z.globalRegistry.get(schema)?.secret === true;
}

/** Short name of a provider in URLs (`/hub/oidc/<id>/login`). */
const PROVIDER_ID = /^[a-z][a-z0-9-]{0,31}$/;

export const oidcProviderSchema = z
  .object({
    id: z.string().regex(PROVIDER_ID, 'use 1-32 lower-case letters, digits and "-", starting with a letter')
      .describe('Short name of the provider in URLs: /hub/oidc/<id>/login.'),
    displayName: z.string().min(1).max(80).describe('Name on the log-in button: "Log in with <displayName>".'),
    issuer: z.string().url().describe('Issuer URL; its /.well-known/openid-configuration is read (discovery).'),
    clientId: z.string().min(1).describe('Client id of the hub at the provider.'),
    clientSecret: secretString().describe('Client secret of the hub at the provider (masked whenever the configuration is printed).'),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).default(['openid', 'profile', 'email'])
      .refine((s) => s.includes('openid'), 'must include "openid"')
      .describe('Scopes requested at log-in.'),
    usernameClaim: z.string().min(1).default('preferred_username')
      .describe('Claim that gives the hub user name at first log-in (lower-cased; for "email" the part before @).'),
    groupsClaim: z.string().min(1).nullable().default(null)
      .describe('Claim listing the person\'s groups (an array or a string); null = no group mapping.'),
    groupMap: z.record(z.string().min(1), z.string().regex(NAME_PATTERN, 'not a valid hub group name')).default({})
      .describe('Claim value → hub group. Memberships of the mapped hub groups follow the claim at every log-in; other groups are left alone.'),
    allowedDomains: z.array(z.string().min(1).transform((d) => d.toLowerCase().replace(/^@/, ''))).default([])
      .describe('E-mail domains allowed to log in (the email claim, not explicitly unverified); empty = any.'),
    allowedIssuers: z.array(z.string().url()).default([])
      .describe('Issuers whose ID tokens are accepted from this provider; empty = the issuer its discovery document names.'),
    newUsers: z.enum(['create', 'approval', 'refuse']).default('create')
      .describe('First log-in of an unknown identity: create the account, wait for an administrator\'s approval, or refuse.'),
    allowInsecureHttp: z.boolean().default(false)
      .describe('Allow an http:// issuer (development and tests on loopback only).'),
  })
  .strict();

/** The `[oidc]` section of the hub configuration (see `configSchema`). */
export const oidcSectionSchema = z
  .object({
    providers: z.array(oidcProviderSchema).default([])
      .refine((ps) => new Set(ps.map((p) => p.id)).size === ps.length, 'two providers have the same id')
      .describe('OpenID Connect providers people can log in with ([[oidc.providers]] tables): id, displayName, issuer, clientId, clientSecret, scopes, usernameClaim, groupsClaim, groupMap, allowedDomains, allowedIssuers, newUsers, allowInsecureHttp.'),
    flowTimeoutMs: z.number().int().positive().default(600_000)
      .describe('How long a person has to finish logging in at the provider.'),
    discoveryCacheMs: z.number().int().nonnegative().default(3_600_000)
      .describe('How long a provider\'s discovered metadata is reused before it is read again.'),
    requestTimeoutMs: z.number().int().positive().default(5_000)
      .describe('Timeout of each request to a provider (discovery, reachability check, token, userinfo).'),
  })
  .strict()
  .prefault({});

export type OidcProviderConfig = z.infer<typeof oidcProviderSchema>;
export type OidcConfig = z.infer<typeof oidcSectionSchema>;

/**
 * A copy of a parsed configuration (any JSON-like value) safe to print: every
 * `SecretString` becomes `[redacted]`.
 */
export function maskSecrets<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
