import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '@eucp/core';
import type { FileIdentity } from './files.js';

/**
 * Viewer tickets: short-lived capabilities the hub page hands to the viewer frame, naming
 * one version of one notebook file for one reader. A ticket is
 * `base64url(JSON claims) "." base64url(HMAC-SHA256(key, claims part))`; the key is
 * random per hub process (tickets die with it, a reload issues a new one).
 */

const claimsSchema = z.object({
  v: z.literal(1),
  /** Hub user id of the reader the ticket was issued to. */
  r: z.number().int().positive(),
  /** Owner (hub user name) and path inside the owner's home, `/`-separated. */
  o: z.string().min(1).max(64),
  p: z.string().min(1).max(4096),
  /** File identity: device, inode, size (bytes) and mtime (ns), decimal strings. */
  d: z.string().regex(/^\d+$/),
  i: z.string().regex(/^\d+$/),
  s: z.string().regex(/^\d+$/),
  m: z.string().regex(/^\d+$/),
  /** Expiry, ms since the epoch. */
  e: z.number().int().positive(),
  /** Origins (space-separated) of the hub page that may frame the rendering (`frame-ancestors`). */
  a: z.string().regex(/^https?:\/\/[^\s/;,'"]+( https?:\/\/[^\s/;,'"]+)*$/),
}).strict();

/** What a valid ticket says. */
export interface TicketClaims {
  readerId: number;
  owner: string;
  path: string;
  file: FileIdentity;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Origins, space-separated, that may frame the rendering (CSP `frame-ancestors`). */
  frameAncestor: string;
}

const MAX_TICKET_CHARS = 8192;

/** Issues and verifies viewer tickets with one HMAC key. */
export class TicketSigner {
  private readonly key: Buffer;

  /** `key` defaults to 32 random bytes; `now` returns ms since the epoch. */
  constructor(private readonly now: () => number = Date.now, key?: Buffer) {
    this.key = key ?? randomBytes(32);
  }

  /** A ticket for `claims` that expires `ttlMs` milliseconds from now. */
  issue(claims: Omit<TicketClaims, 'expiresAt'>, ttlMs: number): string {
    const payload = {
      v: 1, r: claims.readerId, o: claims.owner, p: claims.path,
      d: claims.file.dev, i: claims.file.ino, s: claims.file.size, m: claims.file.mtimeNs,
      e: this.now() + ttlMs, a: claims.frameAncestor,
    } satisfies z.input<typeof claimsSchema>;
    const body = Buffer.from(JSON.stringify(claimsSchema.parse(payload)), 'utf8').toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /**
   * The claims of a ticket this signer issued and that has not expired.
   * @throws AppError `VIEWER_LINK_INVALID` if it is malformed, forged, altered or expired.
   */
  verify(ticket: string): TicketClaims {
    const invalid = (why: string): AppError => new AppError('VIEWER_LINK_INVALID', why);
    if (ticket.length > MAX_TICKET_CHARS) throw invalid('The link is too long.');
    const dot = ticket.indexOf('.');
    if (dot <= 0) throw invalid('The link is malformed.');
    const body = ticket.slice(0, dot);
    const given = Buffer.from(ticket.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.mac(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('The link was not issued by this hub.');
    let parsed: z.infer<typeof claimsSchema>;
    try {
      parsed = claimsSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    } catch {
      throw invalid('The link is malformed.');
    }
    if (parsed.e <= this.now()) throw invalid('The link has expired.');
    return {
      readerId: parsed.r, owner: parsed.o, path: parsed.p,
      file: { dev: parsed.d, ino: parsed.i, size: parsed.s, mtimeNs: parsed.m },
      expiresAt: parsed.e, frameAncestor: parsed.a,
    };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body, 'utf8').digest('base64url');
  }
}
