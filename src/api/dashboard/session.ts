/**
 * The dashboard's session cookie: after a login with an API key, the browser holds a signed token
 * (HMAC-SHA256 with a server secret) naming the key's principal id (never the key) and an expiry.
 * Each request checks the signature, the expiry, that the key is still configured (a key taken out
 * of LEADCYCLE_API_KEYS ends its sessions at the next restart) and that the session was not logged
 * out. Stateless but for the logged-out ids, kept until they would have expired anyway.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ApiKeys, ApiPrincipal } from '../auth.js';

export const SESSION_COOKIE = 'leadcycle_session';
export const DEFAULT_SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const PayloadSchema = z.object({
  /** The session's own id: what a logout revokes. */
  sid: z.string().min(1),
  /** The key's principal id (ApiKeys.principal): stable, not secret. */
  pid: z.string().min(1),
  /** Expiry, epoch ms. */
  exp: z.number().int().positive(),
});
type Payload = z.infer<typeof PayloadSchema>;

export interface Session {
  id: string;
  principal: ApiPrincipal;
  expiresAt: number;
}

export class DashboardSessions {
  readonly #secret: Buffer;
  readonly #revoked = new Map<string, number>();

  constructor(
    readonly keys: ApiKeys,
    /** Signs the cookies; a random one (the default) ends every session when the process restarts. */
    secret: string | Buffer = randomBytes(32),
    readonly ttlMs: number = DEFAULT_SESSION_TTL_MS,
    readonly now: () => number = Date.now,
  ) {
    this.#secret = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
    if (this.#secret.length < 16) throw new RangeError('dashboard session secret: at least 16 bytes');
  }

  /** A signed token for a principal, and when it expires. */
  issue(principal: ApiPrincipal): { token: string; expiresAt: number } {
    const payload: Payload = {
      sid: randomBytes(16).toString('base64url'),
      pid: principal.id,
      exp: this.now() + this.ttlMs,
    };
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return { token: `${body}.${this.#sign(body)}`, expiresAt: payload.exp };
  }

  /** The session a token stands for, or null: bad signature, expired, logged out, or its key gone. */
  verify(token: string | undefined): Session | null {
    if (!token) return null;
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) return null;
    const expected = Buffer.from(this.#sign(body), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    let parsed: Payload;
    try {
      parsed = PayloadSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    } catch {
      return null;
    }
    if (parsed.exp <= this.now() || this.#revoked.has(parsed.sid)) return null;
    const principal = this.keys.principalById(parsed.pid);
    return principal ? { id: parsed.sid, principal, expiresAt: parsed.exp } : null;
  }

  /** Logs a session out: its token is refused from now on, even if the browser kept it. */
  revoke(session: Session): void {
    const now = this.now();
    for (const [sid, exp] of this.#revoked) if (exp <= now) this.#revoked.delete(sid);
    this.#revoked.set(session.id, session.expiresAt);
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(`leadcycle dashboard\u0000${body}`).digest('base64url');
  }
}

/** A cookie header's value for a name, or undefined. */
export function cookieOf(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value: HttpOnly, SameSite=Strict, Secure over https; maxAge 0 deletes it. */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
