/**
 * What the three vendor adapters (HubSpot, Mautic, Typeform) share: the HMAC check, the refusals
 * with the codes the signed webhooks already use (src/api/webhooks.ts), and the shape of what a
 * delivery maps to. Each adapter's own file says how its vendor signs and what maps to what.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import type { LeadRef } from '../../client/index.js';
import type { LeadCommandInput } from '../../machines/index.js';
import { ApiError } from '../errors.js';

/** The request as received: the signature covers these bytes, not the parsed JSON. */
export interface Delivery {
  method: string;
  /** Path and query as received (Fastify's `request.url`), still URL-encoded. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  /** The public base URL the vendor called (LEADCYCLE_PUBLIC_URL, else the request's own). */
  publicUrl: string;
}

/** An authentic delivery: when it was made (unix seconds, for the window) and its JSON. */
export interface Verified {
  timestamp: number;
  body: unknown;
}

/** Where the delivery goes: the URL's query (`?tenant=&form=&consent=`). */
export interface Routing {
  tenant?: string | undefined;
  form?: string | undefined;
  consent?: string | undefined;
}

/** One command for one lead. `updateId`: the vendor's event id, so a vendor's retry applies it once. */
export interface Action {
  event: string;
  ref: LeadRef;
  command: LeadCommandInput;
  updateId: string;
}

/** An event the adapter does not act on, and why (it is answered, not refused: the vendor must not retry it). */
export interface Ignored {
  event: string;
  reason: string;
}

export interface VendorAdapter<S extends z.ZodType> {
  /** Checks the delivery against the secret and the clock; throws the 400/401 ApiError. */
  verify(secret: string, delivery: Delivery, toleranceSeconds: number, now: number): Verified;
  body: S;
  /** What the delivery asks for, in order. */
  map(body: z.output<S>, routing: Routing): { actions: Action[]; ignored: Ignored[] };
}

export function header(delivery: Delivery, name: string): string | undefined {
  const value = delivery.headers[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function missingSignature(name: string, format: string): ApiError {
  return new ApiError(401, 'missing_signature', `missing ${name} header: ${format}`);
}

export function invalidSignature(message: string): ApiError {
  return new ApiError(401, 'invalid_signature', message);
}

/** A signed moment too far from our clock, either way: a replay of an old delivery, or a skewed clock. */
export function checkWindow(timestampMs: number, toleranceSeconds: number, now: number): void {
  if (Math.abs(now - timestampMs) > toleranceSeconds * 1000) {
    throw new ApiError(
      401,
      'stale_signature',
      `the delivery's time ${new Date(timestampMs).toISOString()} is more than ${toleranceSeconds}s away from ${new Date(now).toISOString()}`,
    );
  }
}

/** base64 HMAC-SHA256 of `parts` under `secret`, compared in constant time with what the vendor sent. */
export function base64HmacMatches(secret: string, parts: Array<string | Buffer>, given: string): boolean {
  const hmac = createHmac('sha256', secret);
  for (const part of parts) hmac.update(part);
  const expected = hmac.digest();
  // A header that is not base64 decodes to junk of another length: no match, without a timing hint.
  const sent = Buffer.from(given, 'base64');
  return sent.length === expected.length && timingSafeEqual(sent, expected);
}

/** A short digest of what makes an event itself, for update ids: a retry of it gives the same one. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

/** The JSON of an authentic delivery; its signature was checked on these bytes first. */
export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'invalid_json', `malformed JSON: ${(err as Error).message}`);
  }
}
