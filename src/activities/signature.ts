/**
 * Webhook signatures: `Leadcycle-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * Signing the timestamp with the body lets a receiver refuse replays of an old request. Several v1
 * entries may appear (one per secret while a secret is rotated); any match is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Leadcycle-Signature';

export type SignatureFailure = 'malformed' | 'mismatch' | 'stale';

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; code: SignatureFailure; message: string };

export interface VerifyOptions {
  /** How far the timestamp may be from `now`, either way. */
  toleranceSeconds?: number;
  /** The clock, for tests: a Date or epoch milliseconds. Default: now. */
  now?: Date | number;
}

function hmacHex(secret: string, timestamp: number, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for `body`, signed at `timestamp` (unix seconds). */
export function signPayload(
  secret: string,
  body: string | Uint8Array,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`;
}

/**
 * Checks a signature header against the raw request body (verify the bytes received, before parsing).
 * Never throws on bad input: a caller turns each failure code into a 400 or 401 as it sees fit.
 */
export function verifySignature(
  secret: string,
  header: string | null | undefined,
  body: string | Uint8Array,
  { toleranceSeconds = 300, now = Date.now() }: VerifyOptions = {},
): SignatureCheck {
  let timestamp: number | null = null;
  const candidates: string[] = [];
  for (const part of (header ?? '').split(',')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq === -1) continue;
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) candidates.push(value.toLowerCase());
  }
  if (timestamp === null || candidates.length === 0) {
    return { ok: false, code: 'malformed', message: `expected "t=<unix seconds>,v1=<hex sha256 hmac>"` };
  }

  const nowSeconds = Math.floor((typeof now === 'number' ? now : now.getTime()) / 1000);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    return {
      ok: false,
      code: 'stale',
      message: `timestamp ${timestamp} is more than ${toleranceSeconds}s away from ${nowSeconds}`,
    };
  }

  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  // Check every candidate without stopping early, so timing says nothing about which one matched.
  let matched = false;
  for (const candidate of candidates) {
    matched = timingSafeEqual(expected, Buffer.from(candidate, 'hex')) || matched;
  }
  return matched
    ? { ok: true, timestamp }
    : { ok: false, code: 'mismatch', message: 'no v1 signature matches the body and secret' };
}
