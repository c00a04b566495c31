/**
 * API keys: `Authorization: Bearer <key>` or `X-Api-Key: <key>` (Authorization wins when both are
 * sent). Keys are compared as SHA-256 digests with timingSafeEqual, against every configured key
 * without stopping at a match, so the time taken says nothing about which key, or how much of one,
 * matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export class ApiKeys {
  private readonly digests: Buffer[];
  private readonly principals: string[];

  constructor(keys: readonly string[]) {
    const usable = keys.map((k) => k.trim()).filter((k) => k.length > 0);
    if (usable.length === 0) throw new Error('apiKeys: give at least one non-empty API key');
    this.digests = usable.map(digest);
    // Derived from the key itself, not its place in the list: Idempotency-Keys are scoped by it, and
    // their Temporal update ids must not change when the operator adds or reorders keys.
    this.principals = usable.map(
      (k) =>
        `key-${createHash('sha256').update(`leadcycle principal\u0000${k}`, 'utf8').digest('hex').slice(0, 24)}`,
    );
  }

  /** The index of the matching key, or null. */
  match(candidate: string): number | null {
    const given = digest(candidate);
    let found: number | null = null;
    this.digests.forEach((d, i) => {
      if (timingSafeEqual(d, given) && found === null) found = i;
    });
    return found;
  }

  /**
   * Checks a request's headers and names the caller (a stable id derived from its key, not secret);
   * throws a 401 ApiError when the key is missing or wrong.
   */
  authenticate(headers: IncomingHttpHeaders): string {
    const candidate = credentialOf(headers);
    if (candidate === null) {
      throw unauthorized('missing API key: send "Authorization: Bearer <key>" or "X-Api-Key: <key>"');
    }
    const index = this.match(candidate);
    if (index === null) throw unauthorized('invalid API key');
    return this.principals[index] as string;
  }
}

function credentialOf(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization.trim() !== '') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization.trim());
    // A malformed Authorization header is a wrong key, not a missing one.
    return match?.[1] ?? '';
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') return apiKey.trim();
  return null;
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message, {
    headers: { 'www-authenticate': 'Bearer realm="leadcycle"' },
  });
}
